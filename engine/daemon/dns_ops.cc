// The embedded DNS server's side in the engine (moby's libnetwork resolver): which containers
// get one, the names it answers for a container (those of the running containers on the
// user-defined networks it shares with them), and where it forwards the others.
#include <algorithm>

#include "common/ascii.h"
#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "engine/daemon/etc_files.h"
#include "engine/daemon/legacy_links.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

namespace {

// The names `container` is known by on a network where its endpoint is `endpoint`: its name,
// its hostname, its network aliases (its short id among them).
std::vector<std::string> NamesOn(const Container& container, const json& endpoint) {
  std::vector<std::string> names{AsciiLower(container.name.substr(1))};
  std::string hostname = container.record["Config"].value("Hostname", "");
  if (!hostname.empty()) names.push_back(AsciiLower(hostname));
  if (endpoint.contains("Aliases") && endpoint["Aliases"].is_array())
    for (const json& alias : endpoint["Aliases"])
      if (alias.is_string()) names.push_back(AsciiLower(alias.get<std::string>()));
  return names;
}

}  // namespace

bool UsesEmbeddedDns(const std::string& network_mode) {
  return !network_mode.empty() && network_mode != "default" && network_mode != "bridge" && network_mode != "host" &&
         network_mode != "none" && network_mode.rfind("container:", 0) != 0;
}

std::vector<network::DnsUpstream> Daemon::DnsUpstreamsLocked(const Container& container) {
  // As moby since 26.0: a container whose every network is --internal gets no forwarding.
  bool external = false;
  const json& networks = container.record["NetworkSettings"].value("Networks", json::object());
  for (const auto& [name, endpoint] : networks.items()) {
    absl::StatusOr<std::shared_ptr<Network>> net = FindNetworkLocked(name);
    if (net.ok() && !(*net)->record.value("Internal", false)) external = true;
  }
  std::vector<network::DnsUpstream> upstreams;
  if (!external) return upstreams;
  DnsSettings dns{.servers = DnsServersFor(container.record["HostConfig"])};
  for (const std::string& server : UpstreamNameservers(ReadFile("/etc/resolv.conf").value_or(""), dns))
    if (std::optional<network::DnsUpstream> upstream = network::ParseDnsUpstream(server)) upstreams.push_back(*upstream);
  return upstreams;
}

std::vector<std::string> Daemon::DnsServersFor(const json& host_config) const {
  std::vector<std::string> servers = StringList(host_config.value("Dns", json()));
  return servers.empty() ? options_.dns : servers;
}

void Daemon::StartDnsLocked(Container& container) {
  if (container.dns || !UsesEmbeddedDns(container.record["HostConfig"].value("NetworkMode", ""))) return;
  std::string id = container.id;
  absl::StatusOr<std::unique_ptr<network::DnsServer>> server = network::DnsServer::Start(
      NetnsPath(id), [this, id](const std::string& name) { return ResolveForContainer(id, name); },
      DnsUpstreamsLocked(container));
  if (!server.ok()) {
    // The container runs on without names (as with a broken resolver), and the log says why.
    LogError("container {}: start the embedded DNS server: {}", id, server.status());
    return;
  }
  container.dns = std::move(*server);
}

std::optional<std::vector<uint32_t>> Daemon::ResolveForContainer(const std::string& asker_id, const std::string& name) {
  std::lock_guard lock(mu_);
  auto asker = containers_.find(asker_id);
  if (asker == containers_.end()) return std::nullopt;
  const json& asker_networks = asker->second->record["NetworkSettings"].value("Networks", json::object());
  // A legacy link's alias names the linked container, for the linking container only (moby
  // keeps links on user-defined networks as such aliases of its DNS).
  std::vector<LinkSpec> links;
  for (const std::string& text : StringList(asker->second->record["HostConfig"].value("Links", json())))
    if (absl::StatusOr<LinkSpec> link = ParseLink(text); link.ok()) links.push_back(*std::move(link));
  std::vector<uint32_t> found;
  bool known = false;
  for (const auto& [net_name, asker_endpoint] : asker_networks.items()) {
    if (!asker_endpoint.is_object() || asker_endpoint.value("IPAddress", "").empty()) continue;
    if (!UsesEmbeddedDns(net_name)) continue;  // no names on the default bridge, as Docker
    // "name" or "name.network" (dockerd answers both).
    std::string wanted = name;
    std::string suffix = fmt::format(".{}", AsciiLower(net_name));
    if (wanted.size() > suffix.size() && wanted.compare(wanted.size() - suffix.size(), suffix.size(), suffix) == 0)
      wanted.resize(wanted.size() - suffix.size());
    for (const LinkSpec& link : links)
      if (AsciiLower(link.alias) == wanted) wanted = AsciiLower(link.name);
    for (const auto& [id, other] : containers_) {
      if (!other->Running()) continue;
      const json& networks = other->record["NetworkSettings"].value("Networks", json::object());
      if (!networks.is_object() || !networks.contains(net_name) || !networks[net_name].is_object()) continue;
      const json& endpoint = networks[net_name];
      std::string ip = endpoint.value("IPAddress", "");
      if (ip.empty()) continue;
      std::vector<std::string> names = NamesOn(*other, endpoint);
      if (std::find(names.begin(), names.end(), wanted) == names.end()) continue;
      absl::StatusOr<network::Ipv4Net> address = network::ParseIpv4Net(ip + "/" + std::to_string(endpoint.value("IPPrefixLen", 24)));
      if (!address.ok()) continue;
      known = true;
      if (std::find(found.begin(), found.end(), address->address) == found.end()) found.push_back(address->address);
    }
  }
  if (!known) return std::nullopt;
  return found;
}

}  // namespace liman::engine
