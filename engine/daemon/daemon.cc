// The engine's frame: start-up and reconciliation with the manager, container lookup and
// persistence, the per-task monitor, and the system endpoints' data.
#include "engine/daemon/daemon.h"

#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <set>
#include <thread>

#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/orlov_top_dir.h"
#include "common/status.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/run.h"
#include "engine/daemon/cgroup_parent.h"
#include "engine/daemon/etc_files.h"
#include "engine/daemon/init_binary.h"
#include "engine/http/router.h"
#include "fmt/format.h"

namespace liman::engine {

namespace containers = ::containerd::services::containers::v1;
namespace tasks = ::containerd::services::tasks::v1;
using nlohmann::json;

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  changed_.notify_all();
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(DaemonOptions options) {
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(options)));
  const DaemonOptions& o = daemon->options_;
  LIMAN_RETURN_IF_ERROR(MkdirAll(o.data_root + "/containers", 0710));
  // Each container's directory (hostname, hosts, resolv.conf, its log) goes to a block group of
  // its own, away from the inodes of containers removed before it (common/orlov_top_dir.h).
  MarkTopOfDirectoryHierarchies(o.data_root + "/containers");
  LIMAN_RETURN_IF_ERROR(MkdirAll(o.exec_root + "/containers", 0700));
  // Only a cost saved if it fails: the runtime makes what is missing (engine/daemon/cgroup_parent.h).
  if (absl::Status parent = MakeCgroupParent(o.cgroup_parent); !parent.ok()) LogWarn("{}", parent);
  if (absl::Status dns = ContainerResolvConf("", DnsSettings{.servers = o.dns}).status(); !dns.ok())
    return Annotate(dns, "--dns");
  LIMAN_ASSIGN_OR_RETURN(daemon->store_, EngineStore::Open(o.data_root + "/engine.db"));
  ctr::GlobalOptions client_options;
  client_options.address = o.containerd_address;
  client_options.namespace_name = o.containerd_namespace;
  daemon->client_ = std::make_unique<ctr::Client>(client_options);
  LIMAN_RETURN_IF_ERROR(daemon->LoadVolumes());
  LIMAN_RETURN_IF_ERROR(daemon->SetUpBridgeNetwork());
  LIMAN_RETURN_IF_ERROR(daemon->LoadNetworks());
  LIMAN_RETURN_IF_ERROR(daemon->Reconcile());
  {
    std::lock_guard lock(daemon->mu_);
    daemon->RestoreVolumeMountsLocked();
  }
  daemon->RestartByPolicyAtStartUp();
  return daemon;
}

std::string Daemon::ContainerDir(const std::string& id) const { return options_.data_root + "/containers/" + id; }

