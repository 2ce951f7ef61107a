// limand's engine: Docker's view of containers and images on top of liman-containerd's API
// (its own containerd namespace, like dockerd's "moby"). Container records live in SQLite;
// every running container has a monitor thread waiting on its task, which records the exit,
// deletes the task and applies AutoRemove. Live restore: on start the records are reconciled
// with the manager's tasks, and monitors resume.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ctl/liman-ctr/client.h"
#include "grpcpp/client_context.h"
#include "engine/daemon/dockerfile.h"
#include "engine/daemon/engine_store.h"
#include "engine/daemon/event_log.h"
#include "engine/daemon/health_check.h"
#include "engine/daemon/json_log_reader.h"
#include "engine/daemon/restart_policy.h"
#include "engine/network/bridge.h"
#include "engine/network/dns_server.h"
#include "engine/network/nat.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {
class FifoSet;
}  // namespace liman::ctr

namespace liman::engine {

// Go's zero time as Docker writes it: StartedAt of a container never started.
inline constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";

struct DaemonOptions {
  std::string data_root = "/var/lib/liman";
  std::string exec_root = "/run/liman";
  std::string containerd_address = "/run/liman/containerd/containerd.sock";
  std::string containerd_namespace = "moby";
  std::vector<std::string> insecure_registries;  // host:port pulled over plain HTTP
  // dockerd's --dns: the name servers of containers that name none (HostConfig.Dns), in their
  // resolv.conf or behind the embedded DNS server.
  std::vector<std::string> dns;
  std::string cgroup_parent = "/liman";
  // containerd runtime names by Docker runtime name (--runtime); "liman" is the default.
  std::map<std::string, std::string> runtimes = {{"liman", "io.containerd.liman.v2"},
                                                 {"runc", "io.containerd.runc.v2"}};
  std::string default_runtime = "liman";
  // The default bridge network: its bridge ("none": no bridge network) and gateway/prefix.
  std::string bridge = "liman0";
  std::string bridge_cidr = "172.30.0.1/16";
  bool ip_forward = true;  // set net.ipv4.ip_forward, as dockerd does
  bool ip_masq = true;     // masquerade the bridge's traffic leaving the host
  // dockerd's --init (containers without HostConfig.Init run an init) and --init-path.
  bool init = false;
  std::string init_path;
};

// One container as limand keeps it.
struct Container {
  std::string id;
  std::string name;       // "/web"
  nlohmann::json record;  // what `docker inspect` shows (State included)
  uint64_t exits = 0;     // incremented at every exit, for wait?condition=next-exit
  bool removed = false;
  bool monitored = false;  // a monitor thread waits on its task
  std::string stdin_fifo;  // with OpenStdin: the FIFO the task reads
  int stdin_fd = -1;       // our end of it while the task runs
  bool close_stdin_on_start = false;  // the client's stdin ended before the task started
  std::mutex lifecycle;    // start, stop, restart, remove, network connect of this container, one at a time
  std::unique_ptr<network::DnsServer> dns;  // its embedded DNS server while it runs on a user network
  // Restart policy state, as moby's: stop and kill set manually_stopped (kept in the store,
  // read by unless-stopped), start clears it; a stop, or a kill with SIGKILL or the stop
  // signal, sets exit_on_next, so the exit it causes is not restarted.
  bool manually_stopped = false;
  bool exit_on_next = false;
  uint64_t restart_generation = 0;  // bumped when a pending restart is cancelled
  RestartBackoff backoff;
  uint64_t health_generation = 0;  // bumped at each run's health monitor: an older one ends
  // The `process` of its spec in the manager, read at its first exec: only a start with legacy
  // links changes it (their variables), and drops it then; so later execs skip a Containers.Get.
  std::optional<nlohmann::ordered_json> spec_process;
  // Its legacy links' /etc/hosts entries ("alias hostname name=IP"), made at each start.
  std::vector<std::string> link_hosts;
  // It has a task: running or paused (Docker's State.Running is also true while restarting).
  bool Running() const { return record["State"].value("Running", false) && !Restarting(); }
  // Its task exited and a restart policy brings it back after a delay (no task meanwhile).
  bool Restarting() const { return record["State"].value("Restarting", false); }
  bool Tty() const { return record["Config"].value("Tty", false); }
};

// A `docker exec` process: created, then started once (attached or detached).
struct ExecInstance {
  std::string id;
  std::string container_id;
  nlohmann::json config;  // the create request: Cmd, Tty, Env, User, WorkingDir, Attach*
  bool started = false;
  bool running = false;
  std::optional<int64_t> exit_code;
  uint32_t pid = 0;
};

// A Tasks.Wait for an exec, in flight on a thread of its own (Daemon::WaitExecExit).
struct ExecWait {
  std::unique_ptr<grpc::ClientContext> context;
  int64_t exit_code = 126;
  std::thread thread;

