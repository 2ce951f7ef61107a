// A temporary directory for a test: /tmp/<prefix>-XXXXXX (mkdtemp(3)), removed with everything in
// it when the test ends, failed or not.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/file_util.h"

namespace liman::test_support {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "liman-test") : path_("/tmp/" + prefix + "-XXXXXX") {
    REQUIRE(mkdtemp(path_.data()) != nullptr);
  }
  ~TempDir() {
    if (absl::Status removed = RemoveAll(path_); !removed.ok()) WARN(removed.message());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace liman::test_support
