// Finding programs on the host, as Go's exec.LookPath does for containerd and dockerd.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace liman {

// A regular file that this process may execute (stat(2), access(2) X_OK).
bool IsExecutableFile(const std::string& path);

// `name` (no slash) in each of `dirs` first, then in each absolute directory of $PATH (relative
// entries would make the answer depend on the working directory); none when nowhere.
std::optional<std::string> FindExecutable(std::string_view name, const std::vector<std::string>& dirs = {});

}  // namespace liman
