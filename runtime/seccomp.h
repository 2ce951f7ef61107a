// Seccomp from the spec: compiled to BPF in the parent with libseccomp (allocations allowed there),
// installed in the container's init with seccomp(2) as the last step before execve, without
// allocating.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "nlohmann/json.hpp"

namespace liman::runtime {

struct SeccompProgram {
  std::vector<sock_filter> filter;
  unsigned int flags = 0;        // SECCOMP_FILTER_FLAG_* from spec "flags" (+ NEW_LISTENER for notify)
  bool uses_notify = false;      // some rule has SCMP_ACT_NOTIFY: a listener fd must go to listenerPath
};

// Errors name the offending syscall, action, architecture, flag or operator. Syscall names this
// libseccomp does not know are skipped (debug log), as runc does. Like runc, SCMP_ACT_NOTIFY is
// refused as defaultAction and for "write" (the init must still report the listener fd), and
// requires listenerPath. No defaultAction and no rules: an empty program (seccomp off).
absl::StatusOr<SeccompProgram> CompileSeccomp(const oci::Seccomp& seccomp);

// In the child. Returns 0 or an errno. With uses_notify, *listener_fd receives the notify fd.
// Needs CAP_SYS_ADMIN or no_new_privs already set (seccomp(2)), so call it after
// prctl(PR_SET_NO_NEW_PRIVS) or while still privileged. An empty program installs nothing.
int InstallSeccomp(const SeccompProgram& program, int* listener_fd);

// The message runc sends to the seccomp agent: a specs.ContainerProcessState
// {"ociVersion","fds":["seccompFd"],"pid","metadata","state":<OCI state>} as JSON text.
std::string SeccompProcessStateJson(const nlohmann::json& state, int pid, const std::string& metadata);

// After install (parent side, from the fd the child passed up): connects to listenerPath and sends
// the listener fd with the container state JSON as runc does (seccomp notify protocol).
absl::Status SendSeccompListener(const std::string& listener_path, int listener_fd,
                                 const std::string& state_json);

}  // namespace liman::runtime
