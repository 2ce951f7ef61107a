// Containers: create (image + Config + HostConfig -> spec -> the manager's container), start
// (a task whose stdout and stderr the shim writes as a json-file log), stop/kill/restart/pause,
// wait, remove, inspect, list, top.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <regex>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/random_bytes.h"
#include "common/json_member.h"
#include "common/status.h"
#include "common/temp_mount.h"
#include "containerd/remotes/reference.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/run.h"
#include "ctl/liman-ctr/signals.h"
#include "engine/daemon/cgroup_parent.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "engine/daemon/etc_files.h"
#include "engine/daemon/init_binary.h"
#include "engine/daemon/legacy_links.h"
#include "engine/daemon/random_id.h"
#include "engine/daemon/shm_mount.h"
#include "engine/daemon/volume_copy.h"
#include "fmt/format.h"

namespace liman::engine {

namespace containers = ::containerd::services::containers::v1;
namespace tasks = ::containerd::services::tasks::v1;
using nlohmann::json;

namespace {

// Docker's namesgenerator, shortened: adjective_scientist.
std::string RandomName() {
  static const char* kLeft[] = {"admiring", "brave",  "clever",  "dreamy", "eager",   "focused",
                                "gallant",  "happy",  "jolly",   "keen",   "lucid",   "modest",
                                "nifty",    "quirky", "relaxed", "serene", "trusting", "zen"};
  static const char* kRight[] = {"turing", "hopper", "lovelace", "noether", "curie",   "dijkstra",
                                 "knuth",  "ritchie", "thompson", "torvalds", "shannon", "hamilton"};
  std::string random = RandomBytes(2);
  return fmt::format("{}_{}", kLeft[static_cast<unsigned char>(random[0]) % std::size(kLeft)],
                     kRight[static_cast<unsigned char>(random[1]) % std::size(kRight)]);
}

// moby's container name rule.
absl::Status ValidateName(const std::string& name) {
  static const std::regex kValid("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  if (!std::regex_match(name, kValid))
    return absl::InvalidArgumentError(
        fmt::format("Invalid container name ({}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name));
  return absl::OkStatus();
}

absl::StatusOr<int> SignalNumber(const std::string& text, int fallback) {
  if (text.empty()) return fallback;
  return ctr::ParseSignal(text);
}

// units.HumanDuration, as `docker ps` prints it.
std::string HumanDuration(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", minutes);
  int64_t hours = minutes / 60;
  if (hours == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", hours);
  if (hours < 24 * 7 * 2) return fmt::format("{} days", hours / 24);
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return fmt::format("{} months", hours / 24 / 30);
  return fmt::format("{} years", hours / 24 / 365);
}

absl::Time ParseRecordTime(const json& value) {
  absl::Time time = absl::UnixEpoch();
  std::string error;
  if (value.is_string()) absl::ParseTime(absl::RFC3339_full, value.get<std::string>(), &time, &error);
  return time;
}

std::string StatusText(const json& state) {
  std::string status = state.value("Status", "created");
  absl::Time now = absl::Now();
  if (status == "running" || status == "paused") {
    std::string up = "Up " + HumanDuration(now - ParseRecordTime(state["StartedAt"]));
    if (status == "paused") return up + " (Paused)";
    std::string health = HealthSuffix(state);
    return health.empty() ? up : fmt::format("{} ({})", up, health);
  }
  if (status == "restarting")
    return fmt::format("Restarting ({}) {} ago", state.value("ExitCode", 0),
                       HumanDuration(now - ParseRecordTime(state["FinishedAt"])));
  if (status == "exited")
    return fmt::format("Exited ({}) {} ago", state.value("ExitCode", 0),
                       HumanDuration(now - ParseRecordTime(state["FinishedAt"])));
  if (status == "created") return "Created";
  return status;
}

// `docker ps`'s Ports: one entry a published binding.
json PortsForList(const json& settings) {
  json ports = json::array();
  if (!settings.contains("Ports") || !settings["Ports"].is_object()) return ports;
  for (const auto& [key, bindings] : settings["Ports"].items()) {
    size_t slash = key.find('/');
    int private_port = std::atoi(key.substr(0, slash).c_str());
    std::string type = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    for (const json& binding : bindings.is_array() ? bindings : json::array())
      ports.push_back({{"IP", binding.value("HostIp", "")},
                       {"PrivatePort", private_port},
                       {"PublicPort", std::atoi(binding.value("HostPort", "0").c_str())},
                       {"Type", type}});
  }
  return ports;
}

// The signal `docker stop` sends: the container's StopSignal, SIGTERM without one.
absl::StatusOr<int> StopSignalOf(const json& config) { return SignalNumber(config.value("StopSignal", ""), SIGTERM); }

}  // namespace

// Docker's filters: {"status":{"exited":true}} (or the old ["exited"] form).
std::vector<std::string> FilterValues(const json& filters, const char* key) {
  std::vector<std::string> values;
  if (!filters.is_object() || !filters.contains(key)) return values;
  const json& entry = filters[key];
  if (entry.is_object()) {
    for (const auto& [value, on] : entry.items()) values.push_back(value);
  } else if (entry.is_array()) {
    for (const json& value : entry)
      if (value.is_string()) values.push_back(value.get<std::string>());
  }
  return values;
}

bool LabelFiltersMatch(const json& labels, const json& filters) {
  auto has = [&](const std::string& label) {
    size_t equals = label.find('=');
    std::string key = label.substr(0, equals);
    if (!labels.is_object() || !labels.contains(key)) return false;
    return equals == std::string::npos || labels[key] == label.substr(equals + 1);
  };
  std::vector<std::string> wanted = FilterValues(filters, "label");
  std::vector<std::string> unwanted = FilterValues(filters, "label!");
  return std::all_of(wanted.begin(), wanted.end(), has) && std::none_of(unwanted.begin(), unwanted.end(), has);
}

std::string Daemon::RuntimeFor(const json& host_config) const {
  std::string name = host_config.is_object() ? host_config.value("Runtime", "") : "";
  if (name.empty()) name = options_.default_runtime;
  auto found = options_.runtimes.find(name);
  return found == options_.runtimes.end() ? "" : found->second;
}

absl::StatusOr<json> Daemon::CreateContainer(const std::string& requested_name, const json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("config cannot be empty in order to create a container");
  if (body.contains("Image") && !body["Image"].is_string())
    return absl::InvalidArgumentError("json: cannot unmarshal Config.Image: not a string");
  std::string image_ref = body.value("Image", "");
  if (image_ref.empty()) return absl::InvalidArgumentError("no image specified: Config.Image is empty");
  json host_config = body.contains("HostConfig") && body["HostConfig"].is_object() ? body["HostConfig"] : json::object();

  std::string name = requested_name;
  if (!name.empty()) {
    LIMAN_RETURN_IF_ERROR(ValidateName(name));
    if (name[0] != '/') name = "/" + name;
  }

  std::string network_mode = host_config.value("NetworkMode", "default");
  if (network_mode.empty()) network_mode = "default";
  if (network_mode == "default") network_mode = "bridge";
  if (network_mode == "bridge" && options_.bridge == "none")
    return absl::FailedPreconditionError("the bridge network is disabled (limand --bridge none)");
  // --network container:NAME: that container's network namespace, joined at each start, and its
  // hostname, hosts and resolv.conf (moby's initializeNetworking).
  std::optional<std::string> network_donor = ModeContainer(network_mode);
  if (network_mode.starts_with("container:") && !network_donor)
    return absl::InvalidArgumentError("Invalid network mode: invalid container format container:<name|id>");
  std::string etc_files_dir, shared_hostname;
  json endpoints = json::object();  // NetworkSettings.Networks: the endpoint on its network, not attached yet
  if (network_donor) {
    LIMAN_RETURN_IF_ERROR(CheckSharedNetworkOptions(body, host_config));
    std::lock_guard lock(mu_);
    LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> donor, FindLocked(*network_donor));
    etc_files_dir = ContainerDir(donor->id);
    shared_hostname = donor->record["Config"].value("Hostname", "");
  } else {
    std::lock_guard lock(mu_);
    LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Network> net, FindNetworkLocked(network_mode));
    network_mode = net->name;
    // API 1.41 takes one endpoint config at create, the one for NetworkMode (more come with
    // network connect).
    json endpoint_config;
    json requested = body.contains("NetworkingConfig") && body["NetworkingConfig"].is_object()
                         ? body["NetworkingConfig"].value("EndpointsConfig", json::object())
                         : json::object();
    if (!requested.is_object() && !requested.is_null())
      return absl::InvalidArgumentError("invalid NetworkingConfig.EndpointsConfig: not an object");
    if (requested.is_null()) requested = json::object();
    std::vector<std::string> others;
    for (const auto& [key, config] : requested.items()) {
      // docker 25+ names the endpoint of the default network "default", as NetworkMode.
      absl::StatusOr<std::shared_ptr<Network>> named = FindNetworkLocked(key == "default" ? "bridge" : key);
      if (named.ok() && *named == net) {
        endpoint_config = config;
      } else {
        others.push_back(key);
      }
    }
    if (!others.empty())
      return absl::InvalidArgumentError(fmt::format(
          "Container cannot be connected to network endpoints: {}", absl::StrJoin(others, ", ")));
    LIMAN_ASSIGN_OR_RETURN(json endpoint, NewEndpointSettings(*net, "", endpoint_config));
    endpoints[net->name] = endpoint;
  }
  host_config["NetworkMode"] = network_mode;
  // moby's default IPC mode: a namespace and /dev/shm of its own that no container can join.
  if (StringMember(host_config, "IpcMode").empty()) host_config["IpcMode"] = "private";
  // moby's default cgroup namespace mode: private where the host's cgroups are unified (v2),
  // host on v1 and hybrid hosts.
  if (StringMember(host_config, "CgroupnsMode").empty()) {
    static const std::string kDefaultCgroupnsMode = DefaultCgroupnsMode();  // the host's layout stays
    host_config["CgroupnsMode"] = kDefaultCgroupnsMode;
  }
  LIMAN_RETURN_IF_ERROR(ValidatePortBindings(host_config));
  LIMAN_ASSIGN_OR_RETURN(RestartPolicy restart_policy, ParseRestartPolicy(host_config));
  if (restart_policy.kind != RestartPolicy::Kind::kNo && host_config.value("AutoRemove", false))
    return absl::InvalidArgumentError("conflicting options: cannot use auto-remove and restart policy");

  std::string runtime = RuntimeFor(host_config);
  if (runtime.empty())
    return absl::InvalidArgumentError(fmt::format("Unknown runtime specified {}", host_config.value("Runtime", "")));

  absl::StatusOr<containerd::remotes::Reference> reference = containerd::remotes::ParseReference(image_ref);
  if (!reference.ok()) return absl::InvalidArgumentError(std::string(reference.status().message()));
  absl::StatusOr<ctr::LoadedImage> image = ctr::LoadImage(*client_, reference->String(), "", ctr::kDefaultSnapshotter);
  if (!image.ok()) {
    if (image.status().code() == absl::StatusCode::kNotFound)
      return absl::NotFoundError(fmt::format("No such image: {}", containerd::remotes::FamiliarString(*reference)));
    return image.status();
  }

  std::string id = RandomHexId();
  // dockerd makes the short id an alias on user-defined networks (see NewEndpointSettings).
  if (endpoints.contains(network_mode))
    if (json& aliases = endpoints[network_mode]["Aliases"]; aliases.is_array()) aliases.push_back(id.substr(0, 12));
  json config = body;
  config.erase("HostConfig");
  config.erase("NetworkingConfig");
  config = MergeImageConfig(image->config, config);
  std::string hostname = config.value("Hostname", "");
  if (network_donor) hostname = shared_hostname;
  if (hostname.empty()) hostname = network_mode == "host" ? "" : id.substr(0, 12);
  if (network_mode == "host") {
    char host_name[256] = {};
    ::gethostname(host_name, sizeof host_name - 1);
    hostname = host_name;
  }
  config["Hostname"] = hostname;
  config["Image"] = image_ref;

  {
    // The name is reserved from here until the record is stored (or the create fails), so two
    // creates running side by side cannot both take it.
    std::lock_guard lock(mu_);
    auto taken = [&](const std::string& candidate) {
      if (reserved_names_.count(candidate)) return true;
      for (const auto& [other_id, other] : containers_)
        if (other->name == candidate) return true;
      return false;
    };
    if (name.empty()) {
      // As moby's namesgenerator: a digit is appended once plain names keep colliding.
      for (int attempt = 0; name.empty() || taken(name); ++attempt)
        name = "/" + RandomName() + (attempt < 5 ? "" : std::to_string(attempt));
    } else if (taken(name)) {
      std::string holder = "a container being created";
      for (const auto& [other_id, other] : containers_)
        if (other->name == name) holder = other_id;
      return absl::AlreadyExistsError(fmt::format(
          "Conflict. The container name \"{}\" is already in use by container \"{}\". You have to remove (or "
          "rename) that container to be able to reuse that name.",
          name, holder));
    }
    reserved_names_.insert(name);
  }
  auto release_name = absl::MakeCleanup([&] {
    std::lock_guard lock(mu_);
    reserved_names_.erase(name);
  });
  LIMAN_RETURN_IF_ERROR(RegisterLinks(name, host_config));

  // hostname, hosts and resolv.conf are written at start (WriteEtcFiles); their errors (a bad
  // --add-host, --dns) are reported here, as dockerd does.
  LIMAN_RETURN_IF_ERROR(
      HostsFile("", hostname, StringList(host_config.value("ExtraHosts", json())), HostGateway()).status());
  LIMAN_RETURN_IF_ERROR(ResolvConfFor(host_config).status());
  std::string dir = ContainerDir(id);
  if (etc_files_dir.empty()) etc_files_dir = dir;
  LIMAN_RETURN_IF_ERROR(MkdirAll(dir, 0710));
  auto remove_dir = absl::MakeCleanup([&] { (void)RemoveAll(dir); });
  // The log exists from the start, so an attach before start holds it open: a container that
  // is auto-removed right after its exit cannot take its output away from the attach. Empty, it
  // needs no fsync; the shim creates it again if a crash took it.
  LIMAN_RETURN_IF_ERROR(ReplaceFile(dir + "/" + id + "-json.log", "", 0640));

  json spec_host_config = host_config;
  json mounts;
  std::vector<VolumeCopyUp> copy_up;
  std::string shm_path;
  if (StringMember(host_config, "IpcMode") == "shareable") shm_path = ShmPath(dir);
  {
    std::lock_guard lock(mu_);
    // A namespace of another container: it must exist now; it must run when this one starts.
    for (const NamespaceMode& mode : kNamespaceModes) {
      std::optional<std::string> other = ModeContainer(StringMember(host_config, mode.field));
      if (!other) continue;
      LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> donor, FindLocked(*other));
      // Its /dev/shm too (JoinContainerNamespaces refuses a donor that does not share it).
      if (std::string_view(mode.type) == "ipc")
        shm_path = donor->record["HostConfig"].value("IpcMode", "") == "host" ? "/dev/shm" : ShmPath(ContainerDir(donor->id));
    }
    LIMAN_ASSIGN_OR_RETURN(mounts, ResolveVolumeMountsLocked(spec_host_config, config, &copy_up));
  }
  DockerSpecInputs inputs;
  inputs.id = id;
  inputs.hostname = hostname;
  inputs.image = image->config;
  inputs.config = config;
  inputs.host_config = spec_host_config;
  inputs.cgroup_parent = options_.cgroup_parent;
  inputs.etc_files_dir = etc_files_dir;
  inputs.shm_path = shm_path;
  if (JoinsBridgeNetworks(network_mode)) inputs.netns_path = NetnsPath(id);
  // HostConfig.Init: true or false as asked, null for the daemon's --init.
  const json& init = host_config.value("Init", json());
  if (init.is_boolean() ? init.get<bool>() : options_.init) {
    LIMAN_ASSIGN_OR_RETURN(inputs.init_path, LookupInitPath(options_.init_path));
  }
  LIMAN_ASSIGN_OR_RETURN(nlohmann::ordered_json spec, DockerSpec(inputs));
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> args, ContainerArgs(config));

