// A read-only view of an executable, for the defence against CVE-2019-5736: liman-runtime must
// run a container's setup from a file that no process can open for writing, or a container
// reaching /proc/<pid>/exe of a runtime process could rewrite the host's binary. The runtime
// makes the view for itself (runtime/self_exe.h); the shim makes it once and starts
// liman-runtime from it, which spares every create and exec the runtime's own re-execution.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman {

// The file `binary` (an absolute path) seen through a detached overlayfs whose lower layers are
// its directory above `second_layer`: an fd no process can turn into a writable one. Fails where
// overlayfs or fsopen(2) is missing, or the two directories are nested (ELOOP).
absl::StatusOr<UniqueFd> OpenReadOnlyOverlayView(const std::string& binary, const std::string& second_layer);

// True when `fd` is a file on a read-only overlayfs: such a view, or a binary installed on a
// read-only overlay root, which no process can write through either (open(2) fails with EROFS).
bool OnReadOnlyOverlay(int fd);

}  // namespace liman
