// A container's endpoints on bridge networks: the address it gets on each, the veth pair that
// attaches it, and `docker network connect` / `disconnect` while it runs or not.
#include <arpa/inet.h>

#include <algorithm>

#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "engine/daemon/random_id.h"
#include "engine/network/ipam.h"
#include "engine/network/nat.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

namespace {

std::optional<uint32_t> ParseAddress(const std::string& text) {
  in_addr in{};
  if (text.empty() || ::inet_pton(AF_INET, text.c_str(), &in) != 1) return std::nullopt;
  return ntohl(in.s_addr);
}

}  // namespace

absl::StatusOr<json> NewEndpointSettings(const Network& net, const std::string& container_id, const json& endpoint_config) {
  if (!endpoint_config.is_null() && !endpoint_config.is_object())
    return absl::InvalidArgumentError("invalid EndpointConfig: not an object");
  json config = endpoint_config.is_object() ? endpoint_config : json::object();
  json aliases = json::array();
  if (config.contains("Aliases") && !config["Aliases"].is_null()) {
    if (!config["Aliases"].is_array()) return absl::InvalidArgumentError("invalid EndpointConfig.Aliases: not a list");
    for (const json& alias : config["Aliases"]) {
      if (!alias.is_string()) return absl::InvalidArgumentError("invalid EndpointConfig.Aliases: not a list of strings");
      aliases.push_back(alias);
    }
  }
  json ipam = config.value("IPAMConfig", json());
  if (!ipam.is_null()) {
    if (!ipam.is_object()) return absl::InvalidArgumentError("invalid EndpointConfig.IPAMConfig: not an object");
    std::string v4 = ipam.value("IPv4Address", "");
    if (!v4.empty() && !ParseAddress(v4)) return absl::InvalidArgumentError(fmt::format("invalid IPv4 address: {}", v4));
  }
  // dockerd makes a container's short id an alias on user-defined networks.
  if (net.UserDefined() && !container_id.empty() &&
      std::find(aliases.begin(), aliases.end(), json(container_id.substr(0, 12))) == aliases.end())
    aliases.push_back(container_id.substr(0, 12));
  return json{{"IPAMConfig", ipam},
              {"Links", nullptr},
              {"Aliases", net.UserDefined() ? aliases : json(nullptr)},
              {"NetworkID", net.id},
              {"EndpointID", ""},
              {"Gateway", ""},
              {"IPAddress", ""},
              {"IPPrefixLen", 0},
              {"IPv6Gateway", ""},
              {"GlobalIPv6Address", ""},
              {"GlobalIPv6PrefixLen", 0},
              {"MacAddress", ""},
              {"DriverOpts", nullptr}};
}

absl::StatusOr<network::Ipv4Net> Daemon::ReserveAddressLocked(Container& container, const Network& net) {
  std::set<uint32_t> used;
  for (const auto& [id, other] : containers_) {
    if (other.get() == &container) continue;
    const json& networks = other->record["NetworkSettings"].value("Networks", json::object());
    if (!networks.is_object() || !networks.contains(net.name) || !networks[net.name].is_object()) continue;
    if (std::optional<uint32_t> ip = ParseAddress(networks[net.name].value("IPAddress", ""))) used.insert(*ip);
  }
  json& endpoint = container.record["NetworkSettings"]["Networks"][net.name];
  std::string requested;
  if (endpoint.contains("IPAMConfig") && endpoint["IPAMConfig"].is_object())
    requested = endpoint["IPAMConfig"].value("IPv4Address", "");
  network::Ipv4Net address{0, net.gateway.prefix};
  if (!requested.empty()) {
    std::optional<uint32_t> ip = ParseAddress(requested);
    uint32_t network = net.gateway.address & net.gateway.Mask();
    if (!ip || (*ip & net.gateway.Mask()) != network || *ip == network || *ip == (network | ~net.gateway.Mask()))
      return absl::InvalidArgumentError(
          fmt::format("no configured subnet or ip-range contain the IP address {} (network {})", requested, net.name));
    if (used.count(*ip) || *ip == net.gateway.address)
      return absl::FailedPreconditionError(fmt::format("Address already in use: {} on network {}", requested, net.name));
    address.address = *ip;
  } else {
    LIMAN_ASSIGN_OR_RETURN(address.address, network::AllocateAddress(net.gateway, used));
  }
  // Reserved now, so a container starting beside this one cannot take it.
  endpoint["IPAddress"] = address.AddressText();
  endpoint["NetworkID"] = net.id;
  return address;
}

std::string Daemon::EndpointVeth(const Container& container, const std::string& net_name) const {
  if (net_name == container.record["HostConfig"].value("NetworkMode", "")) return HostVeth(container.id);
  // A name of 15 characters (IFNAMSIZ - 1) from both ids, so each endpoint has its own.
  const json& networks = container.record["NetworkSettings"].value("Networks", json::object());
  std::string net_id = networks.contains(net_name) && networks[net_name].is_object() ? networks[net_name].value("NetworkID", "") : "";
  if (net_id.size() < 4) net_id = fmt::format("{:04x}", std::hash<std::string>{}(net_name) & 0xffff);
  return "veth" + container.id.substr(0, 7) + net_id.substr(0, 4);
}