  ctr::ContainerRecordOptions record_options;
  record_options.id = id;
  record_options.runtime = runtime;
  record_options.spec = spec;
  record_options.complete_spec = [&](const std::vector<MountDescriptor>& rootfs, nlohmann::ordered_json& completed) {
    // As containerd's WithUsername: the snapshot mounted read-only for a moment.
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<TempMount> mounted,
                           TempMount::Mount(ReadOnlyMounts(rootfs), JoinPath(options_.exec_root, "mounts")));
    UniqueFd root(::open(mounted->dir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return ErrnoError(fmt::format("open {}", Quote(mounted->dir())));
    {
      // One copy-up at a time: two creates must not fill the same empty volume together.
      static std::mutex copying;
      std::lock_guard lock(copying);
      for (const VolumeCopyUp& volume : copy_up)
        LIMAN_RETURN_IF_ERROR(Annotate(CopyImagePathIntoVolume(root.get(), volume.destination, volume.volume_dir),
                                       fmt::format("copy the image's {} into its volume", volume.destination)));
    }
    return CompleteSpecUser(root.get(), config, spec_host_config, completed);
  };
  for (const auto& [key, value] : config["Labels"].items())
    if (value.is_string()) record_options.labels[key] = value.get<std::string>();
  LIMAN_RETURN_IF_ERROR(ctr::CreateContainerRecord(*client_, *image, record_options).status());

  auto container = std::make_shared<Container>();
  container->id = id;
  container->name = name;
  json log_config = host_config.value("LogConfig", json::object());
  if (!log_config.is_object() || log_config.value("Type", "").empty()) log_config = {{"Type", "json-file"}, {"Config", json::object()}};
  if (log_config.value("Type", "") != "json-file") {
    (void)ctr::DeleteContainerAndSnapshot(*client_, id);
    return absl::InvalidArgumentError(
        fmt::format("logging driver {} is not supported by limand (only json-file)", Quote(log_config.value("Type", ""))));
  }
  host_config["LogConfig"] = log_config;
  container->record = json{
      {"Id", id},
      {"Created", FormatLogTime(absl::Now())},
      {"Path", args.front()},
      {"Args", std::vector<std::string>(args.begin() + 1, args.end())},
      {"State",
       {{"Status", "created"},
        {"Running", false},
        {"Paused", false},
        {"Restarting", false},
        {"OOMKilled", false},
        {"Dead", false},
        {"Pid", 0},
        {"ExitCode", 0},
        {"Error", ""},
        {"StartedAt", kZeroTime},
        {"FinishedAt", kZeroTime}}},
      {"Image", image->resolved.config.digest},
      {"ResolvConfPath", etc_files_dir + "/resolv.conf"},
      {"HostnamePath", etc_files_dir + "/hostname"},
      {"HostsPath", etc_files_dir + "/hosts"},
      {"LogPath", dir + "/" + id + "-json.log"},
      {"Name", name},
      {"RestartCount", 0},
      {"Driver", "overlayfs"},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", nullptr},
      {"HostConfig", host_config},
      {"GraphDriver", {{"Name", "overlayfs"}, {"Data", nullptr}}},
      {"Mounts", mounts},
      {"Config", config},
      {"NetworkSettings",
       {{"Bridge", ""},
        {"SandboxID", ""},
        {"HairpinMode", false},
        {"Ports", json::object()},
        {"SandboxKey", ""},
        {"Networks", endpoints}}},
  };
  std::move(release_name).Cancel();
  std::lock_guard lock(mu_);
  reserved_names_.erase(name);  // in the same critical section as the record that takes it over
  absl::Status inserted = store_->Insert(StoredContainer{id, name, container->record});
  if (!inserted.ok()) {
    (void)ctr::DeleteContainerAndSnapshot(*client_, id);
    return inserted;
  }
  std::move(remove_dir).Cancel();
  containers_[id] = container;
  ContainerEventLocked(*container, "create");
  return json{{"Id", id}, {"Warnings", json::array()}};
}

absl::StatusOr<std::string> Daemon::ResolvConfFor(const json& host_config) const {
  DnsSettings dns{.servers = DnsServersFor(host_config),
                  .search = StringList(host_config.value("DnsSearch", json())),
                  .options = StringList(host_config.value("DnsOptions", json()))};
  std::string host_resolv_conf = ReadFile("/etc/resolv.conf").value_or("");
  if (UsesEmbeddedDns(host_config.value("NetworkMode", "")))
    return EmbeddedDnsResolvConf(host_resolv_conf, dns, network::kEmbeddedDnsAddress);
  return ContainerResolvConf(host_resolv_conf, dns);
}

// As dockerd, the files are made again at every start (the hosts file names the address the
// container has now). That is why they are replaced without fsync: a crash of limand loses
// nothing (the page cache stays), and a crash of the host stops every container, so a file lost
// with it is written again before its container runs again. Renamed into place, so a running
// container never reads half a file.
absl::Status Daemon::WriteEtcFiles(const json& record, const std::string& address,
                                  const std::vector<std::string>& link_hosts) const {
  const json& host_config = record["HostConfig"];
  std::string hostname = record["Config"].value("Hostname", "");
  LIMAN_RETURN_IF_ERROR(ReplaceFile(record.value("HostnamePath", ""), hostname + "\n", 0644));
  std::vector<std::string> extra_hosts = link_hosts;
  for (std::string& entry : StringList(host_config.value("ExtraHosts", json()))) extra_hosts.push_back(std::move(entry));
  LIMAN_ASSIGN_OR_RETURN(std::string hosts, HostsFile(address, hostname, extra_hosts, HostGateway()));
  LIMAN_RETURN_IF_ERROR(ReplaceFile(record.value("HostsPath", ""), hosts, 0644));
  LIMAN_ASSIGN_OR_RETURN(std::string resolv_conf, ResolvConfFor(host_config));
  return ReplaceFile(record.value("ResolvConfPath", ""), resolv_conf, 0644);
}

absl::Status Daemon::JoinContainerNamespaces(Container& container) {
  struct Join {
    std::string type;
    int64_t pid;
  };
  std::vector<Join> joins;
  {
    std::lock_guard lock(mu_);
    const json& host = container.record["HostConfig"];
    for (const NamespaceMode& mode : kJoinableModes) {
      std::optional<std::string> ref = ModeContainer(StringMember(host, mode.field));
      if (!ref) continue;
      LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> other, FindLocked(*ref));
      if (!other->Running() || other->record["State"].value("Pid", int64_t{0}) <= 0)
        return absl::FailedPreconditionError(fmt::format("cannot join {} of a non running container: {}", mode.word, *ref));
      if (other->id == container.id)
        return absl::InvalidArgumentError(fmt::format("cannot join own {} namespace", mode.word));
      std::string other_ipc = other->record["HostConfig"].value("IpcMode", "");
      if (std::string_view(mode.type) == "ipc" && other_ipc != "shareable" && other_ipc != "host")
        return absl::FailedPreconditionError(fmt::format(
            "can't join IPC of container {}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)", *ref));
      joins.push_back({mode.type, other->record["State"].value("Pid", int64_t{0})});
    }
  }
  if (joins.empty()) return absl::OkStatus();
  return UpdateStoredSpec(container.id, [&](nlohmann::ordered_json& spec) {
    for (const Join& join : joins)
      for (nlohmann::ordered_json& ns : spec["linux"]["namespaces"])
        if (ns.value("type", "") == join.type)  // proc(5): the OCI "network" namespace is ns/net
          ns["path"] = fmt::format("/proc/{}/ns/{}", join.pid, join.type == "network" ? "net" : join.type);
  });
}

absl::Status Daemon::CreateTask(Container& container) {
  const json& host_config = container.record["HostConfig"];
  std::string log_uri = "json-file://" + container.record["LogPath"].get<std::string>();
  std::vector<std::string> log_options;
  const json& log_config = host_config["LogConfig"].value("Config", json::object());
  for (const char* key : {"max-size", "max-file"})
    if (log_config.contains(key) && log_config[key].is_string())
      log_options.push_back(fmt::format("{}={}", key, log_config[key].get<std::string>()));
  if (!log_options.empty()) log_uri += "?" + absl::StrJoin(log_options, "&");

  ctr::TaskStdio stdio;
  stdio.stdout_uri = log_uri;
  stdio.stderr_uri = container.Tty() ? "" : log_uri;
  stdio.terminal = container.Tty();
  if (container.record["Config"].value("OpenStdin", false)) {
    std::lock_guard lock(mu_);
    LIMAN_RETURN_IF_ERROR(OpenStdinLocked(container));
    stdio.stdin_uri = container.stdin_fifo;
  }
  {
    std::lock_guard lock(mu_);
    LIMAN_RETURN_IF_ERROR(MountVolumesLocked(container));
  }
  if (host_config.value("IpcMode", "") == "shareable") {
    int64_t size = IntMember(host_config, "ShmSize");
    LIMAN_RETURN_IF_ERROR(MountShm(ShmPath(ContainerDir(container.id)), size > 0 ? size : kDefaultShmSize));
  }
  if (std::string mode = host_config.value("NetworkMode", ""); JoinsBridgeNetworks(mode)) {
    if (mode == "bridge") LIMAN_RETURN_IF_ERROR(PrepareLinks(container));
    LIMAN_RETURN_IF_ERROR(ConnectBridge(container));  // writes the files, naming the address
  } else if (!ModeContainer(mode)) {  // with container:NAME the files are that container's
    json record;
    {
      std::lock_guard lock(mu_);
      record = container.record;
    }
    LIMAN_RETURN_IF_ERROR(WriteEtcFiles(record, ""));
  }
  LIMAN_RETURN_IF_ERROR(JoinContainerNamespaces(container));
  containers::Container proto;
  proto.set_id(container.id);
  proto.set_snapshotter(ctr::kDefaultSnapshotter);
  proto.set_snapshot_key(container.id);
  LIMAN_ASSIGN_OR_RETURN(tasks::CreateTaskResponse created, ctr::CreateTask(*client_, proto, stdio));
  absl::Status started = ctr::StartProcess(*client_, container.id, "");
  if (!started.ok()) {
    (void)ctr::DeleteProcess(*client_, container.id, "");
    return started;
  }
  std::unique_lock lock(mu_);
  json& state = container.record["State"];
  state["Status"] = "running";
  state["Running"] = true;
  state["Restarting"] = false;
  state["Paused"] = false;
  state["Pid"] = created.pid();
  state["ExitCode"] = 0;
  state["Error"] = "";
  state["StartedAt"] = FormatLogTime(absl::Now());
  state["FinishedAt"] = kZeroTime;
  // Each run's health starts over (moby keeps the last results in the log).
  if (ParseHealthConfig(container.record["Config"]))
    state["Health"] = StartingHealth(state.value("Health", json()));
  else
    state.erase("Health");
  absl::Status saved = SaveLocked(container);
  bool close_stdin = std::exchange(container.close_stdin_on_start, false);
  lock.unlock();
  if (close_stdin) (void)CloseTaskStdin(container.id);
  return saved;
}

absl::Status Daemon::RegisterLinks(const std::string& name, json& host_config) {
  std::vector<std::string> links = StringList(host_config.value("Links", json()));
  if (links.empty()) return absl::OkStatus();
  static constexpr char kHostConflict[] =
      "conflicting options: host type networking can't be used with links. This would result in undefined behavior";
  std::string mode = host_config.value("NetworkMode", "");
  if (mode == "host") return absl::InvalidArgumentError(kHostConflict);
  // On a user-defined network moby makes links aliases of its DNS; names resolve there anyway.
  if (mode != "bridge") return absl::OkStatus();
  json registered = json::array();
  std::lock_guard lock(mu_);
  for (const std::string& text : links) {
    LIMAN_ASSIGN_OR_RETURN(LinkSpec link, ParseLink(text));
    absl::StatusOr<std::shared_ptr<Container>> child = FindLocked(link.name);
    // Invalid, not "not found": a 404 would send the docker CLI to pull the image.
    if (!child.ok())
      return absl::InvalidArgumentError(fmt::format("could not get container for {}: {}", link.name, child.status().message()));
    if ((*child)->record["HostConfig"].value("NetworkMode", "") == "host") return absl::InvalidArgumentError(kHostConflict);
    registered.push_back(fmt::format("{}:{}/{}", (*child)->name, name, link.alias));
  }
  host_config["Links"] = registered;
  return absl::OkStatus();
}

absl::Status Daemon::PrepareLinks(Container& container) {
  std::vector<std::string> hosts, env, aliases, own_env;
  {
    std::lock_guard lock(mu_);
    for (const std::string& text : StringList(container.record["HostConfig"].value("Links", json()))) {
      LIMAN_ASSIGN_OR_RETURN(LinkSpec link, ParseLink(text));
      std::string link_name = container.name + "/" + link.alias;
      absl::StatusOr<std::shared_ptr<Container>> child = FindLocked(link.name);
      if (!child.ok() || !(*child)->Running())
        return absl::FailedPreconditionError(
            fmt::format("Cannot link to a non running container: /{} AS {}", link.name, link_name));
      const json& child_record = (*child)->record;
      const json& endpoint = Member(Member(Member(child_record, "NetworkSettings"), "Networks"), "bridge");
      std::string address = endpoint.is_object() ? endpoint.value("IPAddress", "") : "";
      std::string child_name = (*child)->name.substr(1);
      // moby: the alias, the linked container's hostname, and its name if the alias is another.
      std::string names = link.alias + " " + child_record["Config"].value("Hostname", "");
      if (link.alias != child_name) names += " " + child_name;
      if (!address.empty()) hosts.push_back(names + "=" + address);
      LinkedContainer linked{link_name, link.alias, address, {}, StringList(child_record["Config"].value("Env", json()))};
      const json& exposed = Member(child_record["Config"], "ExposedPorts");
      if (exposed.is_object())
        for (const auto& [port, unused] : exposed.items()) linked.exposed_ports.push_back(port);
      for (std::string& entry : LinkEnvironment(linked)) env.push_back(std::move(entry));
      aliases.push_back(link.alias);
    }
    container.link_hosts = hosts;
    if (aliases.empty()) return absl::OkStatus();
    own_env = StringList(container.record["Config"].value("Env", json()));
    container.spec_process.reset();  // its environment changes below
  }
  return UpdateStoredSpec(container.id, [&](nlohmann::ordered_json& spec) {
    std::vector<std::string> current = spec["process"].value("env", std::vector<std::string>());
    spec["process"]["env"] = WithLinkEnvironment(current, own_env, aliases, env);
  });
}

void Daemon::ReleaseTaskResourcesLocked(Container& container) {
  DisconnectBridgeLocked(container);
  UnmountVolumesLocked(container);
  if (container.record["HostConfig"].value("IpcMode", "") != "shareable") return;
  if (absl::Status unmounted = UnmountShm(ShmPath(ContainerDir(container.id))); !unmounted.ok())
    LogWarn("container {}: {}", container.id, unmounted);
}

absl::StatusOr<bool> Daemon::StartContainer(const std::string& ref) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::lock_guard lifecycle(container->lifecycle);
  {
    std::lock_guard lock(mu_);
    if (container->removed) return absl::NotFoundError(fmt::format("No such container: {}", ref));
    if (container->Running() || container->Restarting() || container->monitored) return false;
    // As moby's containerStart(resetRestartManager): a start by hand begins the restart
    // policy's count and backoff again, and is no longer a manual stop.
    container->manually_stopped = false;
    container->record["RestartCount"] = 0;
    container->backoff.Reset();
  }
  LIMAN_RETURN_IF_ERROR(RunTask(container));
  return true;
}

