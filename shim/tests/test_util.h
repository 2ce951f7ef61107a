// Helpers the shim's unit tests share: temporary directories, draining a pipe, and driving an
// EventLoop until a condition holds.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/tests/temp_dir.h"

namespace liman::shim::testing {

using TempDir = test_support::TempDir;

// Everything readable from `fd` until end of file (or an error).
inline std::string ReadAll(int fd) {
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  return out;
}

// Runs `loop` until `done` holds (true) or `timeout` has passed (false); counts rounds if asked.
inline bool RunUntil(EventLoop& loop, const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10),
                     int* rounds = nullptr) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    REQUIRE(loop.RunOnce(absl::Milliseconds(20)).ok());
    if (rounds) ++*rounds;
  }
  return true;
}

// Runs `loop` for `duration`, whatever happens.
inline void RunFor(EventLoop& loop, absl::Duration duration, int* rounds = nullptr) {
  RunUntil(loop, [] { return false; }, duration, rounds);
}

}  // namespace liman::shim::testing
