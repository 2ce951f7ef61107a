// Starting child processes from the shim: the OCI runtime, logging binaries. Like posix_spawn(3),
// the child is cloned with CLONE_VM|CLONE_VFORK, so starting it copies no page tables however big
// the shim grows, and a failure in the child (a missing binary, a bad cwd) comes back to the
// caller as an error instead of as an exit status.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::shim {

struct SpawnOptions {
  // The program: a path containing '/' is used as is, a bare name is searched in $PATH.
  std::string path;
  // When >= 0, the program is this open file instead (execveat(2) with AT_EMPTY_PATH; it must be
  // an ELF binary, not a script): `path` then only names it in errors.
  int exec_fd = -1;
  // argv, argv[0] included; empty means {path}.
  std::vector<std::string> argv;
  // "KEY=value" entries; empty means the shim's own environment.
  std::vector<std::string> env;
  // The child's 0, 1 and 2; -1 gives it /dev/null.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // {fd in the shim, fd number in the child}, e.g. {pipe_fd, 3}. Targets must be >= 3 and
  // distinct. Every other descriptor is closed in the child.
  std::vector<std::pair<int, int>> extra_fds;
  // Working directory of the child; empty keeps the shim's.
  std::string cwd;
  // setsid(2) in the child: it gets its own session and process group, so signals aimed at the
  // shim's group (a ^C in a terminal) do not reach it.
  bool new_session = false;
};

// Starts the process and returns its pid; the caller reaps it. The child starts with an empty
// signal mask and default signal dispositions whatever the shim blocked or ignored.
// Errors name the program and the step: `exec "/x/runc": no such file or directory`,
// `chdir "/x": no such file or directory`.
absl::StatusOr<pid_t> Spawn(const SpawnOptions& options);

// execvp(3)'s search for a bare `name` in $PATH: the first regular, executable file. A name
// containing '/' is returned as is.
absl::StatusOr<std::string> FindProgram(const std::string& name);

}  // namespace liman::shim
