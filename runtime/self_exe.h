// Defence against CVE-2019-5736: liman-runtime runs the container's setup from a sealed memfd
// copy of itself, so a container that reaches /proc/<pid>/exe of a runtime process can only see
// an immutable anonymous file, never the host's binary.
#pragma once

#include "absl/status/status.h"

namespace liman::runtime {

// True when /proc/self/exe is a memfd sealed against writes.
bool RunningFromSealedCopy();

// Makes a memfd immutable: F_SEAL_SEAL|SHRINK|GROW with F_SEAL_WRITE, or F_SEAL_FUTURE_WRITE when
// the kernel answers EBUSY for F_SEAL_WRITE because some page of it is still referenced.
absl::Status SealExecutableCopy(int memfd);

// If not yet running from a sealed copy: copies /proc/self/exe into a memfd, seals it
// (F_SEAL_SEAL|SHRINK|GROW and WRITE, or FUTURE_WRITE when WRITE is busy) and fexecve(3)s it with the same argv and environment.
// Returns only on failure.
absl::Status ReexecFromSealedCopy(char** argv);

}  // namespace liman::runtime
