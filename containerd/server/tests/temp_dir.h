// A private temporary directory for one test, removed with everything in it when the test ends
// (also when it fails).
#pragma once

#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "common/file_util.h"

namespace liman::containerd::server::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/liman-ctrd-server-test.XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { (void)RemoveAll(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Join(const std::string& name) const { return JoinPath(path_, name); }

 private:
  std::string path_;
};

}  // namespace liman::containerd::server::testing