absl::Status Daemon::RunTask(const std::shared_ptr<Container>& container) {
  {
    std::lock_guard lock(mu_);
    container->exit_on_next = false;  // left from a stop whose signal found no task
  }
  absl::Status created = CreateTask(*container);
  std::unique_lock lock(mu_);
  if (!created.ok()) {
    // As dockerd: the error is recorded with the exit code the CLI would give it, streams
    // attached to this start end (an exit for waiters), and AutoRemove applies.
    json& state = container->record["State"];
    std::string message(created.message());
    state["Error"] = message;
    state["Running"] = false;
    state["Restarting"] = false;
    state["Status"] = "exited";
    bool not_found = message.find("no such file") != std::string::npos || message.find("not found") != std::string::npos;
    state["ExitCode"] = not_found ? 127 : message.find("permission denied") != std::string::npos ? 126 : 128;
    if (container->stdin_fd >= 0) {
      ::close(container->stdin_fd);
      container->stdin_fd = -1;
    }
    ReleaseTaskResourcesLocked(*container);
    container->exits++;
    (void)SaveLocked(*container);
    changed_.notify_all();
    if (container->record["HostConfig"].value("AutoRemove", false)) (void)RemoveLocked(lock, container, true);
    return created;
  }
  StartMonitorLocked(container);
  ContainerEventLocked(*container, "start");
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Daemon::KillTask(const std::string& id, int signal) {
  return ctr::KillProcess(*client_, id, "", signal, /*all=*/false);
}

absl::StatusOr<bool> Daemon::StopContainer(const std::string& ref, std::optional<int> timeout, const std::string& signal) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::lock_guard lifecycle(container->lifecycle);
  std::unique_lock lock(mu_);
  container->manually_stopped = container->manually_stopped || container->Running() || container->Restarting();
  if (container->Restarting()) {
    CancelRestartLocked(*container);  // nothing to signal: the pending restart is called off
    return true;
  }
  if (!container->Running()) return false;
  const json& config = container->record["Config"];
  LIMAN_ASSIGN_OR_RETURN(int stop_signal, signal.empty() ? StopSignalOf(config) : SignalNumber(signal, SIGTERM));
  int seconds = timeout.value_or(config.contains("StopTimeout") && config["StopTimeout"].is_number_integer()
                                     ? config["StopTimeout"].get<int>()
                                     : 10);
  uint64_t exits = container->exits;
  container->exit_on_next = true;
  (void)SaveLocked(*container);  // manually_stopped, which unless-stopped reads after a reboot
  ContainerEventLocked(*container, "kill", {{"signal", std::to_string(stop_signal)}});
  lock.unlock();
  // A paused container cannot act on the signal; it is resumed after the signal is queued.
  absl::Status signalled = KillTask(container->id, stop_signal);
  if (container->record["State"].value("Paused", false)) (void)PauseContainer(container->id, false);
  lock.lock();
  absl::Time deadline = seconds < 0 ? absl::InfiniteFuture() : absl::Now() + absl::Seconds(seconds);
  if (!signalled.ok() || !WaitExitLocked(lock, *container, exits, deadline)) {
    ContainerEventLocked(*container, "kill", {{"signal", std::to_string(SIGKILL)}});
    lock.unlock();
    (void)KillTask(container->id, SIGKILL);
    lock.lock();
    if (!WaitExitLocked(lock, *container, exits, absl::Now() + absl::Seconds(30)))
      return absl::DeadlineExceededError(fmt::format("container {} did not exit within 30 s of SIGKILL", container->id));
  }
  ContainerEventLocked(*container, "stop");
  return true;
}

