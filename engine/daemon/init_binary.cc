#include "engine/daemon/init_binary.h"

#include <optional>
#include <vector>

#include "common/executable_path.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

absl::StatusOr<std::string> LookupInitPath(const std::string& configured) {
  std::string binary = configured.empty() ? kDefaultInitBinary : configured;
  if (binary.starts_with('/')) {
    if (!IsExecutableFile(binary))
      return absl::FailedPreconditionError(fmt::format("init binary {}: not an executable file", Quote(binary)));
    return binary;
  }
  static const std::vector<std::string> kLibexecDirs = {"/usr/local/libexec/docker", "/usr/libexec/docker",
                                                        "/usr/local/lib/docker", "/usr/lib/docker"};
  if (std::optional<std::string> found = FindExecutable(binary, kLibexecDirs)) return *found;
  if (configured.empty())
    if (std::optional<std::string> tini = FindExecutable("tini-static")) return *tini;
  return absl::FailedPreconditionError(
      fmt::format("--init: init binary {} not found in the docker libexec directories nor in $PATH{} (install "
                  "Debian's tini, or start limand with --init-path)",
                  Quote(binary), configured.empty() ? ", and no tini-static in $PATH" : ""));
}

}  // namespace liman::engine