  // The exit status, once the wait has its answer (or failed).
  int64_t Get() {
    if (thread.joinable()) thread.join();
    return exit_code;
  }
  ~ExecWait() { Get(); }
};

// A network as limand keeps it: the predefined bridge, host and none, or a user-defined bridge
// network (its own Linux bridge "br-<id prefix>", subnet and NAT table).
struct Network {
  std::string id;
  std::string name;
  nlohmann::json record;     // what `docker network inspect` shows, without Containers
  std::string bridge;        // the Linux bridge; "" for host and none
  network::Ipv4Net gateway;  // the gateway address with the subnet's prefix (bridge networks)
  bool Predefined() const { return name == "bridge" || name == "host" || name == "none"; }
  bool UserDefined() const { return !Predefined(); }
};

// kInvalidArgument for HostConfig.PortBindings Docker refuses ("invalid port specification").
absl::Status ValidatePortBindings(const nlohmann::json& host_config);

// A container's EndpointSettings on `net` before it is attached: Aliases (plus its short id
// on user-defined networks, as dockerd) and IPAMConfig from `endpoint_config` (the
// NetworkingConfig or connect request's EndpointConfig). kInvalidArgument for a bad one.
absl::StatusOr<nlohmann::json> NewEndpointSettings(const Network& net, const std::string& container_id,
                                                   const nlohmann::json& endpoint_config);

// Whether a container with this NetworkMode uses the embedded DNS server (a user-defined
// network, as Docker decides it), its /etc/resolv.conf naming 127.0.0.11.
bool UsesEmbeddedDns(const std::string& network_mode);

// The published ports recorded in a container's NetworkSettings.Ports, to its address on its
// primary network (HostConfig.NetworkMode); none while it has no address.
std::vector<network::PortMapping> RecordedMappings(const nlohmann::json& record);

// Docker's filters: {"status":{"exited":true}} (or the old ["exited"] form).
std::vector<std::string> FilterValues(const nlohmann::json& filters, const char* key);

// Whether `labels` (a Labels object) pass the filters' "label" (key or key=value, all must
// hold) and "label!" (none may hold).
bool LabelFiltersMatch(const nlohmann::json& labels, const nlohmann::json& filters);

// The "until" filter of the prune requests: a time (or a duration back from now) before which a
// thing was created; nullopt without one. kInvalidArgument for a value Docker would not read.
absl::StatusOr<std::optional<absl::Time>> UntilFilter(const nlohmann::json& filters);

struct WaitResult {
  int64_t status_code = 0;
  std::string error;
};

// An image without a name (docker commit or build without one) is recorded under
// "moby-dangling@<manifest digest>", as moby's containerd image store names it; it shows as
// <none>:<none>.
std::string DanglingImageName(const std::string& manifest_digest);
bool IsDanglingImageName(const std::string& name);
// The build cache: each step's image recorded under "liman-build-cache:<key>" (the step's
// sha256 key), hidden from the image list; `docker builder prune` drops them.
std::string BuildCacheImageName(const std::string& key);
bool IsBuildCacheImageName(const std::string& name);

class Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(DaemonOptions options);
  ~Daemon();

  const DaemonOptions& options() const { return options_; }

  // ---- system ----
  nlohmann::json Version();
  nlohmann::json Info();

