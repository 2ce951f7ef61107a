#include "containerd/tasks/shim_binary.h"

#include "common/executable_path.h"
#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::tasks {

std::string ShimBinaryName(std::string_view runtime) {
  size_t last_dot = runtime.rfind('.');
  if (last_dot == std::string_view::npos || last_dot == 0) return "";
  size_t previous_dot = runtime.rfind('.', last_dot - 1);
  std::string_view name = runtime.substr(previous_dot == std::string_view::npos ? 0 : previous_dot + 1,
                                         last_dot - (previous_dot == std::string_view::npos ? 0 : previous_dot + 1));
  std::string_view version = runtime.substr(last_dot + 1);
  if (name.empty() || version.empty()) return "";
  return fmt::format("containerd-shim-{}-{}", name, version);
}

absl::StatusOr<std::string> ResolveShimBinary(std::string_view runtime, const std::vector<std::string>& search_dirs) {
  if (runtime.empty()) return absl::InvalidArgumentError("no runtime name");
  if (runtime.starts_with('/')) {
    std::string path(runtime);
    if (!IsExecutableFile(path))
      return absl::NotFoundError(fmt::format("invalid custom binary path {}: not an executable file", Quote(path)));
    return path;
  }
  std::string name = ShimBinaryName(runtime);
  if (name.empty() || runtime.find('/') != std::string_view::npos)
    return absl::InvalidArgumentError(
        fmt::format("invalid runtime name {}, correct runtime name should be either format like "
                    "`io.containerd.runc.v1` or a full path to the binary",
                    Quote(runtime)));
  if (std::optional<std::string> found = FindExecutable(name, search_dirs)) return *found;
  return absl::NotFoundError(fmt::format("runtime {} binary not installed {}: no such file or directory",
                                         Quote(runtime), Quote(name)));
}

std::string SelfExecutable() { return ReadLink("/proc/self/exe").value_or(""); }

std::string SelfExecutableDir() { return ParentDirectory(SelfExecutable()); }

std::string ManagerCommand() {
  std::string beside = JoinPath(SelfExecutableDir(), "liman-containerd");
  return PathExists(beside) ? beside : SelfExecutable();
}

}  // namespace liman::containerd::tasks
