// Test helpers for the cgroup manager: a temporary directory that stands in for /sys/fs/cgroup
// and /proc, and a log of every knob write.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::testing {

using TempDir = test_support::TempDir;

// Creates `path` (and its directory) holding `content`.
inline void Put(const std::string& path, std::string_view content = "") {
  std::string dir = path.substr(0, path.find_last_of('/'));
  REQUIRE(MkdirAll(dir).ok());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  close(fd);
}

inline std::string Get(const std::string& path) {
  auto content = ReadFile(path);
  if (!content.ok()) return fmt::format("<{}>", std::string(content.status().message()));
  return *content;
}

// Records knob writes for the lifetime of the object.
class WriteLog {
 public:
  WriteLog() {
    SetKnobWriteObserverForTesting(
        [this](const std::string& path, std::string_view value) { writes_.emplace_back(path, std::string(value)); });
  }
  ~WriteLog() { SetKnobWriteObserverForTesting(nullptr); }
  const std::vector<std::pair<std::string, std::string>>& writes() const { return writes_; }
  // The values written to files whose path ends with `suffix`, in order.
  std::vector<std::string> To(std::string_view suffix) const {
    std::vector<std::string> values;
    for (const auto& [path, value] : writes_)
      if (path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0)
        values.push_back(value);
    return values;
  }
  // "file=value" for every write, file relative to `base`.
  std::vector<std::string> Relative(const std::string& base) const {
    std::vector<std::string> out;
    for (const auto& [path, value] : writes_)
      out.push_back((path.rfind(base + "/", 0) == 0 ? path.substr(base.size() + 1) : path) + "=" + value);
    return out;
  }
  void Clear() { writes_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> writes_;
};

using Strings = std::vector<std::string>;

}  // namespace liman::cgroups::testing