  // ---- images ----
  // Pulls through the manager's Transfer service, reporting Docker's progress messages.
  absl::Status PullImage(const std::string& image, const std::string& tag, const std::string& registry_auth,
                         const std::function<void(const nlohmann::json&)>& progress);
  // docker push: the image's blobs and host-platform manifest through the manager's Transfer
  // service, with Docker's progress messages; an empty tag pushes every tag of the repository.
  // kNotFound before any message when there is nothing to push.
  absl::Status PushImage(const std::string& image, const std::string& tag, const std::string& registry_auth,
                         const std::function<void(const nlohmann::json&)>& progress);
  // docker login (POST /auth): the credentials checked against the registry through the
  // manager (nothing kept: the CLI keeps them and sends them with each pull and push).
  struct RegistryLogin {
    std::string username, password, identity_token;
    std::string server_address;  // "127.0.0.1:5000", "https://index.docker.io/v1/"; empty: Docker Hub
  };
  absl::Status Login(const RegistryLogin& login);
  absl::StatusOr<nlohmann::json> ListImages();
  absl::StatusOr<nlohmann::json> InspectImage(const std::string& name);
  absl::StatusOr<nlohmann::json> ImageHistory(const std::string& name);
  // docker system df (API 1.41): LayersSize, Images (with Containers and SharedSize), Containers
  // (with SizeRw and SizeRootFs), Volumes (with UsageData) and an empty BuildCache.
  absl::StatusOr<nlohmann::json> SystemDiskUsage();
  absl::Status TagImage(const std::string& source, const std::string& repo, const std::string& tag);
  absl::StatusOr<nlohmann::json> RemoveImage(const std::string& name, bool force);
  // docker image prune: images no container uses and passing the filters (dangling, default true:
  // only images without a tag; label, label!, until) lose every name and go.
  // {"ImagesDeleted":[{"Untagged":name}…, {"Deleted":id}] or null, "SpaceReclaimed":bytes}.
  absl::StatusOr<nlohmann::json> PruneImages(const nlohmann::json& filters);
  // docker save: the images `refs` name (names or IDs), for the host's platform, as one archive
  // (an OCI layout with Docker's manifest.json) given to `sink` piece by piece. kNotFound, before
  // any byte, for a reference that names no image.
  absl::Status SaveImages(const std::vector<std::string>& refs, const std::function<absl::Status(std::string_view)>& sink);
  // docker load: records and unpacks the images of an archive (docker save's or an OCI layout)
  // read from `source` (the next bytes each call, empty at the end); what docker prints for each:
  // "Loaded image: NAME", or "Loaded image ID: sha256:…" for one without a name.
  absl::StatusOr<std::vector<std::string>> LoadImages(const std::function<absl::StatusOr<std::string_view>()>& source);

  // ---- containers ----
  // {"Id":…, "Warnings":[]}; kNotFound "No such image: …" makes the CLI pull.
  absl::StatusOr<nlohmann::json> CreateContainer(const std::string& name, const nlohmann::json& body);
  // false: it was already running (Docker's 304).
  absl::StatusOr<bool> StartContainer(const std::string& ref);
  // false: it was not running (304). `timeout` < 0: wait forever; nullopt: its StopTimeout or 10 s.
  absl::StatusOr<bool> StopContainer(const std::string& ref, std::optional<int> timeout, const std::string& signal);
  absl::Status KillContainer(const std::string& ref, const std::string& signal);
  absl::Status RestartContainer(const std::string& ref, std::optional<int> timeout);
  absl::Status PauseContainer(const std::string& ref, bool pause);
  // docker rename: kInvalidArgument for a bad or unchanged name, kAlreadyExists for a taken one.
  absl::Status RenameContainer(const std::string& ref, const std::string& name);
  // docker container prune: every container that is not running (nor paused, nor restarting)
  // and passes the filters (label, label!, until) is removed.
  // {"ContainersDeleted":[ids], "SpaceReclaimed":bytes of their writable layers}.
  absl::StatusOr<nlohmann::json> PruneContainers(const nlohmann::json& filters);
  // docker update: resources (applied to the running task too) and the restart policy.
  // {"Warnings":[]}.
  absl::StatusOr<nlohmann::json> UpdateContainer(const std::string& ref, const nlohmann::json& update);
  // condition: "not-running" (default), "next-exit", "removed". `cancelled` is polled (the
  // client went away).
  absl::StatusOr<WaitResult> WaitContainer(const std::string& ref, const std::string& condition,
                                           const std::function<bool()>& cancelled);
  // `remove_volumes` (rm -v) removes its anonymous volumes too.
  absl::Status RemoveContainer(const std::string& ref, bool force, bool remove_volumes);
  absl::StatusOr<nlohmann::json> InspectContainer(const std::string& ref);
  absl::StatusOr<nlohmann::json> ListContainers(bool all, int limit, const nlohmann::json& filters);
  absl::StatusOr<nlohmann::json> ContainerTop(const std::string& ref);
  // Docker's stats objects, one a second while `stream` and `emit` returns true.
  absl::Status StreamStats(const std::string& ref, bool stream, bool one_shot,
                           const std::function<bool(const nlohmann::json&)>& emit);
  absl::Status ResizeContainer(const std::string& ref, const std::string& exec_id, uint32_t width, uint32_t height);

