// Defence against CVE-2019-5736: liman-runtime runs the container's setup from a sealed memfd
// copy of itself, so a container that reaches /proc/<pid>/exe of a runtime process can only see
// an immutable anonymous file, never the host's binary.
#pragma once

#include "absl/status/status.h"

namespace liman::runtime {

// True when /proc/self/exe is a memfd sealed against writes.
bool RunningFromSealedCopy();

// If not yet running from a sealed copy: copies /proc/self/exe into a memfd, seals it
// (F_SEAL_SEAL|SHRINK|GROW|WRITE) and fexecve(3)s it with the same argv and environment.
// Returns only on failure.
absl::Status ReexecFromSealedCopy(char** argv);

}  // namespace liman::runtime
