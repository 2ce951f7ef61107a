#include "common/executable_path.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "common/file_util.h"

namespace liman {

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::optional<std::string> FindExecutable(std::string_view name, const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    std::string candidate = JoinPath(dir, name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  const char* path_env = getenv("PATH");
  std::string_view path_dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  while (!path_dirs.empty()) {
    size_t colon = path_dirs.find(':');
    std::string_view dir = path_dirs.substr(0, colon);
    if (dir.starts_with('/')) {
      std::string candidate = JoinPath(dir, name);
      if (IsExecutableFile(candidate)) return candidate;
    }
    if (colon == std::string_view::npos) break;
    path_dirs.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

}  // namespace liman
