// What liman-runtime remembers about a container between invocations: <root>/<id>/state.json,
// written atomically. Status is derived, never stored: from the init's liveness (pid plus its
// start time, so a recycled pid is not mistaken for the container), the exec fifo and the freezer.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "nlohmann/json.hpp"

namespace liman::runtime {

enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
const char* StatusName(Status status);

struct ContainerState {
  std::string id;
  pid_t init_pid = 0;
  uint64_t init_start_time = 0;  // field 22 of /proc/<pid>/stat
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339
  std::string owner;
  oci::Spec config;
  nlohmann::json cgroup;  // cgroups::Manager::Save()
  bool use_exec_fifo = true;
};

// Runtime state root given with --root, defaulting to /run/liman/runtime.
class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string ContainerDir(const std::string& id) const;
  std::string ExecFifoPath(const std::string& id) const;
  // Compiled seccomp programs (SeccompCache); no container id can name it (ValidateId).
  std::string SeccompCacheDir() const;

  // Container ids are names of directories: [A-Za-z0-9_.-]+, not "." or "..", as runc requires.
  static absl::Status ValidateId(const std::string& id);

  // Makes <root>/<id> (0711 root dir, 0700 container dir); AlreadyExists if the id is taken.
  absl::Status Reserve(const std::string& id) const;
  absl::Status Save(const ContainerState& state) const;
  absl::StatusOr<ContainerState> Load(const std::string& id) const;
  absl::Status Remove(const std::string& id) const;
  absl::StatusOr<std::vector<std::string>> List() const;

 private:
  std::string root_;
};

// Whether the process `pid` with that start time still exists (not a zombie).
bool ProcessAlive(pid_t pid, uint64_t start_time);
absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid);

// The status a `state` call reports, derived as described above.
Status CurrentStatus(const StateStore& store, const ContainerState& state);

// The OCI state JSON (with runc's extra fields rootfs, created, owner).
nlohmann::json OciState(const ContainerState& state, Status status);

std::string Rfc3339Now();

}  // namespace liman::runtime
