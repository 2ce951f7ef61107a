// The default bridge network: set up once at start (bridge, gateway address, masquerading), and
// for each container while it runs (namespace, address, veth pair, /etc/hosts).
#include <arpa/inet.h>

#include <set>

#include "absl/cleanup/cleanup.h"

#include "common/file_util.h"
#include "common/json_member.h"
#include "common/logging.h"
#include "common/fmt_absl.h"
#include "common/status.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "engine/daemon/etc_files.h"
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

// The container's address on its primary network (HostConfig.NetworkMode), where its
// published ports lead.
std::string PrimaryAddress(const json& record) {
  const json& networks = Member(Member(record, "NetworkSettings"), "Networks");
  const json& mode = Member(Member(record, "HostConfig"), "NetworkMode");
  if (!mode.is_string()) return "";
  const json& endpoint = Member(networks, mode.get<std::string>().c_str());
  return endpoint.is_object() ? endpoint.value("IPAddress", "") : "";
}

}  // namespace

std::vector<network::PortMapping> RecordedMappings(const json& record) {
  std::vector<network::PortMapping> mappings;
  const json& settings = Member(record, "NetworkSettings");
  std::string ip = PrimaryAddress(record);
  if (!settings.is_object() || !settings.contains("Ports") || !settings["Ports"].is_object() || ip.empty()) return mappings;
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
  host_gateway_ = gateway.AddressText();
  network::Ipv4Net subnet{gateway.address & gateway.Mask(), gateway.prefix};
  LIMAN_RETURN_IF_ERROR(network::EnsureNatTable(options_.bridge, subnet.CidrText(), options_.ip_masq));
  if (options_.ip_forward) LIMAN_RETURN_IF_ERROR(WriteFile("/proc/sys/net/ipv4/ip_forward", "1"));
  return absl::OkStatus();
}

absl::Status Daemon::ConnectBridge(Container& container) {
  const std::string mode = container.record["HostConfig"].value("NetworkMode", "");
  struct Planned {
    std::shared_ptr<Network> net;
    network::Ipv4Net address;
  };
  std::vector<Planned> planned;  // the primary network first: it is eth0
  std::shared_ptr<Network> primary;
  {
    std::lock_guard lock(mu_);
    json& networks = container.record["NetworkSettings"]["Networks"];
    if (!networks.is_object()) networks = json::object();
    // Reservations are given back if anything below fails.
    auto release = absl::MakeCleanup([&] {
      for (const Planned& p : planned) networks[p.net->name]["IPAddress"] = "";
    });
    std::vector<std::string> names{mode};
    for (const auto& [name, endpoint] : networks.items())
      if (name != mode) names.push_back(name);
    for (const std::string& name : names) {
      absl::StatusOr<std::shared_ptr<Network>> net = FindNetworkLocked(name);
      if (!net.ok()) return net.status();
      if ((*net)->bridge.empty())
        return absl::FailedPreconditionError(fmt::format("network {} has no bridge to attach to", name));
      if (!networks.contains(name)) {
        LIMAN_ASSIGN_OR_RETURN(networks[name], NewEndpointSettings(**net, container.id, json::object()));
      }
      LIMAN_ASSIGN_OR_RETURN(network::Ipv4Net address, ReserveAddressLocked(container, **net));
      planned.push_back({*net, address});
    }
    primary = planned.front().net;
    network::Ipv4Net address = planned.front().address;

    // Published ports: a host port taken by another running container is Docker's conflict; an
    // empty one gets the lowest free port from 32768.
    std::vector<network::PortMapping> taken;
    for (const auto& [id, other] : containers_)
      if (other.get() != &container) {
        std::vector<network::PortMapping> theirs = RecordedMappings(other->record);
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
    // -P: every exposed port without a binding of its own gets an ephemeral host port.
    if (BoolField(container.record["HostConfig"], "PublishAllPorts")) {
      json exposed = container.record["Config"].value("ExposedPorts", json::object());
      if (exposed.is_object())
        for (const auto& [key, unused] : exposed.items())
          if (!bindings.contains(key)) bindings[key] = json::array({{{"HostIp", ""}, {"HostPort", ""}}});
    }
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
        if (clashes(m))
          return absl::FailedPreconditionError(fmt::format(
              "driver failed programming external connectivity on endpoint {}: Bind for {}:{} failed: port is already allocated",
              container.name.substr(1), m.host_ip.empty() ? "0.0.0.0" : m.host_ip, m.host_port));
        taken.push_back(m);
        recorded.push_back({{"HostIp", m.host_ip.empty() ? "0.0.0.0" : m.host_ip}, {"HostPort", std::to_string(m.host_port)}});
      }
      ports[key] = recorded;
    }
    container.record["NetworkSettings"]["Ports"] = ports;
    std::move(release).Cancel();
  }
  std::string netns = NetnsPath(container.id);
  (void)network::RemoveNetns(netns);  // a stale one from a crash
  for (const Planned& p : planned) (void)network::DeleteLink(EndpointVeth(container, p.net->name));
  absl::Status attached = network::CreateNetns(netns);
  for (size_t i = 0; i < planned.size() && attached.ok(); ++i)
    attached = AttachEndpoint(container, *planned[i].net, planned[i].address, fmt::format("eth{}", i), i == 0);
  if (attached.ok()) {
    json record;
    {
      std::lock_guard lock(mu_);
      record = container.record;
    }
    attached = network::AddPortMappings(primary->bridge, RecordedMappings(record));
  }
  std::lock_guard lock(mu_);
  if (!attached.ok()) {
    DisconnectBridgeLocked(container);
    return Annotate(attached, fmt::format("connect to network {}", primary->name));
  }
  const network::Ipv4Net& address = planned.front().address;
  if (absl::Status written = WriteEtcFiles(container.record, address.AddressText(), container.link_hosts); !written.ok()) {
    DisconnectBridgeLocked(container);
    return Annotate(written, fmt::format("connect to network {}", primary->name));
  }
  json& settings = container.record["NetworkSettings"];
  settings["SandboxKey"] = netns;
  if (primary->name == "bridge") {
    // As dockerd: the top-level fields describe the default bridge network only.
    settings["IPAddress"] = address.AddressText();
    settings["IPPrefixLen"] = address.prefix;
    settings["Gateway"] = primary->gateway.AddressText();
    settings["MacAddress"] = network::MacAddressFor(address.address);
  }
  StartDnsLocked(container);
  return absl::OkStatus();
}