absl::Status Daemon::KillContainer(const std::string& ref, const std::string& signal) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  LIMAN_ASSIGN_OR_RETURN(int number, SignalNumber(signal, SIGKILL));
  std::unique_lock lock(mu_);
  if (!container->Running() && !container->Restarting())
    return absl::FailedPreconditionError(fmt::format("Cannot kill container: {}: Container {} is not running", ref, container->id));
  // As moby's killWithSignal: SIGKILL, the configured stop signal, or any signal when none is
  // configured ends the restarts; every kill counts as a manual stop (unless-stopped).
  const json& config = container->record["Config"];
  bool exit_on_next = number == SIGKILL || config.value("StopSignal", "").empty();
  if (!exit_on_next) {
    absl::StatusOr<int> configured = StopSignalOf(config);
    exit_on_next = configured.ok() && *configured == number;
  }
  container->manually_stopped = true;
  if (container->Restarting()) {
    // No task to signal; the pending restart goes ahead unless the signal ends restarts.
    if (exit_on_next) {
      CancelRestartLocked(*container);
      return absl::OkStatus();
    }
    return SaveLocked(*container);
  }
  container->exit_on_next = container->exit_on_next || exit_on_next;
  (void)SaveLocked(*container);
  uint64_t exits = container->exits;
  ContainerEventLocked(*container, "kill", {{"signal", std::to_string(number)}});
  lock.unlock();
  LIMAN_RETURN_IF_ERROR(KillTask(container->id, number));
  lock.lock();
  // After SIGKILL the container is reported gone once it is (docker kill; docker ps agrees).
  if (number == SIGKILL) WaitExitLocked(lock, *container, exits, absl::Now() + absl::Seconds(10));
  return absl::OkStatus();
}