absl::Status Daemon::AttachEndpoint(Container& container, const Network& net, const network::Ipv4Net& address,
                                    const std::string& interface, bool primary) {
  std::string veth;
  {
    std::lock_guard lock(mu_);
    veth = EndpointVeth(container, net.name);
  }
  network::Attachment attachment;
  attachment.bridge = net.bridge;
  attachment.host_veth = veth;
  attachment.netns_path = NetnsPath(container.id);
  attachment.interface = interface;
  attachment.address = address;
  attachment.gateway = net.gateway.address;
  attachment.default_route = primary;
  LIMAN_RETURN_IF_ERROR(Annotate(network::AttachToBridge(attachment), fmt::format("attach to network {}", net.name)));
  std::lock_guard lock(mu_);
  json& endpoint = container.record["NetworkSettings"]["Networks"][net.name];
  endpoint["NetworkID"] = net.id;
  endpoint["EndpointID"] = RandomHexId();
  endpoint["Gateway"] = net.gateway.AddressText();
  endpoint["IPAddress"] = address.AddressText();
  endpoint["IPPrefixLen"] = address.prefix;
  endpoint["MacAddress"] = network::MacAddressFor(address.address);
  NetworkEvent("connect", net, container.id);
  return absl::OkStatus();
}

absl::Status Daemon::ConnectNetwork(const std::string& ref, const json& body) {
  if (!body.is_object() || !body.contains("Container") || !body["Container"].is_string())
    return absl::InvalidArgumentError("network connect: the request needs a Container");
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(body["Container"].get<std::string>()));
  std::lock_guard lifecycle(container->lifecycle);
  std::shared_ptr<Network> net;
  network::Ipv4Net address;
  {
    std::lock_guard lock(mu_);
    LIMAN_ASSIGN_OR_RETURN(net, FindNetworkLocked(ref));
    if (net->bridge.empty())
      return absl::PermissionDeniedError("container cannot be disconnected from host network or connected to host network");
    std::string mode = container->record["HostConfig"].value("NetworkMode", "");
    if (!JoinsBridgeNetworks(mode))
      return absl::PermissionDeniedError(fmt::format(
          "container sharing network namespace with another container or host cannot be connected to any other network (container {} is on {})",
          container->name.substr(1), mode));
    json& networks = container->record["NetworkSettings"]["Networks"];
    if (networks.contains(net->name))
      return absl::PermissionDeniedError(
          fmt::format("endpoint with name {} already exists in network {}", container->name.substr(1), net->name));
    LIMAN_ASSIGN_OR_RETURN(json endpoint, NewEndpointSettings(*net, container->id, body.value("EndpointConfig", json())));
    networks[net->name] = endpoint;
    if (!container->Running()) return SaveLocked(*container);  // attached at its next start
    absl::StatusOr<network::Ipv4Net> reserved = ReserveAddressLocked(*container, *net);
    if (!reserved.ok()) {
      networks.erase(net->name);
      return reserved.status();
    }
    address = *reserved;
  }
  absl::StatusOr<std::string> interface = network::FreeInterfaceName(NetnsPath(container->id));
  absl::Status attached = interface.status();
  if (attached.ok()) attached = AttachEndpoint(*container, *net, address, *interface, /*primary=*/false);
  std::lock_guard lock(mu_);
  if (!attached.ok()) {
    (void)network::DeleteLink(EndpointVeth(*container, net->name));
    container->record["NetworkSettings"]["Networks"].erase(net->name);
    return Annotate(attached, fmt::format("connect container {} to network {}", container->name.substr(1), net->name));
  }
  LogInfo("container {}: connected to network {} as {} ({})", container->id, net->name, *interface, address.CidrText());
  return SaveLocked(*container);
}

absl::Status Daemon::DisconnectNetwork(const std::string& ref, const json& body) {
  if (!body.is_object() || !body.contains("Container") || !body["Container"].is_string())
    return absl::InvalidArgumentError("network disconnect: the request needs a Container");
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(body["Container"].get<std::string>()));
  std::lock_guard lifecycle(container->lifecycle);
  std::lock_guard lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Network> net, FindNetworkLocked(ref));
  std::string mode = container->record["HostConfig"].value("NetworkMode", "");
  if (net->bridge.empty() || !JoinsBridgeNetworks(mode))
    return absl::PermissionDeniedError("container cannot be disconnected from host network or connected to host network");
  json& networks = container->record["NetworkSettings"]["Networks"];
  if (!networks.contains(net->name))
    return absl::PermissionDeniedError(
        fmt::format("container {} is not connected to network {}", container->name.substr(1), net->name));
  if (container->Running()) {
    if (net->name == mode) {
      if (absl::Status unmapped = network::RemovePortMappings(net->bridge, RecordedMappings(container->record)); !unmapped.ok())
        LogWarn("container {}: {}", container->id, unmapped);
      container->record["NetworkSettings"]["Ports"] = json::object();
    }
    // Deleting the host end takes the peer in the container's namespace with it.
    LIMAN_RETURN_IF_ERROR(Annotate(network::DeleteLink(EndpointVeth(*container, net->name)),
                                   fmt::format("disconnect container {} from network {}", container->name.substr(1), net->name)));
    if (net->name == "bridge") {
      json& settings = container->record["NetworkSettings"];
      for (const char* key : {"IPAddress", "Gateway", "MacAddress"}) settings[key] = "";
      settings["IPPrefixLen"] = 0;
    }
  }
  networks.erase(net->name);
  if (container->Running()) NetworkEvent("disconnect", *net, container->id);
  LogInfo("container {}: disconnected from network {}", container->id, net->name);
  return SaveLocked(*container);
}

}  // namespace liman::engine
