// ExitWatch with a real task: cancelled waits return at once and share one waiter; the waiter
// ends with the process.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "containerd/services/tasks/exit_watch.h"
#include "containerd/tasks/tests/test_env.h"

using liman::containerd::services::ExitWatch;
using liman::containerd::tasks::ExitInfo;
using liman::containerd::tasks::testing::kLimanRuntime;
using liman::containerd::tasks::testing::kNamespace;
using liman::containerd::tasks::testing::TaskTestEnv;

TEST_CASE("ExitWatch: cancelled waits leave one waiter per process, which ends with it", "[tasks-service][liman]") {
  TaskTestEnv env;
  auto options = env.Options("watched", "trap 'exit 42' TERM; while true; do sleep 0.1; done", kLimanRuntime);
  REQUIRE(env.manager->Create(kNamespace, "watched", options).ok());
  REQUIRE(env.manager->Start(kNamespace, "watched").ok());

  ExitWatch watch(env.manager.get());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<ExitInfo> cancelled = watch.Wait(kNamespace, "watched", "", [] { return true; });
    CHECK(cancelled.status().code() == absl::StatusCode::kCancelled);
  }
  CHECK(watch.active_waiters() == 1);

  // Waits that stay get the exit, from that same waiter.
  absl::StatusOr<ExitInfo> first;
  std::atomic<bool> never{false};
  std::thread waiter([&] { first = watch.Wait(kNamespace, "watched", "", [&] { return never.load(); }); });
  REQUIRE(env.manager->Kill(kNamespace, "watched", "", SIGTERM, false).ok());
  absl::StatusOr<ExitInfo> second = watch.Wait(kNamespace, "watched", "", [] { return false; });
  waiter.join();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->exit_status == 42);
  CHECK(second->exit_status == 42);
  // The waiter leaves the list before it answers.
  CHECK(watch.active_waiters() == 0);

  // A later Wait asks again (the stopped task answers at once).
  absl::StatusOr<ExitInfo> again = watch.Wait(kNamespace, "watched", "", [] { return false; });
  REQUIRE(again.ok());
  CHECK(again->exit_status == 42);
  REQUIRE(env.manager->Delete(kNamespace, "watched").ok());
}
