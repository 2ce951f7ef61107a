// The bridge network's nftables rules (libnftables), all in limand's own table
// `ip liman-<bridge>`, removed with it:
//  - masquerading for the bridge subnet's traffic leaving through another interface (dockerd's
//    POSTROUTING MASQUERADE), and for loopback-sourced traffic into the bridge, so a published
//    port answers on 127.0.0.1 (with route_localnet on the bridge, as dockerd without its
//    userland proxy);
//  - published ports as DNAT through maps: {host address . port : container address . port}
//    for a given host address, {port : container address . port} for every local address.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace liman::engine::network {

std::string NatTableName(const std::string& bridge);
// In the same table (made by EnsureNatTable first), a forward filter chain as Docker's
// DOCKER-ISOLATION chains: nothing is forwarded between `bridge` and the interfaces matching
// `isolated_from` ("br-*", the default bridge); with `internal`, nothing between `bridge` and
// any other interface (an --internal network reaches neither the host's networks nor is
// reached from them).
absl::Status EnsureIsolation(const std::string& bridge, const std::vector<std::string>& isolated_from, bool internal);
// Creates (or refreshes) the table, its maps and rules; mappings already in the maps stay.
absl::Status EnsureNatTable(const std::string& bridge, const std::string& subnet_cidr, bool masquerade);
absl::Status RemoveNatTable(const std::string& bridge);

struct PortMapping {
  std::string protocol = "tcp";  // tcp or udp
  std::string host_ip;           // "" or "0.0.0.0": every local address
  uint16_t host_port = 0;
  std::string container_ip;
  uint16_t container_port = 0;
};
absl::Status AddPortMappings(const std::string& bridge, const std::vector<PortMapping>& mappings);
absl::Status RemovePortMappings(const std::string& bridge, const std::vector<PortMapping>& mappings);

}  // namespace liman::engine::network