absl::Status Daemon::RestartContainer(const std::string& ref, std::optional<int> timeout) {
  LIMAN_RETURN_IF_ERROR(StopContainer(ref, timeout, "").status());
  LIMAN_RETURN_IF_ERROR(StartContainer(ref).status());
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::lock_guard lock(mu_);
  ContainerEventLocked(*container, "restart");
  return absl::OkStatus();
}

absl::Status Daemon::RenameContainer(const std::string& ref, const std::string& requested) {
  if (ref.empty() || requested.empty()) return absl::InvalidArgumentError("Neither old nor new names may be empty");
  LIMAN_RETURN_IF_ERROR(ValidateName(requested));
  std::string name = requested[0] == '/' ? requested : "/" + requested;
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::lock_guard lifecycle(container->lifecycle);
  std::lock_guard lock(mu_);
  if (container->name == name)
    return absl::InvalidArgumentError("Renaming a container with the same name as its current name");
  std::string holder = reserved_names_.count(name) ? "a container being created" : "";
  for (const auto& [other_id, other] : containers_)
    if (other->name == name) holder = other_id;
  if (!holder.empty())
    return absl::AlreadyExistsError(fmt::format(
        "Error when allocating new name: Conflict. The container name \"{}\" is already in use by container \"{}\". "
        "You have to remove (or rename) that container to be able to reuse that name.",
        name, holder));
  // The embedded DNS answers by container->name, so the new name resolves at once.
  std::string old_name = std::exchange(container->name, name);
  container->record["Name"] = name;
  if (absl::Status saved = SaveLocked(*container); !saved.ok()) {
    container->name = old_name;
    container->record["Name"] = old_name;
    return saved;
  }
  ContainerEventLocked(*container, "rename", {{"oldName", old_name}});
  return absl::OkStatus();
}

