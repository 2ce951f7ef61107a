// A temporary directory for a test: <base>/<prefix>-XXXXXX (mkdtemp(3)), removed with everything in
// it when the test ends, failed or not. The one TempDir of every test target.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "common/file_util.h"

namespace liman::test_support {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "liman-test", const std::string& base = "/tmp")
      : path_(JoinPath(base, prefix + "-XXXXXX")) {
    REQUIRE(mkdtemp(path_.data()) != nullptr);
  }
  ~TempDir() {
    if (absl::Status removed = RemoveAll(path_); !removed.ok()) WARN(removed.message());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // The path of `name` inside; nothing is made.
  std::string operator/(std::string_view name) const { return JoinPath(path_, name); }
  // Makes the directory `name` inside (and its missing parents, mode 0755); returns its path.
  std::string Subdir(std::string_view name) const {
    std::string dir = JoinPath(path_, name);
    absl::Status made = MkdirAll(dir, 0755);
    INFO(made.message());
    REQUIRE(made.ok());
    return dir;
  }

 private:
  std::string path_;
};

}  // namespace liman::test_support
