// The OCI runtime as the shim drives it: runc's command line, which liman-runtime, runc and crun
// all accept. Every call runs the binary to completion (the shim is single-threaded; runtime
// commands are short) and turns a failure into an error carrying the runtime's own explanation:
// the last error-level "msg" it appended to its JSON --log during this call, else its stderr.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman::shim {

struct RuntimeConfig {
  std::string binary;    // path, or a name looked up in $PATH ("runc")
  std::string root;      // --root (state directory); empty: the runtime's default
  std::string log_path;  // --log, written as JSON (--log-format json): <bundle>/log.json
  bool systemd_cgroup = false;  // --systemd-cgroup
};

// The standard streams the runtime hands to the container's process; -1 gives /dev/null.
struct RuntimeStdio {
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

struct RuntimeCreateOptions {
  std::string bundle;
  std::string pid_file;
  std::string console_socket;  // for terminal=true: the runtime sends the pty master there
  bool no_pivot = false;
  bool no_new_keyring = false;
  RuntimeStdio stdio;
};

struct RuntimeExecOptions {
  std::string process_file;  // the OCI process JSON
  std::string pid_file;
  std::string console_socket;
  RuntimeStdio stdio;
};

class RuntimeCli {
 public:
  explicit RuntimeCli(RuntimeConfig config) : config_(std::move(config)) {}
  const RuntimeConfig& config() const { return config_; }

  // create --bundle B --pid-file F [--console-socket S] [--no-pivot] [--no-new-keyring] ID
  absl::Status Create(const std::string& id, const RuntimeCreateOptions& options);
  absl::Status Start(const std::string& id);
  // kill [--all] ID SIG. A process that is already gone is NotFound, as containerd reports it.
  absl::Status Kill(const std::string& id, int signal, bool all);
  absl::Status Delete(const std::string& id, bool force);
  absl::Status Pause(const std::string& id);
  absl::Status Resume(const std::string& id);
  // update --resources - ID, the OCI LinuxResources JSON on the runtime's stdin.
  absl::Status Update(const std::string& id, std::string_view resources_json);
  // update -r FILE ID
  absl::Status UpdateFromFile(const std::string& id, const std::string& resources_file);
  // exec --process FILE --pid-file F --detach [--console-socket S] ID
  absl::Status Exec(const std::string& id, const RuntimeExecOptions& options);
  // ps --format json ID
  absl::StatusOr<std::vector<pid_t>> Ps(const std::string& id);
  // events --stats ID: the one JSON line ({"type":"stats","id":…,"data":{…}}), see metrics.h.
  absl::StatusOr<std::string> Stats(const std::string& id);
  // state ID: the OCI state JSON.
  absl::StatusOr<std::string> State(const std::string& id);

 private:
  struct Call {
    std::string command;            // "create", for argv and messages
    std::vector<std::string> args;  // after the command name
    // Container stdio for create/exec. Otherwise the runtime's stdout and stderr are captured
    // (they are never captured when a container inherits them: it would keep our pipe open, and
    // its writes would fail once we stop reading).
    const RuntimeStdio* stdio = nullptr;
    std::string_view stdin_data;  // fed to the runtime's stdin when not empty
  };
  // Runs the runtime; returns its stdout.
  absl::StatusOr<std::string> Run(const Call& call) const;
  std::vector<std::string> GlobalArgs() const;
  // For liman-runtime's create and exec: the binary's read-only view, made on first need and
  // again when the file at its path changes (an upgrade, which a runtime run by path each time
  // would pick up). -1 where no view can be made: the runtime then seals itself.
  int SealedRuntimeView() const;

  RuntimeConfig config_;
  // liman-runtime seals itself before it sets up a container's process (CVE-2019-5736) unless
  // started from such a view already (runtime/self_exe.h); kept, the view spares each create and
  // exec that re-execution.
  struct SealedView {
    UniqueFd fd;
    struct stat source;  // the binary's, when the view was made
  };
  mutable std::optional<SealedView> sealed_view_;
};

}  // namespace liman::shim