absl::Status Daemon::PauseContainer(const std::string& ref, bool pause) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  {
    std::lock_guard lock(mu_);
    if (container->Restarting())
      return absl::FailedPreconditionError(
          fmt::format("Container {} is restarting, wait until the container is running", container->id));
    if (!container->Running())
      return absl::FailedPreconditionError(fmt::format("Container {} is not running", container->id));
    bool paused = container->record["State"].value("Paused", false);
    if (pause && paused) return absl::FailedPreconditionError(fmt::format("Container {} is already paused", container->id));
    if (!pause && !paused) return absl::FailedPreconditionError(fmt::format("Container {} is not paused", container->id));
  }
  grpc::Status status;
  google::protobuf::Empty empty;
  auto context = client_->Context();
  if (pause) {
    tasks::PauseTaskRequest request;
    request.set_container_id(container->id);
    status = client_->Tasks().Pause(context.get(), request, &empty);
  } else {
    tasks::ResumeTaskRequest request;
    request.set_container_id(container->id);
    status = client_->Tasks().Resume(context.get(), request, &empty);
  }
  if (!status.ok()) return ctr::CallError(status, fmt::format("{} container {}", pause ? "pause" : "unpause", container->id));
  std::lock_guard lock(mu_);
  json& state = container->record["State"];
  state["Paused"] = pause;
  state["Status"] = pause ? "paused" : "running";
  ContainerEventLocked(*container, pause ? "pause" : "unpause");
  return SaveLocked(*container);
}

