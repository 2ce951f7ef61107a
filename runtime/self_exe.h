// Defence against CVE-2019-5736: liman-runtime runs the container's setup from a view of itself
// that no process can write, so a container that reaches /proc/<pid>/exe of a runtime process can
// never modify the host's binary. Two views, the first that works:
// - the binary seen through a detached overlayfs with only lower layers (runc 1.2's method): the
//   kernel makes such a superblock read-only and nothing can remount it writable; it shares the
//   binary's page cache, so nothing is copied;
// - a memfd copy of the binary, sealed against writes (runc 1.1's method), where overlayfs or the
//   new mount API is missing or refuses the layers.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman::runtime {

// True when /proc/self/exe is one of the two views above (the overlay one possibly made by the
// shim that started us).
bool RunningFromSealedCopy();

// Makes a memfd immutable: F_SEAL_SEAL|SHRINK|GROW with F_SEAL_WRITE, or F_SEAL_FUTURE_WRITE when
// the kernel answers EBUSY for F_SEAL_WRITE because some page of it is still referenced.
absl::Status SealExecutableCopy(int memfd);

// If not yet running from a sealed view: re-executes /proc/self/exe through one (fexecve(3), the
// same argv and environment). `empty_dir` is an existing directory outside the binary's own
// directory tree (the runtime's state root): overlayfs needs a second lower layer, and the
// binary's directory is stacked above it so nothing in it can mask the binary.
// Returns only on failure.
absl::Status ReexecFromSealedCopy(char** argv, const std::string& empty_dir);

}  // namespace liman::runtime