void Daemon::DisconnectBridgeLocked(Container& container) {
  const std::string mode = container.record["HostConfig"].value("NetworkMode", "");
  if (mode.empty() || !JoinsBridgeNetworks(mode)) return;
  container.dns.reset();  // its sockets close with its namespace
  if (absl::StatusOr<std::shared_ptr<Network>> primary = FindNetworkLocked(mode); primary.ok()) {
    if (absl::Status unmapped = network::RemovePortMappings((*primary)->bridge, RecordedMappings(container.record));
        !unmapped.ok())
      LogWarn("container {}: {}", container.id, unmapped);
  }
  json& settings = container.record["NetworkSettings"];
  settings["Ports"] = json::object();
  // The veth's peer lives in the namespace: when the namespace goes, both ends go.
  if (absl::Status removed = network::RemoveNetns(NetnsPath(container.id)); !removed.ok())
    LogWarn("container {}: {}", container.id, removed);
  if (settings.contains("Networks") && settings["Networks"].is_object()) {
    for (auto& [name, endpoint] : settings["Networks"].items()) {
      (void)network::DeleteLink(EndpointVeth(container, name));
      if (!endpoint.is_object()) continue;
      if (auto net = FindNetworkLocked(name); net.ok() && !endpoint.value("EndpointID", "").empty())
        NetworkEvent("disconnect", **net, container.id);
      endpoint["IPAddress"] = "";
      endpoint["IPPrefixLen"] = 0;
      endpoint["Gateway"] = "";
      endpoint["MacAddress"] = "";
      endpoint["EndpointID"] = "";
    }
  }
  settings["IPAddress"] = "";
  settings["IPPrefixLen"] = 0;
  settings["Gateway"] = "";
  settings["MacAddress"] = "";
  settings["SandboxKey"] = "";
}

}  // namespace liman::engine