absl::Status Daemon::Reconcile() {
  LIMAN_ASSIGN_OR_RETURN(std::vector<StoredContainer> stored, store_->List());
  // The manager's containers in our namespace: one without a record of ours is a create that
  // did not finish (the record is written last), and is removed.
  containers::ListContainersRequest list;
  containers::ListContainersResponse listed;
  auto context = client_->Context();
  grpc::Status status = client_->Containers().List(context.get(), list, &listed);
  if (!status.ok()) return ctr::CallError(status, fmt::format("list containers of {}", options_.containerd_address));
  std::set<std::string> known;
  for (const StoredContainer& record : stored) known.insert(record.id);
  std::set<std::string> in_manager;
  for (const containers::Container& container : listed.containers()) {
    in_manager.insert(container.id());
    if (known.count(container.id())) continue;
    LogWarn("removing container {}, which limand never finished creating", container.id());
    (void)ctr::DeleteProcess(*client_, container.id(), "");
    (void)ctr::DeleteContainerAndSnapshot(*client_, container.id());
    (void)RemoveAll(ContainerDir(container.id()));
  }

  std::unique_lock lock(mu_);
  for (StoredContainer& record : stored) {
    auto container = std::make_shared<Container>();
    container->id = record.id;
    container->name = record.name;
    container->record = std::move(record.record);
    container->manually_stopped = record.manually_stopped;
    if (!in_manager.count(container->id)) {
      // Removed from the manager but not from our records: finish the removal.
      (void)store_->Delete(container->id);
      (void)RemoveAll(ContainerDir(container->id));
      continue;
    }
    containers_[container->id] = container;
    // A task that exists (running, paused or exited while we were away) gets its monitor,
    // which records the exit once there is one.
    tasks::GetRequest get;
    get.set_container_id(container->id);
    tasks::GetResponse task;
    auto get_context = client_->Context();
    grpc::Status got = client_->Tasks().Get(get_context.get(), get, &task);
    if (got.ok()) {
      json& state = container->record["State"];
      if (task.process().status() == ::containerd::v1::types::Status::RUNNING ||
          task.process().status() == ::containerd::v1::types::Status::PAUSED) {
        state["Running"] = true;
        state["Restarting"] = false;  // limand went away just after a restart's task started
        state["Paused"] = task.process().status() == ::containerd::v1::types::Status::PAUSED;
        state["Status"] = state["Paused"].get<bool>() ? "paused" : "running";
        state["Pid"] = task.process().pid();
      }
      if (container->record["Config"].value("OpenStdin", false)) container->stdin_fifo = options_.exec_root + "/containers/" + container->id + "/stdin";
      StartMonitorLocked(container);
      // Live restore: the namespace outlived limand, its DNS sockets did not.
      if (container->Running()) StartDnsLocked(*container);
    } else if (container->Restarting()) {
      // limand went away while a restart was pending: the exit it recorded stands, and
      // RestartByPolicyAtStartUp decides again.
      CancelRestartLocked(*container);
    } else if (container->Running()) {
      // Running by our record, but no task: it is gone and its exit status with it.
      json& state = container->record["State"];
      state["Running"] = false;
      state["Status"] = "exited";
      state["ExitCode"] = 255;
      state["Pid"] = 0;
      ReleaseTaskResourcesLocked(*container);  // its addresses and published ports are free again
      (void)SaveLocked(*container);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Container>> Daemon::FindLocked(const std::string& ref) {
  if (ref.empty()) return absl::NotFoundError("No such container: ");
  if (auto found = containers_.find(ref); found != containers_.end()) return found->second;
  std::string name = ref[0] == '/' ? ref : "/" + ref;
  for (const auto& [id, container] : containers_)
    if (container->name == name) return container;
  std::shared_ptr<Container> match;
  for (const auto& [id, container] : containers_) {
    if (id.compare(0, ref.size(), ref) != 0) continue;
    if (match)
      return absl::InvalidArgumentError(fmt::format("Multiple IDs found with provided prefix: {}", ref));
    match = container;
  }
  if (!match) return absl::NotFoundError(fmt::format("No such container: {}", ref));
  return match;
}

absl::StatusOr<std::shared_ptr<Container>> Daemon::Find(const std::string& ref) {
  std::lock_guard lock(mu_);
  return FindLocked(ref);
}

absl::Status Daemon::SaveLocked(const Container& container) {
  return store_->Update(StoredContainer{container.id, container.name, container.record, container.manually_stopped});
}

void Daemon::ContainerEventLocked(const Container& container, const std::string& action,
                                  std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> attributes;
  // As moby's LogContainerEventWithAttributes: the labels, then image and name over them.
  const json labels = container.record["Config"].value("Labels", json::object());
  if (labels.is_object())
    for (const auto& [key, value] : labels.items())
      if (value.is_string()) attributes[key] = value.get<std::string>();
  attributes["image"] = container.record["Config"].value("Image", "");
  attributes["name"] = container.name.substr(container.name.starts_with('/') ? 1 : 0);
  for (auto& [key, value] : extra) attributes[key] = std::move(value);
  events_.Publish(EngineEvent{"container", action, container.id, std::move(attributes), {}});
}

void Daemon::NetworkEvent(const std::string& action, const Network& net, const std::string& container_id) {
  events_.Publish(EngineEvent{"network", action, net.id, {{"container", container_id}, {"name", net.name}, {"type", "bridge"}}, {}});
}

void Daemon::StartMonitorLocked(const std::shared_ptr<Container>& container) {
  if (container->monitored) return;
  container->monitored = true;
  std::thread([this, container] { Monitor(container); }).detach();
  StartHealthMonitorLocked(container);
}

void Daemon::Monitor(std::shared_ptr<Container> container) {
  const std::string id = container->id;
  tasks::WaitResponse waited;
  bool found = true;
  // The manager may be away (restarting): keep asking until it answers (live restore).
  for (int attempt = 0;; ++attempt) {
    tasks::WaitRequest request;
    request.set_container_id(id);
    auto context = client_->Context(std::nullopt, /*no_deadline=*/true);
    grpc::Status status = client_->Tasks().Wait(context.get(), request, &waited);
    if (status.ok()) break;
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      found = false;
      break;
    }
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(attempt < 10 ? 100 : 500));
  }
  if (found) {
    for (int attempt = 0; attempt < 600; ++attempt) {
      absl::StatusOr<uint32_t> deleted = ctr::DeleteProcess(*client_, id, "");
      if (deleted.ok() || deleted.status().code() == absl::StatusCode::kNotFound) break;
      if (deleted.status().code() != absl::StatusCode::kUnavailable) {
        LogWarn("container {}: delete task: {}", id, deleted.status());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  std::unique_lock lock(mu_);
  json& state = container->record["State"];
  int64_t exit_code = found ? static_cast<int64_t>(waited.exit_status()) : 255;
  absl::Time exited = absl::Now();
  if (found && waited.has_exited_at())
    exited = absl::FromUnixSeconds(waited.exited_at().seconds()) + absl::Nanoseconds(waited.exited_at().nanos());
  // As moby's handleContainerExit: the restart manager decides unless this exit was asked for.
  std::optional<absl::Duration> restart_delay;
  absl::StatusOr<RestartPolicy> policy = ParseRestartPolicy(container->record["HostConfig"]);
  int64_t restart_count = container->record.value("RestartCount", int64_t{0});
  if (!std::exchange(container->exit_on_next, false) && !container->removed && !stopping_ && policy.ok())
    restart_delay = container->backoff.AfterExit(*policy, exit_code, container->manually_stopped, restart_count,
                                                 exited - ParseLogTime(state.value("StartedAt", ""), exited).value_or(exited));
  // While restarting Docker shows the container as running and restarting, without a pid.
  state["Running"] = restart_delay.has_value();
  state["Restarting"] = restart_delay.has_value();
  state["Paused"] = false;
  state["Status"] = restart_delay ? "restarting" : "exited";
  state["Pid"] = 0;
  state["ExitCode"] = exit_code;
  state["FinishedAt"] = FormatLogTime(exited);
  if (restart_delay) container->record["RestartCount"] = restart_count + 1;
  ContainerEventLocked(*container, "die", {{"exitCode", std::to_string(exit_code)}});
  if (container->stdin_fd >= 0) {
    ::close(container->stdin_fd);
    container->stdin_fd = -1;
  }
  ReleaseTaskResourcesLocked(*container);
  container->exits++;
  container->monitored = false;
  // An exit that auto-removal follows is not written first: the record goes a moment later, and
  // a crash in between finds the task gone on restart and removes the container then.
  bool auto_remove = !restart_delay && !container->removed && container->record["HostConfig"].value("AutoRemove", false);
  if (!container->removed && !auto_remove) {
    if (absl::Status saved = SaveLocked(*container); !saved.ok())
      LogError("container {}: record the exit: {}", id, saved);
  }
  changed_.notify_all();
  if (restart_delay) {
    ScheduleRestartLocked(container, *restart_delay);
    return;
  }
  if (auto_remove) {
    if (absl::Status removed = RemoveLocked(lock, container, /*remove_volumes=*/true, /*task_deleted=*/found);
        !removed.ok()) {
      LogError("container {}: auto-remove: {}", id, removed);
      if (absl::Status saved = SaveLocked(*container); !saved.ok())
        LogError("container {}: record the exit: {}", id, saved);
    }
  }
}

void Daemon::ScheduleRestartLocked(const std::shared_ptr<Container>& container, absl::Duration delay) {
  uint64_t generation = container->restart_generation;
  std::thread([this, container, generation, delay] {
    std::unique_lock lock(mu_);
    auto pending = [&] {
      return !stopping_ && !container->removed && container->restart_generation == generation && container->Restarting();
    };
    absl::Time deadline = absl::Now() + delay;
    while (pending() && absl::Now() < deadline)
      changed_.wait_for(lock, absl::ToChronoMilliseconds(deadline - absl::Now()) + std::chrono::milliseconds(1));
    if (!pending()) return;
    lock.unlock();
    // Stop, kill and rm hold the lifecycle lock while they cancel; once it is ours the restart
    // is either still pending or called off for good.
    std::lock_guard lifecycle(container->lifecycle);
    lock.lock();
    if (!pending()) return;
    lock.unlock();
    if (absl::Status started = RunTask(container); !started.ok())
      LogWarn("container {}: restart by its policy: {}", container->id, started);
  }).detach();
}

void Daemon::CancelRestartLocked(Container& container) {
  if (!container.Restarting()) return;
  container.restart_generation++;
  json& state = container.record["State"];
  state["Restarting"] = false;
  state["Running"] = false;
  state["Status"] = "exited";
  container.exits++;  // waiters for this container's stop see it now (moby's SetStopped)
  if (absl::Status saved = SaveLocked(container); !saved.ok())
    LogError("container {}: record the cancelled restart: {}", container.id, saved);
  changed_.notify_all();
}

void Daemon::RestartByPolicyAtStartUp() {
  std::vector<std::shared_ptr<Container>> due;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, container] : containers_) {
      const json& state = container->record["State"];
      // Never started (created) containers stay as they are, as in moby.
      if (container->Running() || container->monitored || state.value("StartedAt", "") == kZeroTime) continue;
      absl::StatusOr<RestartPolicy> policy = ParseRestartPolicy(container->record["HostConfig"]);
      if (policy.ok() && PolicyRestarts(*policy, state.value("ExitCode", int64_t{0}), container->manually_stopped,
                                        container->record.value("RestartCount", int64_t{0})))
        due.push_back(container);
    }
  }
  for (const std::shared_ptr<Container>& container : due) {
    std::lock_guard lifecycle(container->lifecycle);
    if (absl::Status started = RunTask(container); !started.ok())
      LogWarn("container {}: start by its restart policy: {}", container->id, started);
  }
}

bool Daemon::WaitExitLocked(std::unique_lock<std::mutex>& lock, const Container& container, uint64_t exits,
                            absl::Time deadline) {
  while (container.exits == exits && !container.removed) {
    if (deadline == absl::InfiniteFuture()) {
      changed_.wait(lock);
    } else {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      changed_.wait_for(lock, absl::ToChronoMilliseconds(left) + std::chrono::milliseconds(1));
    }
  }
  return true;
}

bool Daemon::ContainerActive(const std::string& id, bool include_created, uint64_t exits_seen) {
  std::lock_guard lock(mu_);
  auto found = containers_.find(id);
  if (found == containers_.end()) return false;
  const Container& container = *found->second;
  if (container.exits != exits_seen) return false;
  return container.Running() || include_created;
}

uint64_t Daemon::ContainerExits(const std::string& id) {
  std::lock_guard lock(mu_);
  auto found = containers_.find(id);
  return found == containers_.end() ? 0 : found->second->exits;
}

// ---- system ----

namespace {
std::string KernelRelease() {
  struct utsname name;
  return ::uname(&name) == 0 ? name.release : "";
}
std::string OperatingSystem() {
  absl::StatusOr<std::string> release = ReadFile("/etc/os-release");
  if (!release.ok()) return "linux";
  size_t at = release->find("PRETTY_NAME=\"");
  if (at == std::string::npos) return "linux";
  at += 13;
  return release->substr(at, release->find('"', at) - at);
}
}  // namespace

json Daemon::Version() {
  std::string kernel = KernelRelease();
  json engine{{"Name", "Engine"},
              {"Version", LIMAN_VERSION},
              {"Details",
               {{"ApiVersion", http::kMaxApiVersion},
                {"MinAPIVersion", http::kMinApiVersion},
                {"Os", "linux"},
                {"Arch", "amd64"},
                {"KernelVersion", kernel},
                {"GitCommit", ""},
                {"GoVersion", "n/a (C++)"},
                {"BuildTime", ""},
                {"Experimental", "false"}}}};
  return json{{"Platform", {{"Name", "Liman Engine"}}},
              {"Components", json::array({engine})},
              {"Version", LIMAN_VERSION},
              {"ApiVersion", http::kMaxApiVersion},
              {"MinAPIVersion", http::kMinApiVersion},
              {"GitCommit", ""},
              {"GoVersion", "n/a (C++)"},
              {"Os", "linux"},
              {"Arch", "amd64"},
              {"KernelVersion", kernel},
              {"BuildTime", ""}};
}

json Daemon::Info() {
  int running = 0, paused = 0, stopped = 0, total = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, container] : containers_) {
      ++total;
      const json& state = container->record["State"];
      if (state.value("Paused", false)) {
        ++paused;
      } else if (state.value("Running", false)) {
        ++running;
      } else {
        ++stopped;
      }
    }
  }
  int64_t images = 0;
  if (absl::StatusOr<json> list = ListImages(); list.ok()) images = static_cast<int64_t>(list->size());
  struct sysinfo system;
  ::sysinfo(&system);
  char hostname[256] = {};
  ::gethostname(hostname, sizeof hostname - 1);
  json runtimes = json::object();
  for (const auto& [name, shim] : options_.runtimes) runtimes[name] = {{"path", shim}};
  json insecure = json::array({"127.0.0.0/8"});
  json index_configs = json::object();
  for (const std::string& registry : options_.insecure_registries)
    index_configs[registry] = {{"Name", registry}, {"Mirrors", json::array()}, {"Secure", false}, {"Official", false}};
  return json{
      {"ID", ""},
      {"Containers", total},
      {"ContainersRunning", running},
      {"ContainersPaused", paused},
      {"ContainersStopped", stopped},
      {"Images", images},
      {"Driver", "overlayfs"},
      {"DriverStatus", json::array({json::array({"driver-type", "io.containerd.snapshotter.v1"})})},
      {"Plugins",
       {{"Volume", json::array()},
        {"Network", json::array({"bridge", "host", "null"})},
        {"Authorization", nullptr},
        {"Log", json::array({"json-file"})}}},
      {"MemoryLimit", true},
      {"SwapLimit", true},
      {"CpuCfsPeriod", true},
      {"CpuCfsQuota", true},
      {"CPUShares", true},
      {"CPUSet", true},
      {"PidsLimit", true},
      {"IPv4Forwarding", true},
      {"BridgeNfIptables", false},
      {"BridgeNfIp6tables", false},
      {"Debug", false},
      {"NFd", 0},
      {"OomKillDisable", false},
      {"NGoroutines", 0},
      {"SystemTime", FormatLogTime(absl::Now())},
      {"LoggingDriver", "json-file"},
      {"CgroupDriver", "cgroupfs"},
      {"CgroupVersion", access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ? "2" : "1"},
      {"NEventsListener", 0},
      {"KernelVersion", KernelRelease()},
      {"OperatingSystem", OperatingSystem()},
      {"OSVersion", ""},
      {"OSType", "linux"},
      {"Architecture", "x86_64"},
      {"IndexServerAddress", "https://index.docker.io/v1/"},
      {"RegistryConfig",
       {{"AllowNondistributableArtifactsCIDRs", json::array()},
        {"AllowNondistributableArtifactsHostnames", json::array()},
        {"InsecureRegistryCIDRs", insecure},
        {"IndexConfigs", index_configs},
        {"Mirrors", json::array()}}},
      {"NCPU", static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN))},
      {"MemTotal", static_cast<int64_t>(system.totalram) * system.mem_unit},
      {"GenericResources", nullptr},
      {"DockerRootDir", options_.data_root},
      {"HttpProxy", ""},
      {"HttpsProxy", ""},
      {"NoProxy", ""},
      {"Name", hostname},
      {"Labels", json::array()},
      {"ExperimentalBuild", false},
      {"ServerVersion", LIMAN_VERSION},
      {"Runtimes", runtimes},
      {"DefaultRuntime", options_.default_runtime},
      {"Swarm",
       {{"NodeID", ""},
        {"NodeAddr", ""},
        {"LocalNodeState", "inactive"},
        {"ControlAvailable", false},
        {"Error", ""},
        {"RemoteManagers", nullptr}}},
      {"LiveRestoreEnabled", true},
      {"Isolation", ""},
      {"InitBinary", options_.init_path.empty() ? kDefaultInitBinary : options_.init_path},
      {"ContainerdCommit", {{"ID", ""}, {"Expected", ""}}},
      {"RuncCommit", {{"ID", ""}, {"Expected", ""}}},
      {"InitCommit", {{"ID", ""}, {"Expected", ""}}},
      {"SecurityOptions", json::array()},
      {"Warnings", json::array()}};
}

}  // namespace liman::engine
