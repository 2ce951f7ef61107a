// The bridge driver's kernel side through netlink (libnl-route): the bridge with its gateway
// address, and a container's veth pair: one end on the bridge, the other as eth0 in the
// container's namespace with its address and default route.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace liman::engine::network {

struct Ipv4Net {
  uint32_t address = 0;  // host order
  int prefix = 0;
  std::string AddressText() const;
  std::string CidrText() const;  // "172.30.0.1/16"
  uint32_t Mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
};
// "172.30.0.1/16"; kInvalidArgument otherwise.
absl::StatusOr<Ipv4Net> ParseIpv4Net(const std::string& text);

// Creates the bridge if missing, gives it `gateway` (address/prefix) and brings it up.
absl::Status EnsureBridge(const std::string& name, const Ipv4Net& gateway);
// Deletes a link (the bridge, or a veth whose peer goes with it). Missing is fine.
absl::Status DeleteLink(const std::string& name);

struct Attachment {
  std::string bridge;
  std::string host_veth;  // "veth" + a part of the container id
  std::string netns_path;
  std::string interface = "eth0";  // the name inside the namespace
  Ipv4Net address;        // the container's, with the network's prefix
  uint32_t gateway = 0;
  bool default_route = true;  // only a container's first network gives it its default route
};
// The veth pair, the interface and lo up in the namespace, the address, the MAC address of
// MacAddressFor(address) and (with default_route) the default route.
absl::Status AttachToBridge(const Attachment& attachment);

// Docker's MAC address for an endpoint: 02:42 and the four bytes of its IPv4 address, so
// addresses never clash on a bridge.
std::string MacAddressFor(uint32_t address);

// "ethN" for the lowest N no link in the namespace at `netns_path` is called yet.
absl::StatusOr<std::string> FreeInterfaceName(const std::string& netns_path);

}  // namespace liman::engine::network
