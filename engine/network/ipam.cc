#include "engine/network/ipam.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstdlib>
#include <memory>
#include <sstream>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine::network {

namespace {
constexpr uint32_t kPoolBase = (172u << 24) | (28u << 16);  // 172.28.0.0
constexpr uint32_t kPoolSubnets = 512;                      // /24s in 172.28.0.0/15

int PrefixOf(uint32_t mask) {
  int prefix = 0;
  while (prefix < 32 && (mask & (0x80000000u >> prefix)) != 0) ++prefix;
  return prefix;
}
}  // namespace

bool Overlaps(const Ipv4Net& a, const Ipv4Net& b) {
  // Two networks overlap exactly when one contains the other: compare under the wider mask.
  uint32_t mask = a.prefix < b.prefix ? a.Mask() : b.Mask();
  return (a.address & mask) == (b.address & mask);
}

absl::StatusOr<Ipv4Net> AllocateSubnet(const std::vector<Ipv4Net>& taken) {
  for (uint32_t i = 0; i < kPoolSubnets; ++i) {
    Ipv4Net candidate{kPoolBase + (i << 8), 24};
    bool clash = false;
    for (const Ipv4Net& other : taken) clash = clash || Overlaps(candidate, other);
    if (!clash) return Ipv4Net{candidate.address + 1, 24};
  }
  return absl::ResourceExhaustedError(
      "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network");
}

absl::StatusOr<uint32_t> AllocateAddress(const Ipv4Net& gateway, const std::set<uint32_t>& used) {
  uint32_t network = gateway.address & gateway.Mask();
  uint32_t broadcast = network | ~gateway.Mask();
  for (uint32_t candidate = network + 1; candidate < broadcast; ++candidate)
    if (candidate != gateway.address && !used.count(candidate)) return candidate;
  return absl::ResourceExhaustedError(fmt::format("no available IPv4 addresses on network {}",
                                                  Ipv4Net{network, gateway.prefix}.CidrText()));
}

absl::StatusOr<std::vector<Ipv4Net>> HostNetworks() {
  std::vector<Ipv4Net> networks;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return ErrnoError("getifaddrs");
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owner(list, ::freeifaddrs);
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_netmask == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    uint32_t address = ntohl(reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr);
    uint32_t mask = ntohl(reinterpret_cast<sockaddr_in*>(entry->ifa_netmask)->sin_addr.s_addr);
    networks.push_back({address, PrefixOf(mask)});
  }
  // /proc/net/route: "Iface Destination Gateway Flags RefCnt Use Metric Mask …", addresses as
  // hex in network byte order read as a little-endian number.
  absl::StatusOr<std::string> routes = ReadFile("/proc/net/route");
  if (!routes.ok()) return Annotate(routes.status(), "read the host's routes");
  std::istringstream lines(*routes);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    uint32_t dst = ntohl(static_cast<uint32_t>(std::strtoul(destination.c_str(), nullptr, 16)));
    uint32_t netmask = ntohl(static_cast<uint32_t>(std::strtoul(mask.c_str(), nullptr, 16)));
    int prefix = PrefixOf(netmask);
    if (prefix == 0) continue;  // the default route covers everything and claims nothing
    networks.push_back({dst, prefix});
  }
  return networks;
}

}  // namespace liman::engine::network
