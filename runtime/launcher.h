// The parent's side of the lifecycle: create (fork the container's first processes, run the
// runtime-namespace hooks, record the state), start, exec, and the teardown shared by delete
// and a failed create.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/state.h"

namespace liman::runtime {

struct CreateOptions {
  std::string id;
  std::string bundle;
  std::string pid_file;
  std::string console_socket;
  int console_socket_fd = -1;  // instead of console_socket: an fd already connected (run -t)
  int preserve_fds = 0;
  bool no_pivot = false;
  bool no_new_keyring = false;
};

absl::StatusOr<ContainerState> CreateContainer(const StateStore& store, const CreateOptions& options);
absl::Status StartContainer(const StateStore& store, const ContainerState& state);

// Kills what is left of the container, removes its cgroup, runs poststop hooks and removes its
// state directory. Used by delete and by a create that failed half-way.
absl::Status DestroyContainer(const StateStore& store, const ContainerState& state);

struct ExecOptions {
  std::string pid_file;
  std::string console_socket;
  int console_socket_fd = -1;
  int preserve_fds = 0;
};

// Starts `process` inside the running container; returns its host pid once it has exec'd.
absl::StatusOr<pid_t> ExecInContainer(const StateStore& store, const ContainerState& state,
                                      const oci::Process& process, const ExecOptions& options);

// Sends `signal` to the init (or, with all, to every process in the container's cgroup).
absl::Status SignalContainer(const ContainerState& state, int signal, bool all);

// Waits for the process `pid` (a child of ours through PR_SET_CHILD_SUBREAPER) while forwarding
// the usual terminal signals to it; reaps other orphans on the way. Returns a shell-style code.
int WaitForwardingSignals(pid_t pid);

absl::Status WritePidFile(const std::string& path, pid_t pid);

}  // namespace liman::runtime