  // ---- docker cp (archive_ops.cc) ----
  // What `path` in the container is (copy_path.h's CopyPathStat); kNotFound "Could not find the
  // file PATH in container REF".
  absl::StatusOr<nlohmann::json> StatContainerPath(const std::string& ref, const std::string& path);
  // `path` as a tar (its last element the top entry), given to `sink` piece by piece once
  // `on_stat` has had its stat.
  absl::Status ArchiveContainerPath(const std::string& ref, const std::string& path,
                                    const std::function<absl::Status(const nlohmann::json&)>& on_stat,
                                    const std::function<absl::Status(std::string_view)>& sink);
  // Unpacks the tar read from `source` (the next bytes each call, empty at the end) into the
  // directory `path`: owned by the container's root unless `copy_uid_gid` (docker cp -a); with
  // `no_overwrite_dir_non_dir` no directory is replaced by a non-directory or the reverse.
  absl::Status ExtractToContainer(const std::string& ref, const std::string& path, bool copy_uid_gid,
                                  bool no_overwrite_dir_non_dir,
                                  const std::function<absl::StatusOr<std::string_view>()>& source);

  // ---- docker commit and diff (commit_ops.cc) ----
  struct CommitRequest {
    std::string repo;  // with `tag` the new image's name; none: a dangling image
    std::string tag;
    std::string comment;
    std::string author;
    bool pause = true;                 // the container is paused while its changes are read
    std::vector<std::string> changes;  // Dockerfile instructions for the config (--change)
    nlohmann::json config;             // container config fields that replace the container's
  };
  // The container's changes to its image's files as a new layer on that image, its config from
  // the container's (with `config` and `changes` applied). The new image's ID.
  absl::StatusOr<std::string> CommitContainer(const std::string& ref, const CommitRequest& request);
  // docker diff: [{"Path", "Kind": 0 changed, 1 added, 2 deleted}], by path.
  absl::StatusOr<nlohmann::json> ContainerChanges(const std::string& ref);
  // docker import: an image of one layer, the (plain, gzip or zstd) tar read from `source` (the
  // next bytes each call, empty at the end), its config from `changes`. The new image's ID.
  struct ImportRequest {
    std::string repo;  // "name[:tag]"; none: a dangling image
    std::string tag;
    std::string message;
    std::vector<std::string> changes;
  };
  absl::StatusOr<std::string> ImportImage(const ImportRequest& request,
                                          const std::function<absl::StatusOr<std::string_view>()>& source);
  // docker export: the container's files (its image's and its own, not its volumes or mounts) as a
  // tar given to `sink` piece by piece.
  absl::Status ExportContainer(const std::string& ref, const std::function<absl::Status(std::string_view)>& sink);

  // ---- docker build, the legacy builder (build_ops.cc) ----
  struct BuildRequest {
    std::string dockerfile = "Dockerfile";  // its path in the context
    std::vector<std::string> tags;
    std::map<std::string, std::string> build_args;
    std::map<std::string, std::string> labels;  // --label: set on the image built
    std::string network_mode;                   // RUN's containers' network
    bool quiet = false;
    bool remove = true;        // intermediate containers go after a successful step
    bool force_remove = false; // … after a failed one too
    std::string target;        // --target: the stage the build ends with
    bool no_cache = false;     // --no-cache: every step runs (and is cached again)
  };
  // Builds from the context tar read from `context` (the next bytes each call, empty at the end),
  // each of Docker's progress messages given to `emit` ({"stream"}, {"aux":{"ID"}}, a pull's).
  absl::Status BuildImage(const BuildRequest& request, const std::function<absl::StatusOr<std::string_view>()>& context,
                          const std::function<void(const nlohmann::json&)>& emit);
  // docker builder prune: {"CachesDeleted":[keys] or null, "SpaceReclaimed"}.
  absl::StatusOr<nlohmann::json> PruneBuildCache();

  // ---- events (event_log.h) ----
  EventLog& events() { return events_; }

  // ---- volumes ----
  absl::StatusOr<nlohmann::json> CreateVolume(const nlohmann::json& body);
  absl::StatusOr<nlohmann::json> ListVolumes();
  absl::StatusOr<nlohmann::json> InspectVolume(const std::string& name);
  // kFailedPrecondition while a container uses it.
  absl::Status RemoveVolume(const std::string& name, bool force);
  // docker volume prune: unused volumes passing the label filters are removed (API 1.41: named
  // ones too). {"VolumesDeleted":[names], "SpaceReclaimed":bytes}.
  absl::StatusOr<nlohmann::json> PruneVolumes(const nlohmann::json& filters);

