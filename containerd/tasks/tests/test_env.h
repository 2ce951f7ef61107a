// The world of one task-manager test: a short temporary directory (shim socket paths must fit in
// sun_path) holding containerd's state dir, the runtimes' root and each container's busybox
// rootfs; the event exchange with its ttrpc endpoint; a TaskManager; a cgroup parent of its own.
// The destructor removes everything even when the test failed: shims and containers (SIGKILL),
// cgroups in every hierarchy, mounts, runc shim sockets, the directory.
#pragma once

#include <sys/types.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "containerd/events/exchange.h"
#include "containerd/events/ttrpc_endpoint.h"
#include "containerd/tasks/task_manager.h"

namespace liman::containerd::tasks::testing {

inline constexpr char kNamespace[] = "liman-test";
inline constexpr char kLimanRuntime[] = "io.containerd.liman.v2";
inline constexpr char kRuncRuntime[] = "io.containerd.runc.v2";

// Whether the real containerd-shim-runc-v2 and runc are installed (Debian's containerd, runc).
bool RuncShimAvailable();

// The contents of `path`, or "<why not>" when it cannot be read.
std::string Contents(const std::string& path);
// The contents of `path` once it holds at least `size` bytes, or whatever it holds after 10 s.
// Why: containerd-shim-runc-v2 reports an exit while its goroutines may still be copying the
// output to a file:// URI; only its Delete waits for them (pkg/process/init.go, waitTimeout).
std::string ContentsOnceAtLeast(const std::string& path, size_t size);

class TaskTestEnv {
 public:
  TaskTestEnv();
  ~TaskTestEnv();

  // A TaskManager over this environment's directories (what a restarted daemon would make).
  std::unique_ptr<TaskManager> NewManager();

  // Options for container `id` running `sh -c script` through `runtime`, with a busybox rootfs
  // bind-mounted from rootfs_source(id), its cgroup under this test's parent, and the runtime's
  // state under this environment (containerd.runc.v1.Options.root).
  CreateTaskOptions Options(const std::string& id, const std::string& script, const std::string& runtime);
  // An OCI process (JSON in an Any, as containerd sends it) running `sh -c script`.
  google::protobuf::Any ExecSpec(const std::string& script) const;

  std::string rootfs_source(const std::string& id) const;
  std::string path(const std::string& name) const;  // inside the temporary directory
  std::string file_uri(const std::string& name) const { return "file://" + path(name); }
  std::string cgroup_path(const std::string& id) const { return cgroup_parent_ + "/" + id; }

  // FROZEN / THAWED for the container's cgroup (v1 freezer.state, or v2 cgroup.freeze).
  std::string FreezerState(const std::string& id) const;

  // The next event of kNamespace on `topic` for container `id` (and exec `exec_id` for exits),
  // within a generous deadline; fails the test otherwise.
  events::Envelope NextEvent(events::Subscription& subscription, const std::string& topic, const std::string& id,
                             const std::string& exec_id = "");

  // Is `pid` alive? Waits (on a pidfd, up to `limit`) for it to exit; true when it did.
  static bool WaitForExit(pid_t pid, absl::Duration limit);

  // The pid of the shim serving `id`: the parent of its init process (containerd-shim-runc-v2
  // writes no shim.pid).
  static pid_t ShimPidOf(pid_t init_pid);
  // The pid of the shim server for `id`: its shim.pid (liman-shim), or else the process started
  // for this environment with "-id <id>" and no action (containerd-shim-runc-v2). 0 if none.
  pid_t FindShim(const std::string& id) const;

  events::Exchange exchange;
  std::unique_ptr<events::TtrpcEndpoint> endpoint;
  std::unique_ptr<TaskManager> manager;

 private:
  void Cleanup();
  std::string MakeSpecTemplate();

  std::string dir_;
  std::string address_;
  std::string cgroup_parent_;
  std::string spec_template_;
  std::set<std::string> ids_;
};

}  // namespace liman::containerd::tasks::testing
