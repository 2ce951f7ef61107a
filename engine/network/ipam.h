// IPv4 address management for bridge networks, as Docker's default IPAM driver: a /24 for a
// network created without a subnet, taken from a pool that stays clear of the host's own
// interfaces and routes, and the lowest free host address in a network for an endpoint.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/network/bridge.h"

namespace liman::engine::network {

// Whether two networks share any address.
bool Overlaps(const Ipv4Net& a, const Ipv4Net& b);

// The first /24 of 172.28.0.0/15 (172.28.0.0/24 … 172.29.255.0/24) overlapping none of
// `taken`, as its gateway address (.1/24). kResourceExhausted when the pool is used up.
absl::StatusOr<Ipv4Net> AllocateSubnet(const std::vector<Ipv4Net>& taken);

// The lowest host address of `gateway`'s network that is not the network address, the
// gateway, the broadcast address or in `used` (host order). kResourceExhausted when none is left.
absl::StatusOr<uint32_t> AllocateAddress(const Ipv4Net& gateway, const std::set<uint32_t>& used);

// The networks the host already uses: every interface's IPv4 network (getifaddrs) and every
// route's destination in the main table (/proc/net/route, the default route left out).
absl::StatusOr<std::vector<Ipv4Net>> HostNetworks();

}  // namespace liman::engine::network
