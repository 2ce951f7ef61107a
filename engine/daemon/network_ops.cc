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

namespace {

// "80/tcp" -> (80, "tcp").
absl::StatusOr<std::pair<uint16_t, std::string>> ParsePortKey(const std::string& key) {
  size_t slash = key.find('/');
  std::string protocol = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
  int port = 0;
  std::string number = key.substr(0, slash);
  if (number.empty() || number.find_first_not_of("0123456789") != std::string::npos || (port = std::stoi(number)) < 1 ||
      port > 65535 || (protocol != "tcp" && protocol != "udp"))
    return absl::InvalidArgumentError(fmt::format("invalid port specification: \"{}\"", key));
  return std::pair<uint16_t, std::string>{static_cast<uint16_t>(port), protocol};
}

// The host side of a published port as recorded in NetworkSettings.Ports.
std::vector<network::PortMapping> RecordedMappings(const json& settings) {
  std::vector<network::PortMapping> mappings;
  std::string ip = settings.value("IPAddress", "");
  if (!settings.contains("Ports") || !settings["Ports"].is_object() || ip.empty()) return mappings;
  for (const auto& [key, bindings] : settings["Ports"].items()) {
    absl::StatusOr<std::pair<uint16_t, std::string>> port = ParsePortKey(key);
    if (!port.ok() || !bindings.is_array()) continue;
    for (const json& binding : bindings) {
      network::PortMapping m;
      m.protocol = port->second;
      m.container_port = port->first;
      m.container_ip = ip;
      m.host_ip = binding.value("HostIp", "");
      m.host_port = static_cast<uint16_t>(std::stoi(binding.value("HostPort", "0")));
      mappings.push_back(m);
    }
  }
  return mappings;
}

}  // namespace

absl::Status ValidatePortBindings(const json& host_config) {
  if (!host_config.contains("PortBindings") || host_config["PortBindings"].is_null()) return absl::OkStatus();
  if (!host_config["PortBindings"].is_object()) return absl::InvalidArgumentError("invalid PortBindings: not an object");
  for (const auto& [key, bindings] : host_config["PortBindings"].items()) {
    LIMAN_RETURN_IF_ERROR(ParsePortKey(key).status());
    if (!bindings.is_array() && !bindings.is_null())
      return absl::InvalidArgumentError(fmt::format("invalid PortBindings for {}: not a list", key));
    for (const json& binding : bindings.is_array() ? bindings : json::array()) {
      std::string host_port = binding.is_object() ? binding.value("HostPort", "") : "";
      if (!host_port.empty() &&
          (host_port.find_first_not_of("0123456789") != std::string::npos || std::stoi(host_port) < 1 || std::stoi(host_port) > 65535))
        return absl::InvalidArgumentError(fmt::format("invalid port specification: \"{}\"", host_port));
    }
  }
  return absl::OkStatus();
}

absl::Status Daemon::SetUpBridgeNetwork() {
  if (options_.bridge == "none") return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(network::Ipv4Net gateway, network::ParseIpv4Net(options_.bridge_cidr));
  LIMAN_RETURN_IF_ERROR(MkdirAll(options_.exec_root + "/netns", 0700));
  LIMAN_RETURN_IF_ERROR(network::EnsureBridge(options_.bridge, gateway));
  network::Ipv4Net subnet{gateway.address & gateway.Mask(), gateway.prefix};
  LIMAN_RETURN_IF_ERROR(network::EnsureNatTable(options_.bridge, subnet.CidrText(), options_.ip_masq));
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

    // Published ports: a host port taken by another running container is Docker's conflict; an
    // empty one gets the lowest free port from 32768.
    std::vector<network::PortMapping> taken;
    for (const auto& [id, other] : containers_)
      if (other.get() != &container) {
        std::vector<network::PortMapping> theirs = RecordedMappings(other->record["NetworkSettings"]);
        taken.insert(taken.end(), theirs.begin(), theirs.end());
      }
    auto clashes = [&](const network::PortMapping& m) {
      for (const network::PortMapping& t : taken)
        if (t.protocol == m.protocol && t.host_port == m.host_port &&
            (t.host_ip == m.host_ip || t.host_ip.empty() || t.host_ip == "0.0.0.0" || m.host_ip.empty() || m.host_ip == "0.0.0.0"))
          return true;
      return false;
    };
    json ports = json::object();
    json bindings = container.record["HostConfig"].value("PortBindings", json::object());
    if (!bindings.is_object()) bindings = json::object();
    for (const auto& [key, list] : bindings.items()) {
      LIMAN_ASSIGN_OR_RETURN(auto port, ParsePortKey(key));
      json recorded = json::array();
      for (const json& binding : list.is_array() ? list : json::array()) {
        network::PortMapping m;
        m.protocol = port.second;
        m.container_port = port.first;
        m.container_ip = address.AddressText();
        m.host_ip = binding.value("HostIp", "");
        std::string host_port = binding.value("HostPort", "");
        if (host_port.empty()) {
          for (m.host_port = 32768; m.host_port < 61000 && clashes(m); ++m.host_port) {
          }
        } else {
          m.host_port = static_cast<uint16_t>(std::stoi(host_port));
        }
        if (clashes(m)) {
          container.record["NetworkSettings"]["IPAddress"] = "";
          return absl::FailedPreconditionError(fmt::format(
              "driver failed programming external connectivity on endpoint {}: Bind for {}:{} failed: port is already allocated",
              container.name.substr(1), m.host_ip.empty() ? "0.0.0.0" : m.host_ip, m.host_port));
        }
        taken.push_back(m);
        recorded.push_back({{"HostIp", m.host_ip.empty() ? "0.0.0.0" : m.host_ip}, {"HostPort", std::to_string(m.host_port)}});
      }
      ports[key] = recorded;
    }
    container.record["NetworkSettings"]["Ports"] = ports;
  }
  std::string netns = NetnsPath(container.id);
  (void)network::RemoveNetns(netns);  // a stale one from a crash
  (void)network::DeleteLink(HostVeth(container.id));
  absl::Status attached = network::CreateNetns(netns);
  if (attached.ok())
    attached = network::AttachToBridge(
        {options_.bridge, HostVeth(container.id), netns, address, gateway.address});
  if (attached.ok()) {
    json settings;
    {
      std::lock_guard lock(mu_);
      settings = container.record["NetworkSettings"];
    }
    attached = network::AddPortMappings(options_.bridge, RecordedMappings(settings));
  }
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
  if (absl::Status unmapped = network::RemovePortMappings(options_.bridge, RecordedMappings(container.record["NetworkSettings"]));
      !unmapped.ok())
    LogWarn("container {}: {}", container.id, unmapped);
  container.record["NetworkSettings"]["Ports"] = json::object();
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
