// Which program serves a runtime: containerd 1.6's rule (runtime/v2/manager.go
// resolveRuntimePath). "io.containerd.<name>.<version>" is served by
// "containerd-shim-<name>-<version>" (io.containerd.runc.v2 -> containerd-shim-runc-v2,
// io.containerd.liman.v2 -> containerd-shim-liman-v2, i.e. liman-shim); an absolute path names
// the shim binary itself.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::containerd::tasks {

// "containerd-shim-<name>-<version>" from the last two dot-separated parts of `runtime`;
// empty when it has fewer than two.
std::string ShimBinaryName(std::string_view runtime);

// The shim's absolute path: an absolute `runtime` must exist; otherwise the binary is looked up
// in each of `search_dirs` first (containerd looks beside its own executable), then in $PATH.
// NotFound naming the runtime and the binary when there is none; InvalidArgument for a name
// that is not of the io.containerd.<name>.<version> form.
absl::StatusOr<std::string> ResolveShimBinary(std::string_view runtime, const std::vector<std::string>& search_dirs);

// The directory of /proc/self/exe: where the daemon's own shims live.
std::string SelfExecutableDir();
// /proc/self/exe resolved.
std::string SelfExecutable();
// The manager as a command for shims (-publish-binary): the `liman-containerd` link beside
// /proc/self/exe, since the daemons' multi-call binary picks the daemon by name; else
// /proc/self/exe.
std::string ManagerCommand();

}  // namespace liman::containerd::tasks