absl::StatusOr<WaitResult> Daemon::WaitContainer(const std::string& ref, const std::string& condition,
                                                 const std::function<bool()>& cancelled) {
  if (!condition.empty() && condition != "not-running" && condition != "next-exit" && condition != "removed")
    return absl::InvalidArgumentError(fmt::format("invalid condition: {}", Quote(condition)));
  std::unique_lock lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, FindLocked(ref));
  uint64_t exits = container->exits;
  auto done = [&] {
    if (condition == "removed") return container->removed;
    if (condition == "next-exit") return container->exits != exits || container->removed;
    // Each exit ends the wait, also one after which the container is restarting (moby's
    // SetRestarting fires the stop waiters).
    return (!container->Running() && !container->Restarting()) || container->exits != exits || container->removed;
  };
  while (!done()) {
    changed_.wait_for(lock, std::chrono::milliseconds(200));
    if (cancelled()) return absl::CancelledError("the client went away");
  }
  const json& state = container->record["State"];
  WaitResult result;
  result.status_code = state.value("ExitCode", 0);
  result.error = state.value("Error", "");
  return result;
}

absl::Status Daemon::RemoveLocked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Container>& container,
                                  bool remove_volumes, bool task_deleted) {
  const std::string id = container->id;
  if (!task_deleted) {
    absl::StatusOr<uint32_t> task = ctr::DeleteProcess(*client_, id, "");
    if (!task.ok() && task.status().code() != absl::StatusCode::kNotFound) return task.status();
  }
  // limand's containers hold the snapshot CreateContainerRecord prepared: the default
  // snapshotter's, keyed by the container id (CreateTask mounts the same).
  absl::Status deleted = ctr::DeleteContainerAndSnapshot(*client_, id, ctr::kDefaultSnapshotter, id);
  if (!deleted.ok() && deleted.code() != absl::StatusCode::kNotFound) return deleted;
  LIMAN_RETURN_IF_ERROR(store_->Delete(id));
  ReleaseTaskResourcesLocked(*container);
  (void)RemoveAll(ContainerDir(id));
  (void)RemoveAll(options_.exec_root + "/containers/" + id);
  if (container->stdin_fd >= 0) {
    ::close(container->stdin_fd);
    container->stdin_fd = -1;
  }
  container->removed = true;
  ContainerEventLocked(*container, "destroy");
  containers_.erase(id);
  if (remove_volumes) RemoveAnonymousVolumesLocked(*container);
  changed_.notify_all();
  return absl::OkStatus();
}

absl::Status Daemon::RemoveContainer(const std::string& ref, bool force, bool remove_volumes) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  std::lock_guard lifecycle(container->lifecycle);
  std::unique_lock lock(mu_);
  if (container->removed) return absl::NotFoundError(fmt::format("No such container: {}", ref));
  if ((container->Running() || container->Restarting()) && !force) {
    std::string status = container->record["State"].value("Status", "running");
    return absl::FailedPreconditionError(fmt::format(
        "You cannot remove a {} container {}. {} the container before attempting removal or force remove", status,
        container->id, status == "paused" ? "Unpause and then stop" : "Stop"));
  }
  CancelRestartLocked(*container);
  if (container->Running()) {
    uint64_t exits = container->exits;
    ContainerEventLocked(*container, "kill", {{"signal", std::to_string(SIGKILL)}});
    lock.unlock();
    (void)KillTask(container->id, SIGKILL);
    if (container->record["State"].value("Paused", false)) (void)PauseContainer(container->id, false);
    lock.lock();
    if (!WaitExitLocked(lock, *container, exits, absl::Now() + absl::Seconds(30)))
      return absl::DeadlineExceededError(fmt::format("container {} did not exit within 30 s of SIGKILL", container->id));
    if (container->removed) return absl::OkStatus();  // AutoRemove got there first
  }
  return RemoveLocked(lock, container, remove_volumes);
}

absl::StatusOr<json> Daemon::InspectContainer(const std::string& ref) {
  std::lock_guard lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, FindLocked(ref));
  return container->record;
}

absl::StatusOr<json> Daemon::ListContainers(bool all, int limit, const json& filters) {
  std::vector<std::string> statuses = FilterValues(filters, "status");
  std::vector<std::string> names = FilterValues(filters, "name");
  std::vector<std::string> ids = FilterValues(filters, "id");
  std::vector<std::string> healths = FilterValues(filters, "health");
  for (const std::string& health : healths)
    if (health != "starting" && health != "healthy" && health != "unhealthy" && health != "none")
      return absl::InvalidArgumentError(fmt::format(
          "Unrecognised filter value for health: {}", health));
  if (!statuses.empty()) all = true;
  std::vector<json> rows;
  std::lock_guard lock(mu_);
  for (const auto& [id, container] : containers_) {
    const json& record = container->record;
    const json& state = record["State"];
    std::string status = state.value("Status", "created");
    if (!all && !container->Running() && !container->Restarting()) continue;
    if (!statuses.empty() && std::find(statuses.begin(), statuses.end(), status) == statuses.end()) continue;
    if (!names.empty() && std::none_of(names.begin(), names.end(), [&](const std::string& name) {
          return container->name.find(name) != std::string::npos;
        }))
      continue;
    if (!ids.empty() && std::none_of(ids.begin(), ids.end(), [&](const std::string& prefix) { return id.rfind(prefix, 0) == 0; }))
      continue;
    // health=none: no healthcheck (moby's filter looks at the status, "none" without one).
    std::string health = state.contains("Health") && state["Health"].is_object() ? state["Health"].value("Status", "none") : "none";
    if (!healths.empty() && std::find(healths.begin(), healths.end(), health) == healths.end()) continue;
    const json& container_labels = record["Config"].value("Labels", json::object());
    if (!LabelFiltersMatch(container_labels, filters)) continue;
    std::vector<std::string> command = {record.value("Path", "")};
    for (const json& arg : record["Args"]) command.push_back(arg.get<std::string>());
    rows.push_back(json{
        {"Id", id},
        {"Names", json::array({container->name})},
        {"Image", record["Config"].value("Image", "")},
        {"ImageID", record.value("Image", "")},
        {"Command", absl::StrJoin(command, " ")},
        {"Created", absl::ToUnixSeconds(ParseRecordTime(record["Created"]))},
        {"Ports", PortsForList(record["NetworkSettings"])},
        {"Labels", container_labels},
        {"State", status},
        {"Status", StatusText(state)},
        {"HostConfig", {{"NetworkMode", record["HostConfig"].value("NetworkMode", "")}}},
        {"NetworkSettings", {{"Networks", record["NetworkSettings"].value("Networks", json::object())}}},
        {"Mounts", json::array()},
    });
  }
  // Newest first, as docker ps.
  std::sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
    return a["Created"].get<int64_t>() != b["Created"].get<int64_t>() ? a["Created"].get<int64_t>() > b["Created"].get<int64_t>()
                                                                       : a["Id"].get<std::string>() < b["Id"].get<std::string>();
  });
  if (limit > 0 && static_cast<int>(rows.size()) > limit) rows.resize(static_cast<size_t>(limit));
  return json(rows);
}

