#include "engine/network/nat.h"

#include <nftables/libnftables.h>

#include <memory>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine::network {

namespace {

absl::Status RunNft(const std::string& commands) {
  std::unique_ptr<nft_ctx, void (*)(nft_ctx*)> ctx(nft_ctx_new(NFT_CTX_DEFAULT), nft_ctx_free);
  if (!ctx) return absl::ResourceExhaustedError("nft_ctx_new");
  nft_ctx_buffer_error(ctx.get());
  if (nft_run_cmd_from_buffer(ctx.get(), commands.c_str()) != 0) {
    const char* error = nft_ctx_get_error_buffer(ctx.get());
    return absl::InternalError(fmt::format("nft: {}", error != nullptr ? error : "failed"));
  }
  return absl::OkStatus();
}

bool AnyAddress(const PortMapping& m) { return m.host_ip.empty() || m.host_ip == "0.0.0.0"; }

// "127.0.0.1 . 18080 : 172.30.0.2 . 80" or "18080 : 172.30.0.2 . 80"; with `with_value` false
// only the key.
std::string Element(const PortMapping& m, bool with_value) {
  std::string key = AnyAddress(m) ? fmt::format("{}", m.host_port) : fmt::format("{} . {}", m.host_ip, m.host_port);
  if (!with_value) return key;
  return fmt::format("{} : {} . {}", key, m.container_ip, m.container_port);
}

std::string MapName(const PortMapping& m) { return fmt::format("{}_{}", m.protocol, AnyAddress(m) ? "any" : "ports"); }

std::string ElementCommands(const char* verb, const std::string& bridge, const std::vector<PortMapping>& mappings,
                            bool with_value) {
  std::string commands;
  for (const PortMapping& m : mappings)
    commands += fmt::format("{} element ip {} {} {{ {} }}\n", verb, NatTableName(bridge), MapName(m), Element(m, with_value));
  return commands;
}

}  // namespace

std::string NatTableName(const std::string& bridge) { return "liman-" + bridge; }

absl::Status EnsureNatTable(const std::string& bridge, const std::string& subnet_cidr, bool masquerade) {
  std::string commands = fmt::format("add table ip {}\n", NatTableName(bridge));
  for (const char* protocol : {"tcp", "udp"}) {
    commands += fmt::format(
        "add map ip {0} {1}_ports {{ type ipv4_addr . inet_service : ipv4_addr . inet_service; }}\n"
        "add map ip {0} {1}_any {{ type inet_service : ipv4_addr . inet_service; }}\n",
        NatTableName(bridge), protocol);
  }
  // add is idempotent for tables, maps and chains; chains are flushed so each rule is there once.
  commands += fmt::format(
      "add chain ip {0} prerouting {{ type nat hook prerouting priority -100; policy accept; }}\n"
      "add chain ip {0} output {{ type nat hook output priority -100; policy accept; }}\n"
      "add chain ip {0} postrouting {{ type nat hook postrouting priority 100; policy accept; }}\n"
      "flush chain ip {0} prerouting\nflush chain ip {0} output\nflush chain ip {0} postrouting\n",
      NatTableName(bridge));
  for (const char* chain : {"prerouting", "output"}) {
    for (const char* protocol : {"tcp", "udp"}) {
      commands += fmt::format(
          "add rule ip {0} {1} dnat ip to ip daddr . {2} dport map @{2}_ports\n"
          "add rule ip {0} {1} fib daddr type local dnat ip to {2} dport map @{2}_any\n",
          NatTableName(bridge), chain, protocol);
    }
  }
  commands += fmt::format("add rule ip {} postrouting ip saddr 127.0.0.0/8 oifname \"{}\" masquerade\n",
                          NatTableName(bridge), bridge);
  if (masquerade)
    commands += fmt::format("add rule ip {} postrouting ip saddr {} oifname != \"{}\" masquerade\n",
                            NatTableName(bridge), subnet_cidr, bridge);
  LIMAN_RETURN_IF_ERROR(RunNft(commands));
  // Packets from 127.0.0.1 may be routed out of this bridge only with route_localnet on it
  // (ip-sysctl.rst); the setting is the bridge's own.
  return WriteFile(fmt::format("/proc/sys/net/ipv4/conf/{}/route_localnet", bridge), "1");
}

absl::Status EnsureIsolation(const std::string& bridge, const std::vector<std::string>& isolated_from, bool internal) {
  std::string table = NatTableName(bridge);
  // priority -1: before a filter chain of the host's own that may accept forwarded traffic.
  std::string commands = fmt::format(
      "add chain ip {0} forward {{ type filter hook forward priority -1; policy accept; }}\nflush chain ip {0} forward\n", table);
  for (const std::string& other : isolated_from) {
    if (other == bridge) continue;
    commands += fmt::format("add rule ip {0} forward iifname \"{1}\" oifname \"{2}\" oifname != \"{1}\" drop\n", table, bridge, other);
    commands += fmt::format("add rule ip {0} forward iifname \"{2}\" iifname != \"{1}\" oifname \"{1}\" drop\n", table, bridge, other);
  }
  if (internal) {
    commands += fmt::format("add rule ip {0} forward iifname \"{1}\" oifname != \"{1}\" drop\n", table, bridge);
    commands += fmt::format("add rule ip {0} forward oifname \"{1}\" iifname != \"{1}\" drop\n", table, bridge);
  }
  return RunNft(commands);
}

absl::Status RemoveNatTable(const std::string& bridge) {
  absl::Status removed = RunNft(fmt::format("delete table ip {}\n", NatTableName(bridge)));
  if (!removed.ok() && removed.message().find("No such file") != std::string_view::npos) return absl::OkStatus();
  return removed;
}

absl::Status AddPortMappings(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  if (mappings.empty()) return absl::OkStatus();
  return RunNft(ElementCommands("add", bridge, mappings, true));
}

absl::Status RemovePortMappings(const std::string& bridge, const std::vector<PortMapping>& mappings) {
  absl::Status first;
  for (const PortMapping& m : mappings) {
    absl::Status removed = RunNft(ElementCommands("delete", bridge, {m}, false));
    if (!removed.ok() && first.ok() && removed.message().find("No such file") == std::string_view::npos) first = removed;
  }
  return first;
}

}  // namespace liman::engine::network