  // ---- networks ----
  // {"Id":…, "Warning":""}; kAlreadyExists for a name in use, kInvalidArgument for a bad request.
  absl::StatusOr<nlohmann::json> CreateNetwork(const nlohmann::json& body);
  absl::StatusOr<nlohmann::json> ListNetworks(const nlohmann::json& filters);
  absl::StatusOr<nlohmann::json> InspectNetwork(const std::string& ref);
  // kPermissionDenied for a predefined network or one with running containers.
  absl::Status RemoveNetwork(const std::string& ref);
  // {Container, EndpointConfig{Aliases, IPAMConfig}}: recorded, and attached now if it runs.
  absl::Status ConnectNetwork(const std::string& ref, const nlohmann::json& body);
  // {Container, Force}.
  absl::Status DisconnectNetwork(const std::string& ref, const nlohmann::json& body);
  // User-defined networks without running containers are removed: {"NetworksDeleted":[names]}.
  absl::StatusOr<nlohmann::json> PruneNetworks();

  // ---- exec ----
  absl::StatusOr<std::string> CreateExec(const std::string& container_ref, const nlohmann::json& body);
  absl::StatusOr<nlohmann::json> InspectExec(const std::string& id);
  // The exec exists and has not been started (kFailedPrecondition otherwise): checked before
  // the connection is hijacked, so the error is still an HTTP answer.
  absl::StatusOr<bool> ExecTty(const std::string& id);
  // Runs the exec. With `conn` >= 0 (a hijacked connection; `buffered` the stdin bytes already
  // read), its output is copied there (framed unless it has a terminal) and its stdin read from
  // there, until it exits; ExitCode is recorded before this returns. Detached otherwise.
  absl::Status RunExec(const std::string& id, int conn, std::string buffered);
  absl::Status ResizeExec(const std::string& id, uint32_t width, uint32_t height);

  // What attach and logs read.
  struct LogSource {
    std::string id;
    std::string log_path;
    int max_files = 1;
    bool tty = false;
    bool open_stdin = false;
    bool stdin_once = false;
  };
  absl::StatusOr<LogSource> ContainerLogSource(const std::string& ref);
  // Whether the container is still running (or not started yet while `include_created`).
  bool ContainerActive(const std::string& id, bool include_created, uint64_t exits_seen);
  uint64_t ContainerExits(const std::string& id);
  // Writes client stdin into the container's stdin; `close` ends it (StdinOnce).
  absl::Status WriteStdin(const std::string& id, std::string_view data);
  absl::Status CloseStdin(const std::string& id);