absl::Status Daemon::ResizeContainer(const std::string& ref, const std::string& exec_id, uint32_t width, uint32_t height) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  tasks::ResizePtyRequest request;
  request.set_container_id(container->id);
  request.set_exec_id(exec_id);
  request.set_width(width);
  request.set_height(height);
  google::protobuf::Empty empty;
  auto context = client_->Context();
  grpc::Status status = client_->Tasks().ResizePty(context.get(), request, &empty);
  if (!status.ok()) return ctr::CallError(status, fmt::format("resize the terminal of {}", container->id));
  return absl::OkStatus();
}

absl::StatusOr<json> Daemon::ContainerTop(const std::string& ref) {
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, Find(ref));
  if (container->Restarting())
    return absl::FailedPreconditionError(
        fmt::format("Container {} is restarting, wait until the container is running", container->id));
  if (!container->Running())
    return absl::FailedPreconditionError(fmt::format("Container {} is not running", container->id));
  tasks::ListPidsRequest request;
  request.set_container_id(container->id);
  tasks::ListPidsResponse response;
  auto context = client_->Context();
  grpc::Status status = client_->Tasks().ListPids(context.get(), request, &response);
  if (!status.ok()) return ctr::CallError(status, fmt::format("list the processes of {}", container->id));
  std::set<std::string> pids;
  for (const auto& process : response.processes()) pids.insert(std::to_string(process.pid()));
  // moby runs ps -ef on the host and keeps the container's rows.
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoError("pipe");
  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork ps");
  if (child == 0) {
    ::dup2(out[1], 1);
    ::execl("/bin/ps", "ps", "-ef", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string text;
  char buffer[8192];
  for (ssize_t n; (n = ::read(out[0], buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(n));
  ::close(out[0]);
  int wait_status = 0;
  ::waitpid(child, &wait_status, 0);
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  if (lines.empty()) return absl::InternalError("ps -ef printed nothing");
  std::vector<std::string> titles = absl::StrSplit(lines[0], ' ', absl::SkipEmpty());
  auto pid_column = std::find(titles.begin(), titles.end(), "PID");
  if (pid_column == titles.end()) return absl::InternalError("ps -ef printed no PID column");
  size_t pid_index = static_cast<size_t>(pid_column - titles.begin());
  json processes = json::array();
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> fields = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
    if (fields.size() < titles.size() || !pids.count(fields[pid_index])) continue;
    // The last column (CMD) keeps its spaces.
    std::vector<std::string> row(fields.begin(), fields.begin() + static_cast<long>(titles.size()) - 1);
    row.push_back(absl::StrJoin(fields.begin() + static_cast<long>(titles.size()) - 1, fields.end(), " "));
    processes.push_back(row);
  }
  return json{{"Titles", titles}, {"Processes", processes}};
}

absl::StatusOr<Daemon::LogSource> Daemon::ContainerLogSource(const std::string& ref) {
  std::lock_guard lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, FindLocked(ref));
  LogSource source;
  source.id = container->id;
  source.log_path = container->record.value("LogPath", "");
  source.tty = container->Tty();
  const json& config = container->record["Config"];
  source.open_stdin = config.value("OpenStdin", false);
  source.stdin_once = config.value("StdinOnce", false);
  const json& log_config = container->record["HostConfig"]["LogConfig"].value("Config", json::object());
  if (log_config.contains("max-file") && log_config["max-file"].is_string())
    source.max_files = std::max(1, std::atoi(log_config["max-file"].get<std::string>().c_str()));
  return source;
}

absl::Status Daemon::OpenStdinLocked(Container& container) {
  if (container.stdin_fd >= 0) return absl::OkStatus();
  std::string dir = options_.exec_root + "/containers/" + container.id;
  LIMAN_RETURN_IF_ERROR(MkdirAll(dir, 0700));
  container.stdin_fifo = dir + "/stdin";
  if (::mkfifo(container.stdin_fifo.c_str(), 0600) != 0 && errno != EEXIST)
    return ErrnoError(fmt::format("mkfifo {}", Quote(container.stdin_fifo)));
  // O_RDWR: opening does not wait for the shim, and the FIFO never reads as closed while we
  // hold it (fifo(7)); the task sees EOF only when told (CloseIO).
  int fd = ::open(container.stdin_fifo.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoError(fmt::format("open {}", Quote(container.stdin_fifo)));
  container.stdin_fd = fd;
  return absl::OkStatus();
}

absl::Status Daemon::WriteStdin(const std::string& id, std::string_view data) {
  int fd;
  {
    std::lock_guard lock(mu_);
    auto found = containers_.find(id);
    if (found == containers_.end() || !found->second->record["Config"].value("OpenStdin", false))
      return absl::FailedPreconditionError(fmt::format("container {} has no open stdin", id));
    LIMAN_RETURN_IF_ERROR(OpenStdinLocked(*found->second));
    fd = found->second->stdin_fd;
  }
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("write the stdin of {}", id));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status Daemon::CloseStdin(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto found = containers_.find(id);
    if (found == containers_.end()) return absl::OkStatus();
    if (!found->second->Running()) {
      found->second->close_stdin_on_start = true;
      return absl::OkStatus();
    }
  }
  return CloseTaskStdin(id);
}

absl::Status Daemon::CloseTaskStdin(const std::string& id) {
  tasks::CloseIORequest request;
  request.set_container_id(id);
  request.set_stdin(true);
  google::protobuf::Empty empty;
  auto context = client_->Context();
  grpc::Status status = client_->Tasks().CloseIO(context.get(), request, &empty);
  std::lock_guard lock(mu_);
  auto found = containers_.find(id);
  if (found != containers_.end() && found->second->stdin_fd >= 0) {
    ::close(found->second->stdin_fd);
    found->second->stdin_fd = -1;
  }
  if (!status.ok()) return ctr::CallError(status, fmt::format("close the stdin of {}", id));
  return absl::OkStatus();
}

}  // namespace liman::engine
