// The default bridge network: set up once at start (bridge, gateway address, masquerading), and
// for each container while it runs (namespace, address, veth pair, /etc/hosts).
#include <arpa/inet.h>

#include <set>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/fmt_absl.h"
#include "common/status.h"
#include "engine/daemon/daemon.h"
#include "engine/network/bridge.h"
#include "engine/network/nat.h"
#include "engine/network/netns.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

absl::Status Daemon::SetUpBridgeNetwork() {
  if (options_.bridge == "none") return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(network::Ipv4Net gateway, network::ParseIpv4Net(options_.bridge_cidr));
  LIMAN_RETURN_IF_ERROR(MkdirAll(options_.exec_root + "/netns", 0700));
  LIMAN_RETURN_IF_ERROR(network::EnsureBridge(options_.bridge, gateway));
  if (options_.ip_masq) {
    network::Ipv4Net subnet{gateway.address & gateway.Mask(), gateway.prefix};
    LIMAN_RETURN_IF_ERROR(network::EnsureMasquerade(options_.bridge, subnet.CidrText()));
  }
  if (options_.ip_forward) LIMAN_RETURN_IF_ERROR(WriteFile("/proc/sys/net/ipv4/ip_forward", "1"));
  return absl::OkStatus();
}

absl::Status Daemon::ConnectBridge(Container& container) {
  if (options_.bridge == "none")
    return absl::FailedPreconditionError("the bridge network is disabled (limand --bridge none)");
  LIMAN_ASSIGN_OR_RETURN(network::Ipv4Net gateway, network::ParseIpv4Net(options_.bridge_cidr));
  network::Ipv4Net address{0, gateway.prefix};
  {
    // The lowest free host address: not the network, the gateway, the broadcast, or another
    // running container's.
    std::lock_guard lock(mu_);
    std::set<std::string> used;
    for (const auto& [id, other] : containers_) {
      std::string ip = other->record["NetworkSettings"].value("IPAddress", "");
      if (!ip.empty()) used.insert(ip);
    }
    uint32_t network = gateway.address & gateway.Mask();
    uint32_t broadcast = network | ~gateway.Mask();
    for (uint32_t candidate = network + 1; candidate < broadcast; ++candidate) {
      if (candidate == gateway.address) continue;
      network::Ipv4Net ip{candidate, gateway.prefix};
      if (used.count(ip.AddressText())) continue;
      address = ip;
      break;
    }
    if (address.address == 0)
      return absl::ResourceExhaustedError(fmt::format("no free address left in {}", options_.bridge_cidr));
    // Reserved now, so a container starting beside this one cannot take it.
    container.record["NetworkSettings"]["IPAddress"] = address.AddressText();
  }
  std::string netns = NetnsPath(container.id);
  (void)network::RemoveNetns(netns);  // a stale one from a crash
  (void)network::DeleteLink(HostVeth(container.id));
  absl::Status attached = network::CreateNetns(netns);
  if (attached.ok())
    attached = network::AttachToBridge(
        {options_.bridge, HostVeth(container.id), netns, address, gateway.address});
  std::lock_guard lock(mu_);
  if (!attached.ok()) {
    DisconnectBridgeLocked(container);
    return Annotate(attached, "connect to the bridge network");
  }
  std::string hostname = container.record["Config"].value("Hostname", "");
  (void)WriteFileAtomic(container.record.value("HostsPath", ""),
                        fmt::format("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                    "fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\n"
                                    "ff02::2\tip6-allrouters\n{}\t{}\n",
                                    address.AddressText(), hostname),
                        0644);
  json& settings = container.record["NetworkSettings"];
  std::string gateway_text = gateway.AddressText();
  settings["IPAddress"] = address.AddressText();
  settings["IPPrefixLen"] = address.prefix;
  settings["Gateway"] = gateway_text;
  settings["SandboxKey"] = netns;
  settings["Networks"] = {{"bridge",
                           {{"NetworkID", "bridge"},
                            {"EndpointID", container.id.substr(0, 16)},
                            {"Gateway", gateway_text},
                            {"IPAddress", address.AddressText()},
                            {"IPPrefixLen", address.prefix},
                            {"MacAddress", ""}}}};
  return absl::OkStatus();
}

void Daemon::DisconnectBridgeLocked(Container& container) {
  if (container.record["HostConfig"].value("NetworkMode", "") != "bridge") return;
  // The veth's peer lives in the namespace: when the namespace goes, both ends go.
  if (absl::Status removed = network::RemoveNetns(NetnsPath(container.id)); !removed.ok())
    LogWarn("container {}: {}", container.id, removed);
  (void)network::DeleteLink(HostVeth(container.id));
  json& settings = container.record["NetworkSettings"];
  settings["IPAddress"] = "";
  settings["Gateway"] = "";
  settings["SandboxKey"] = "";
  if (settings.contains("Networks") && settings["Networks"].contains("bridge")) {
    settings["Networks"]["bridge"]["IPAddress"] = "";
    settings["Networks"]["bridge"]["Gateway"] = "";
  }
}

}  // namespace liman::engine