 private:
  // An image as commit and build derive from it: its ID (config digest), config and layers.
  struct ImageContents {
    std::string id;
    nlohmann::json config;
    std::vector<ctr::Descriptor> layers;
    ctr::Descriptor manifest;  // set by WriteImage only
  };
  // kNotFound "No such image: REF".
  absl::StatusOr<ImageContents> FindImageContents(const std::string& ref);
  // The image recorded under exactly `name` (normalized), whatever the list shows.
  absl::StatusOr<ImageContents> ImageContentsByName(const std::string& name);
  // Records `image` (WriteImage's, or FindImageContents') under the reference `name` (dropping its
  // dangling record), with Docker's tag event.
  absl::Status NameImage(const ImageContents& image, const std::string& name);
  // What WriteImage makes: `base` (none: FROM scratch) with the changes of `layer_from`'s snapshot
  // as a new layer when it is set, `run_config` as the config's "config" and `history` appended.
  struct NewImage {
    std::optional<ImageContents> base;
    std::string layer_from;  // a container id
    nlohmann::json run_config;
    nlohmann::json history;  // created_by, comment (created, empty_layer filled in); null: none
    std::string author;
    std::string name;  // a reference; empty: a dangling image
  };
  // Writes the layer (the manager's Diff), unpacks it onto the base's snapshot, writes config and
  // manifest and the image record. The new image's contents.
  absl::StatusOr<ImageContents> WriteImage(const NewImage& image);
  // A record "moby-dangling@<manifest>" for an image WriteImage made.
  absl::Status RecordDanglingImage(const ImageContents& image);
  // Deletes the image record `name` (gone already counts).
  absl::Status RemoveImageRecord(const std::string& name);
  // docker build's steps (build_ops.cc).
  struct BuildState;
  absl::Status RunBuildSteps(const BuildRequest& request, const std::vector<DockerfileInstruction>& instructions,
                             BuildState& state, const std::function<void(const std::string&)>& say,
                             const std::function<void(const nlohmann::json&)>& emit);
  absl::Status BuildFrom(const DockerfileInstruction& instruction, BuildState& state, const VariableLookup& args,
                         const std::function<void(const nlohmann::json&)>& emit);
  absl::Status BuildConfigStep(const DockerfileInstruction& instruction, BuildState& state, const VariableLookup* args);
  absl::Status CommitBuildStep(BuildState& state, const std::string& layer_from, const std::string& created_by,
                               const std::string& key);
  // With the build cache: the image of the step `key` (from the image so far) when it is cached
  // (and not --no-cache) becomes the image so far; false when the step must run.
  absl::StatusOr<bool> UseCachedStep(BuildState& state, const std::string& key,
                                     const std::function<void(const std::string&)>& say);
  absl::StatusOr<std::string> CreateBuildContainer(const std::string& image_ref, const nlohmann::json& config,
                                                   const nlohmann::json& command, const std::string& network_mode);
  // The image `name` (pulled when missing, its progress to `emit`) and the reference it is under.
  absl::StatusOr<std::pair<ImageContents, std::string>> FindOrPullImage(
      const std::string& name, const std::function<void(const nlohmann::json&)>& emit);
  absl::Status BuildRun(const BuildRequest& request, const DockerfileInstruction& instruction, BuildState& state,
                        const std::function<void(const std::string&)>& say);
  absl::Status BuildCopy(const DockerfileInstruction& instruction, BuildState& state,
                         const std::function<void(const nlohmann::json&)>& emit);
  absl::Status TagBuiltImage(const BuildRequest& request, BuildState& state,
                             const std::function<void(const std::string&)>& say,
                             const std::function<void(const nlohmann::json&)>& emit);
  // Publishes a container event with Docker's attributes (image, name, the container's labels)
  // and `extra`. Holds mu_.
  void ContainerEventLocked(const Container& container, const std::string& action,
                            std::map<std::string, std::string> extra = {});
  // A network event about `container_id` (connect, disconnect).
  void NetworkEvent(const std::string& action, const Network& net, const std::string& container_id);
  // A container's files for docker cp (archive_ops.cc).
  struct ContainerFiles;
  absl::StatusOr<std::unique_ptr<ContainerFiles>> OpenContainerFiles(const std::string& ref);
  // Runs `body` with the root of the container's files open (as docker cp sees them).
  absl::Status InContainerFiles(const std::string& ref, const std::function<absl::Status(int root_fd)>& body);
  explicit Daemon(DaemonOptions options);
  absl::Status Reconcile();
  // The bridge, its gateway address and masquerading (unless --bridge none).
  absl::Status SetUpBridgeNetwork();
  absl::StatusOr<nlohmann::json> StatsSample(const std::string& id);
  absl::Status LoadVolumes();
  // The volume `name` ("" for a new anonymous name), made if missing. Holds mu_.
  absl::StatusOr<nlohmann::json> EnsureVolumeLocked(const std::string& name, const nlohmann::json& labels, bool anonymous,
                                                    const nlohmann::json& driver_options = nlohmann::json::object());
  absl::Status RemoveVolumeLocked(const std::string& name, bool force);
  // Volumes with driver options (volume_options.h) are mounted while running containers use
  // them, as moby's local driver counts its users: mounted for the first at its start,
  // unmounted after the last one's task is gone. Hold mu_.
  absl::Status MountVolumesLocked(const Container& container);
  void UnmountVolumesLocked(const Container& container);
  // At start-up: the running containers are the users again; a mount left by a crash without
  // any goes.
  void RestoreVolumeMountsLocked();
  std::vector<std::string> VolumeUsersLocked(const std::string& name) const;
  // The images part of SystemDiskUsage: {"LayersSize", "Images"}.
  absl::StatusOr<nlohmann::json> ImagesDiskUsage();
  // The size of a container's writable layer (its snapshot); nullopt when it cannot be measured.
  std::optional<int64_t> WritableLayerSize(const std::string& id);
  // The size of a volume's files; nullopt when they cannot be measured.
  std::optional<int64_t> VolumeSize(const std::string& name) const;
  // Named and anonymous volumes of a create request made (or found); `host_config`'s Binds
  // become their directories for the spec. Returns the container's Mounts record; `copy_up`
  // gets the volumes to fill from the image (volume_copy.h): not nocopy ones, not those of
  // --volumes-from, not those with driver options.
  struct VolumeCopyUp {
    std::string volume_dir;
    std::string destination;
  };
  absl::StatusOr<nlohmann::json> ResolveVolumeMountsLocked(nlohmann::json& host_config, const nlohmann::json& config,
                                                           std::vector<VolumeCopyUp>* copy_up);
  void RemoveAnonymousVolumesLocked(const Container& container);
  // Exact id, exact name, then a unique id prefix (moby's GetContainer). Holds mu_.
  absl::StatusOr<std::shared_ptr<Container>> FindLocked(const std::string& ref);
  absl::StatusOr<std::shared_ptr<Container>> Find(const std::string& ref);
  absl::Status SaveLocked(const Container& container);
  void Monitor(std::shared_ptr<Container> container);
  // Creates and starts the container's task, then its monitor; a failure is recorded in its
  // State as dockerd records it. Holds the container's lifecycle lock.
  absl::Status RunTask(const std::shared_ptr<Container>& container);
  // After an exit its restart policy restarts: the task comes back after `delay` unless the
  // restart is cancelled (stop, kill, rm -f) meanwhile. Holds mu_.
  void ScheduleRestartLocked(const std::shared_ptr<Container>& container, absl::Duration delay);
  // A pending restart is called off: the container is exited. Holds mu_.
  void CancelRestartLocked(Container& container);
  // At start-up: containers that are not running and that their policy restarts (always;
  // unless-stopped unless stopped by hand; on-failure after a failure) are started again.
  void RestartByPolicyAtStartUp();
  void StartMonitorLocked(const std::shared_ptr<Container>& container);
  // The manager's spec of container `id`, changed by `change` and stored back (for its next start).
  absl::Status UpdateStoredSpec(const std::string& id, const std::function<void(nlohmann::ordered_json&)>& change);
  // --pid/--ipc container:<name>: that container's namespaces, by its init's pid, written into
  // the spec before each start (the pid changes when it restarts). Its /dev/shm is not shared:
  // a bind mount cannot cross mount namespaces, and moby's host-side shm mounts are not kept.
  // kFailedPrecondition "cannot join PID of a non running container: x" when it is not running.
  absl::Status JoinContainerNamespaces(Container& container);
  // With a Healthcheck in its config: its probes every interval while this run lasts (health_ops.cc).
  void StartHealthMonitorLocked(const std::shared_ptr<Container>& container);
  // One probe as an exec (with Docker's exec events), its output kept, killed at the timeout.
  ProbeResult RunProbe(const std::string& container_id, const HealthConfig& config);
  absl::Status CreateTask(Container& container);
  // With OpenStdin: the FIFO the task reads, made and opened on first need (attach comes
  // before start, and what it writes waits in the FIFO). Holds mu_.
  absl::Status OpenStdinLocked(Container& container);
  // Tasks.CloseIO(stdin), then our end of the FIFO is closed.
  absl::Status CloseTaskStdin(const std::string& id);
  absl::Status KillTask(const std::string& id, int signal);
  // The container's spec `process` (Container::spec_process), from the manager the first time.
  absl::StatusOr<nlohmann::ordered_json> SpecProcess(const std::string& container_id);
  // Asks for an exec's exit (Tasks.Wait) on a thread of its own, before the exec starts, as
  // containerd's clients do (Process.Wait, then Start): the shim answers the moment it reaps the
  // process. Its exit status, or 126 if the wait failed or was cancelled.
  std::shared_ptr<ExecWait> WaitExecExit(const std::shared_ptr<ExecInstance>& exec);
  // Adds `exec`'s process to its container's task (its output to `fifos`, its stdin too with
  // `with_stdin`; none without FIFOs) and starts it, with the exec_start event.
  absl::StatusOr<std::shared_ptr<ExecWait>> LaunchExec(const std::shared_ptr<ExecInstance>& exec,
                                                       const ctr::FifoSet* fifos, bool with_stdin);
  void RecordExecExit(const std::shared_ptr<ExecInstance>& exec, int64_t exit_code);
  // Takes the exec's exit from `wait`, deletes the process and records the exit code.
  void FinishExec(const std::shared_ptr<ExecInstance>& exec, std::shared_ptr<ExecWait> wait);
  // Removes the container: its task (unless `task_deleted`), container record and snapshot in
  // the manager, its record here, its directories.
  absl::Status RemoveLocked(std::unique_lock<std::mutex>& lock, const std::shared_ptr<Container>& container,
                            bool remove_volumes, bool task_deleted = false);
  // Waits (with mu_ held by `lock`) until the container's exit count passes `exits` or `deadline`.
  bool WaitExitLocked(std::unique_lock<std::mutex>& lock, const Container& container, uint64_t exits,
                      absl::Time deadline);
  std::string RuntimeFor(const nlohmann::json& host_config) const;
  std::string NetnsPath(const std::string& id) const { return options_.exec_root + "/netns/" + id; }
  std::string HostVeth(const std::string& id) const { return "veth" + id.substr(0, 11); }
  // Networking for a container about to start on a bridge network (the default one or a
  // user-defined one): its namespace, an address and a veth pair on each of its networks
  // (eth0 for HostConfig.NetworkMode, with the default route and published ports), its
  // /etc/hosts, the embedded DNS server; recorded in NetworkSettings. Released when it stops.
  absl::Status ConnectBridge(Container& container);
  void DisconnectBridgeLocked(Container& container);
  // What a task held on the host and gives back when it is gone: its bridge endpoints and
  // published ports, the shareable /dev/shm mount, its share of volume mounts.
  void ReleaseTaskResourcesLocked(Container& container);
  // HostConfig.Dns, else limand's --dns.
  std::vector<std::string> DnsServersFor(const nlohmann::json& host_config) const;
  // The container's /etc/resolv.conf for its HostConfig (DNS settings, network mode).
  absl::StatusOr<std::string> ResolvConfFor(const nlohmann::json& host_config) const;
  // Writes the container's hostname, hosts (naming `address` when not empty) and resolv.conf
  // into its directory, from its record. Called at every start (see CreateTask).
  absl::Status WriteEtcFiles(const nlohmann::json& record, const std::string& address,
                             const std::vector<std::string>& link_hosts = {}) const;
  // Legacy links (legacy_links.h) at create, as moby's registerLinks: each names an existing
  // container not on the host's network; HostConfig.Links becomes "/db:/<name>/alias".
  absl::Status RegisterLinks(const std::string& name, nlohmann::json& host_config);
  // Legacy links (legacy_links.h) at a start on the default bridge network: each linked
  // container must run; their hosts entries (Container.link_hosts) and variables (the spec).
  absl::Status PrepareLinks(Container& container);
  // --add-host's host-gateway: the default bridge's own address; empty without a bridge.
  const std::string& HostGateway() const { return host_gateway_; }
  // The predefined networks (ids kept in the store) and the user-defined ones, whose bridges
  // and NAT tables are made again if missing (after a reboot) or kept (live restore).
  absl::Status LoadNetworks();
  // Exact id, exact name, then a unique id prefix (moby's FindNetwork). Holds mu_.
  absl::StatusOr<std::shared_ptr<Network>> FindNetworkLocked(const std::string& ref);
  // The networks' records with their Containers (running endpoints). Holds mu_.
  nlohmann::json NetworkViewLocked(const Network& net) const;
  // An address on `net` for `container`'s endpoint there (the one asked for in its IPAMConfig,
  // else the lowest free one), reserved in its record. Holds mu_.
  absl::StatusOr<network::Ipv4Net> ReserveAddressLocked(Container& container, const Network& net);
  // The host end of the container's veth pair on the network called `net_name`.
  std::string EndpointVeth(const Container& container, const std::string& net_name) const;
  // Attaches a reserved endpoint: the veth pair into the namespace as `interface`, and the
  // endpoint's record (EndpointID, Gateway, MacAddress…).
  absl::Status AttachEndpoint(Container& container, const Network& net, const network::Ipv4Net& address,
                              const std::string& interface, bool primary);
  // The embedded DNS server for a running container whose resolv.conf names it. Holds mu_.
  void StartDnsLocked(Container& container);
  // Where that server forwards names it does not know: --dns, else the host's name servers;
  // none when all the container's networks are --internal. Holds mu_.
  std::vector<network::DnsUpstream> DnsUpstreamsLocked(const Container& container);
  // A/AAAA lookups from `asker`: names, aliases, hostnames and short ids of the running
  // containers on the user-defined networks it is on (nullopt: no such name).
  std::optional<std::vector<uint32_t>> ResolveForContainer(const std::string& asker, const std::string& name);
  std::string ContainerDir(const std::string& id) const;
  bool InsecureRegistry(const std::string& domain) const;

  DaemonOptions options_;
  std::unique_ptr<ctr::Client> client_;
  std::unique_ptr<EngineStore> store_;
  EventLog events_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, std::shared_ptr<Container>> containers_;
  std::map<std::string, std::shared_ptr<ExecInstance>> execs_;
  std::map<std::string, nlohmann::json> volumes_;
  std::map<std::string, std::set<std::string>> volume_mount_users_;  // volume name -> container ids
  std::map<std::string, std::shared_ptr<Network>> networks_;  // by id
  std::set<std::string> reserved_names_;  // names of containers being created
  bool stopping_ = false;
  std::string host_gateway_;  // the default bridge's address, set once at start-up
};

}  // namespace liman::engine
