// Networks (moby's daemon/network.go for the bridge driver): the predefined bridge, host and
// none, and user-defined bridge networks, each a Linux bridge "br-<12 hex of its id>" with its
// subnet's gateway address and a NAT table of its own; kept in the store so they outlive limand.
// Containers join them with HostConfig.NetworkMode / NetworkingConfig at create, or with
// connect and disconnect, also while they run (one more veth pair, eth1…, in their namespace).
#include <regex>

#include "absl/cleanup/cleanup.h"
#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "engine/daemon/random_id.h"
#include "engine/network/ipam.h"
#include "engine/network/nat.h"
#include "engine/network/netns.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

namespace {

constexpr char kBridgeNameOption[] = "com.docker.network.bridge.name";

json BaseRecord(const std::string& id, const std::string& name, const std::string& driver) {
  return json{{"Name", name},
              {"Id", id},
              {"Created", FormatLogTime(absl::Now())},
              {"Scope", "local"},
              {"Driver", driver},
              {"EnableIPv6", false},
              {"IPAM", {{"Driver", "default"}, {"Options", nullptr}, {"Config", json::array()}}},
              {"Internal", false},
              {"Attachable", false},
              {"Ingress", false},
              {"ConfigFrom", {{"Network", ""}}},
              {"ConfigOnly", false},
              {"Options", json::object()},
              {"Labels", json::object()}};
}

// The network's subnet and gateway from its record's IPAM config.
absl::StatusOr<network::Ipv4Net> GatewayOf(const json& record) {
  const json& config = record["IPAM"]["Config"];
  if (!config.is_array() || config.empty()) return absl::InvalidArgumentError("network without an IPAM config");
  LIMAN_ASSIGN_OR_RETURN(network::Ipv4Net subnet, network::ParseIpv4Net(config[0].value("Subnet", "")));
  std::string gateway = config[0].value("Gateway", "");
  if (gateway.empty()) return network::Ipv4Net{(subnet.address & subnet.Mask()) + 1, subnet.prefix};
  LIMAN_ASSIGN_OR_RETURN(network::Ipv4Net address, network::ParseIpv4Net(gateway + "/" + std::to_string(subnet.prefix)));
  return address;
}

// moby's network name check (daemon/network.go: the names the CLI and API accept).
absl::Status ValidateNetworkName(const std::string& name) {
  static const std::regex kValid("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$");
  if (name.empty()) return absl::InvalidArgumentError("network name must not be empty");
  if (!std::regex_match(name, kValid))
    return absl::InvalidArgumentError(
        fmt::format("invalid network name \"{}\": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name));
  return absl::OkStatus();
}

// A string field of a request object, kInvalidArgument when present with another type.
absl::StatusOr<std::string> StringField(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return std::string();
  if (!body[key].is_string()) return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {}: not a string", key));
  return body[key].get<std::string>();
}

// A string map (Labels, Options) of a request, {} when absent.
absl::StatusOr<json> StringMap(const json& body, const char* key) {
  if (!body.contains(key) || body[key].is_null()) return json::object();
  if (!body[key].is_object()) return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {}: not an object", key));
  for (const auto& [k, v] : body[key].items())
    if (!v.is_string()) return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {}.{}: not a string", key, k));
  return body[key];
}

bool Matches(const std::vector<std::string>& wanted, const std::function<bool(const std::string&)>& match) {
  if (wanted.empty()) return true;
  for (const std::string& w : wanted)
    if (match(w)) return true;
  return false;
}

// The bridge, its gateway address and its table: NAT (masquerade unless Internal) and
// isolation from the other networks' bridges, as Docker's.
absl::Status SetUpNetworkBridge(const Network& net, const DaemonOptions& options) {
  bool internal = net.record.value("Internal", false);
  network::Ipv4Net subnet{net.gateway.address & net.gateway.Mask(), net.gateway.prefix};
  LIMAN_RETURN_IF_ERROR(network::EnsureBridge(net.bridge, net.gateway));
  LIMAN_RETURN_IF_ERROR(network::EnsureNatTable(net.bridge, subnet.CidrText(), options.ip_masq && !internal));
  std::vector<std::string> others{"br-*"};
  if (options.bridge != "none") others.push_back(options.bridge);
  return network::EnsureIsolation(net.bridge, others, internal);
}

}  // namespace

absl::Status Daemon::LoadNetworks() {
  LIMAN_ASSIGN_OR_RETURN(std::vector<json> stored, store_->ListNetworks());
  std::lock_guard lock(mu_);
  for (json& record : stored) {
    auto net = std::make_shared<Network>();
    net->id = record.value("Id", "");
    net->name = record.value("Name", "");
    if (net->id.empty() || net->name.empty()) continue;
    net->record = std::move(record);
    networks_[net->id] = net;
  }
  // The predefined networks keep the ids they were first given; the bridge's addresses follow
  // this start's --bridge/--bip.
  for (const char* name : {"bridge", "host", "none"}) {
    std::shared_ptr<Network> net;
    for (const auto& [id, candidate] : networks_)
      if (candidate->name == name) net = candidate;
    if (!net) {
      net = std::make_shared<Network>();
      net->id = RandomHexId();
      net->name = name;
      net->record = BaseRecord(net->id, name, name == std::string("none") ? "null" : name);
    }
    if (net->name == "bridge") {
      if (options_.bridge == "none") {
        networks_.erase(net->id);
        continue;
      }
      LIMAN_ASSIGN_OR_RETURN(net->gateway, network::ParseIpv4Net(options_.bridge_cidr));
      net->bridge = options_.bridge;
      network::Ipv4Net subnet{net->gateway.address & net->gateway.Mask(), net->gateway.prefix};
      net->record["IPAM"]["Config"] = json::array({{{"Subnet", subnet.CidrText()}, {"Gateway", net->gateway.AddressText()}}});
      net->record["Options"] = {{"com.docker.network.bridge.default_bridge", "true"},
                                {"com.docker.network.bridge.enable_icc", "true"},
                                {"com.docker.network.bridge.enable_ip_masquerade", options_.ip_masq ? "true" : "false"},
                                {"com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"},
                                {kBridgeNameOption, options_.bridge},
                                {"com.docker.network.driver.mtu", "1500"}};
    }
    LIMAN_RETURN_IF_ERROR(store_->PutNetwork(net->id, net->record));
    networks_[net->id] = net;
  }
  for (auto& [id, net] : networks_) {
    if (net->Predefined()) continue;
    LIMAN_ASSIGN_OR_RETURN(net->gateway, GatewayOf(net->record));
    net->bridge = net->record["Options"].value(kBridgeNameOption, "br-" + id.substr(0, 12));
    absl::Status ready = SetUpNetworkBridge(*net, options_);
    // One network that cannot be set up again must not keep limand down: its containers fail
    // to start with the reason, the others go on.
    if (!ready.ok()) LogError("network {} ({}): set up bridge {}: {}", net->name, id, net->bridge, ready);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Network>> Daemon::FindNetworkLocked(const std::string& ref) {
  if (ref.empty()) return absl::NotFoundError("network  not found");
  if (auto found = networks_.find(ref); found != networks_.end()) return found->second;
  for (const auto& [id, net] : networks_)
    if (net->name == ref) return net;
  std::vector<std::shared_ptr<Network>> matches;
  for (const auto& [id, net] : networks_)
    if (id.compare(0, ref.size(), ref) == 0) matches.push_back(net);
  if (matches.empty()) return absl::NotFoundError(fmt::format("network {} not found", ref));
  if (matches.size() > 1)
    return absl::InvalidArgumentError(
        fmt::format("network {} is ambiguous ({} matches found based on ID prefix)", ref, matches.size()));
  return matches.front();
}

json Daemon::NetworkViewLocked(const Network& net) const {
  json view = net.record;
  json attached = json::object();
  for (const auto& [id, container] : containers_) {
    const json& networks = container->record["NetworkSettings"].value("Networks", json::object());
    if (!container->Running() || !networks.contains(net.name)) continue;
    const json& endpoint = networks[net.name];
    std::string ip = endpoint.value("IPAddress", "");
    if (ip.empty() && !net.bridge.empty()) continue;  // host and none have no addresses
    attached[id] = {{"Name", container->name.substr(1)},
                    {"EndpointID", endpoint.value("EndpointID", "")},
                    {"MacAddress", endpoint.value("MacAddress", "")},
                    {"IPv4Address", ip.empty() ? "" : fmt::format("{}/{}", ip, endpoint.value("IPPrefixLen", 0))},
                    {"IPv6Address", ""}};
  }
  view["Containers"] = attached;
  return view;
}

absl::StatusOr<json> Daemon::CreateNetwork(const json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("network create: the request body must be a JSON object");
  LIMAN_ASSIGN_OR_RETURN(std::string name, StringField(body, "Name"));
  LIMAN_RETURN_IF_ERROR(ValidateNetworkName(name));
  LIMAN_ASSIGN_OR_RETURN(std::string driver, StringField(body, "Driver"));
  if (driver.empty()) driver = "bridge";
  if (driver != "bridge")
    return absl::NotFoundError(fmt::format("plugin \"{}\" not found (limand has the bridge network driver only)", driver));
  if (BoolField(body, "EnableIPv6")) return absl::InvalidArgumentError("network create: IPv6 networks are not supported by limand");
  LIMAN_ASSIGN_OR_RETURN(json labels, StringMap(body, "Labels"));
  LIMAN_ASSIGN_OR_RETURN(json options, StringMap(body, "Options"));
  json ipam = body.value("IPAM", json::object());
  if (!ipam.is_object()) ipam = json::object();
  std::string ipam_driver = ipam.value("Driver", "");
  if (!ipam_driver.empty() && ipam_driver != "default")
    return absl::NotFoundError(fmt::format("plugin \"{}\" not found (limand has the default IPAM driver only)", ipam_driver));
  json ipam_config = ipam.value("Config", json::array());
  if (ipam_config.is_null()) ipam_config = json::array();
  if (!ipam_config.is_array() || ipam_config.size() > 1)
    return absl::InvalidArgumentError("network create: IPAM.Config takes one IPv4 subnet at most");
  std::string subnet_text, gateway_text;
  if (!ipam_config.empty()) {
    if (!ipam_config[0].is_object()) return absl::InvalidArgumentError("network create: IPAM.Config[0] is not an object");
    LIMAN_ASSIGN_OR_RETURN(subnet_text, StringField(ipam_config[0], "Subnet"));
    LIMAN_ASSIGN_OR_RETURN(gateway_text, StringField(ipam_config[0], "Gateway"));
    if (ipam_config[0].contains("IPRange") && !ipam_config[0]["IPRange"].is_null() && ipam_config[0]["IPRange"] != "")
      return absl::InvalidArgumentError("network create: IPAM IPRange is not supported by limand");
  }

  std::lock_guard lock(mu_);
  if (name == "bridge" || name == "host" || name == "none")
    return absl::PermissionDeniedError(fmt::format("operation is not permitted on predefined {} network ", name));
  for (const auto& [id, net] : networks_)
    if (net->name == name) return absl::AlreadyExistsError(fmt::format("network with name {} already exists", name));

  std::vector<network::Ipv4Net> in_use;
  for (const auto& [id, net] : networks_)
    if (!net->bridge.empty()) in_use.push_back(net->gateway);
  network::Ipv4Net gateway;
  if (subnet_text.empty()) {
    if (!gateway_text.empty()) return absl::InvalidArgumentError("network create: a gateway needs a subnet");
    std::vector<network::Ipv4Net> taken = in_use;
    LIMAN_ASSIGN_OR_RETURN(std::vector<network::Ipv4Net> host, network::HostNetworks());
    taken.insert(taken.end(), host.begin(), host.end());
    LIMAN_ASSIGN_OR_RETURN(gateway, network::AllocateSubnet(taken));
  } else {
    absl::StatusOr<network::Ipv4Net> subnet = network::ParseIpv4Net(subnet_text);
    if (!subnet.ok()) return absl::InvalidArgumentError(fmt::format("invalid subnet {}: {}", subnet_text, subnet.status().message()));
    if ((subnet->address & ~subnet->Mask()) != 0)
      return absl::InvalidArgumentError(fmt::format("invalid subnet {}: it has host bits set (did you mean {}?)", subnet_text,
                                                    network::Ipv4Net{subnet->address & subnet->Mask(), subnet->prefix}.CidrText()));
    for (const network::Ipv4Net& other : in_use)
      if (network::Overlaps(*subnet, other))
        return absl::PermissionDeniedError("Pool overlaps with other one on this address space");
    gateway = {subnet->address + 1, subnet->prefix};
    if (!gateway_text.empty()) {
      absl::StatusOr<network::Ipv4Net> given = network::ParseIpv4Net(gateway_text + "/" + std::to_string(subnet->prefix));
      uint32_t host_part = given.ok() ? given->address & ~subnet->Mask() : 0;
      if (!given.ok() || !network::Overlaps({given->address, 32}, *subnet) || host_part == 0 || host_part == ~subnet->Mask())
        return absl::InvalidArgumentError(fmt::format("invalid gateway {}: not an address in {}", gateway_text, subnet_text));
      gateway = *given;
    }
  }
  network::Ipv4Net subnet{gateway.address & gateway.Mask(), gateway.prefix};

  auto net = std::make_shared<Network>();
  net->id = RandomHexId();
  net->name = name;
  net->gateway = gateway;
  net->bridge = options.value(kBridgeNameOption, "br-" + net->id.substr(0, 12));
  if (net->bridge.empty() || net->bridge.size() > 15)
    return absl::InvalidArgumentError(fmt::format("invalid bridge name {}: 1 to 15 characters", Quote(net->bridge)));
  bool internal = BoolField(body, "Internal");
  net->record = BaseRecord(net->id, name, "bridge");
  net->record["IPAM"]["Config"] = json::array({{{"Subnet", subnet.CidrText()}, {"Gateway", gateway.AddressText()}}});
  if (ipam.contains("Options") && ipam["Options"].is_object()) net->record["IPAM"]["Options"] = ipam["Options"];
  net->record["Internal"] = internal;
  net->record["Attachable"] = BoolField(body, "Attachable");
  net->record["Options"] = options;
  net->record["Labels"] = labels;

  auto undo = absl::MakeCleanup([&] {
    (void)network::RemoveNatTable(net->bridge);
    (void)network::DeleteLink(net->bridge);
  });
  absl::Status made = SetUpNetworkBridge(*net, options_);
  if (made.ok()) made = store_->PutNetwork(net->id, net->record);
  if (!made.ok()) return Annotate(made, fmt::format("create network {}", name));
  std::move(undo).Cancel();
  networks_[net->id] = net;
  events_.Publish(EngineEvent{"network", "create", net->id, {{"name", name}, {"type", "bridge"}}, {}});
  LogInfo("network {} ({}): bridge {} on {}", name, net->id, net->bridge, gateway.CidrText());
  return json{{"Id", net->id}, {"Warning", ""}};
}

absl::StatusOr<json> Daemon::ListNetworks(const json& filters) {
  std::vector<std::string> names = FilterValues(filters, "name");
  std::vector<std::string> ids = FilterValues(filters, "id");
  std::vector<std::string> drivers = FilterValues(filters, "driver");
  std::vector<std::string> types = FilterValues(filters, "type");
  std::vector<std::string> labels = FilterValues(filters, "label");
  std::lock_guard lock(mu_);
  json list = json::array();
  for (const auto& [id, net] : networks_) {
    // As moby: name and id filters match substrings, the others exactly.
    if (!Matches(names, [&](const std::string& w) { return net->name.find(w) != std::string::npos; })) continue;
    if (!Matches(ids, [&](const std::string& w) { return id.find(w) != std::string::npos; })) continue;
    if (!Matches(drivers, [&](const std::string& w) { return net->record.value("Driver", "") == w; })) continue;
    if (!Matches(types, [&](const std::string& w) { return w == (net->Predefined() ? "builtin" : "custom"); })) continue;
    if (!Matches(labels, [&](const std::string& w) {
          size_t eq = w.find('=');
          const json& have = net->record["Labels"];
          std::string key = w.substr(0, eq);
          if (!have.is_object() || !have.contains(key)) return false;
          return eq == std::string::npos || have[key] == w.substr(eq + 1);
        }))
      continue;
    list.push_back(NetworkViewLocked(*net));
  }
  return list;
}

absl::StatusOr<json> Daemon::InspectNetwork(const std::string& ref) {
  std::lock_guard lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Network> net, FindNetworkLocked(ref));
  return NetworkViewLocked(*net);
}

absl::Status Daemon::RemoveNetwork(const std::string& ref) {
  std::lock_guard lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Network> net, FindNetworkLocked(ref));
  if (net->Predefined())
    return absl::PermissionDeniedError(fmt::format("{} is a pre-defined network and cannot be removed", net->name));
  if (!NetworkViewLocked(*net)["Containers"].empty())
    return absl::PermissionDeniedError(fmt::format(
        "error while removing network: network {} id {} has active endpoints", net->name, net->id));
  LIMAN_RETURN_IF_ERROR(Annotate(network::RemoveNatTable(net->bridge), fmt::format("remove network {}", net->name)));
  LIMAN_RETURN_IF_ERROR(Annotate(network::DeleteLink(net->bridge), fmt::format("remove network {}", net->name)));
  LIMAN_RETURN_IF_ERROR(store_->DeleteNetwork(net->id));
  networks_.erase(net->id);
  events_.Publish(EngineEvent{"network", "destroy", net->id, {{"name", net->name}, {"type", "bridge"}}, {}});
  LogInfo("network {} ({}) removed", net->name, net->id);
  return absl::OkStatus();
}

absl::StatusOr<json> Daemon::PruneNetworks() {
  std::vector<std::string> candidates;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, net] : networks_)
      if (net->UserDefined() && NetworkViewLocked(*net)["Containers"].empty()) candidates.push_back(id);
  }
  json deleted = json::array();
  for (const std::string& id : candidates) {
    std::string name;
    {
      std::lock_guard lock(mu_);
      auto found = networks_.find(id);
      if (found == networks_.end()) continue;
      name = found->second->name;
    }
    // A container may have joined since: then the removal refuses and the network stays.
    if (RemoveNetwork(id).ok()) deleted.push_back(name);
  }
  return json{{"NetworksDeleted", deleted}};
}

}  // namespace liman::engine
