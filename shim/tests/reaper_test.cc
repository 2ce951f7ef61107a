#include "shim/reaper.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "common/event_loop.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

namespace {

// A child that sleeps `delay_ms` and then exits with `code`, or kills itself with `signal`.
pid_t ForkChild(int delay_ms, int code, int signal = 0) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    usleep(static_cast<useconds_t>(delay_ms) * 1000);
    if (signal != 0) {
      ::signal(signal, SIG_DFL);  // the test framework's handlers must not report it
      kill(getpid(), signal);
    }
    _exit(code);
  }
  return pid;
}

// Waits until `pid` has exited without reaping it (waitid(2) WNOWAIT).
void WaitUntilZombie(pid_t pid) {
  siginfo_t info{};
  REQUIRE(waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == 0);
}

}  // namespace

TEST_CASE("ExitStatusCode: the exit code, or 128 plus the signal") {
  pid_t exits = ForkChild(0, 3);
  pid_t killed = ForkChild(0, 0, SIGKILL);
  pid_t terminated = ForkChild(0, 0, SIGTERM);
  int status;
  REQUIRE(waitpid(exits, &status, 0) == exits);
  CHECK(ExitStatusCode(status) == 3);
  REQUIRE(waitpid(killed, &status, 0) == killed);
  CHECK(ExitStatusCode(status) == 137);
  REQUIRE(waitpid(terminated, &status, 0) == terminated);
  CHECK(ExitStatusCode(status) == 143);
}

TEST_CASE("The reaper collects children exiting in any order and hands them to the handler") {
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  auto reaper = Reaper::Create(loop->get());
  REQUIRE(reaper.ok());

  // Exit order is the reverse of the start order; two exit at the same moment.
  std::map<pid_t, int> expected;
  expected[ForkChild(150, 1)] = 1;
  expected[ForkChild(100, 2)] = 2;
  expected[ForkChild(50, 0, SIGKILL)] = 137;
  expected[ForkChild(0, 4)] = 4;
  expected[ForkChild(0, 5)] = 5;

  std::map<pid_t, int> seen;
  (*reaper)->SetHandler([&](const ChildExit& exit) {
    if (!expected.contains(exit.pid)) return false;
    CHECK(!seen.contains(exit.pid));
    CHECK(exit.exited_at <= absl::Now());
    seen[exit.pid] = ExitStatusCode(exit.wait_status);
    return true;
  });
  RunUntil(**loop, [&] { return seen.size() == expected.size(); });
  CHECK(seen == expected);
  CHECK((*reaper)->unclaimed() == 0);
}

TEST_CASE("An exit nobody claimed yet is kept for TakeExit") {
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  auto reaper = Reaper::Create(loop->get());
  REQUIRE(reaper.ok());
  int handled = 0;
  (*reaper)->SetHandler([&](const ChildExit&) {
    ++handled;
    return false;  // as when the init exits before its pid file was read
  });
  pid_t early = ForkChild(0, 42);
  RunUntil(**loop, [&] { return handled == 1; });
  CHECK(handled == 1);
  auto exit = (*reaper)->TakeExit(early);
  REQUIRE(exit.has_value());
  CHECK(exit->pid == early);
  CHECK(ExitStatusCode(exit->wait_status) == 42);
  CHECK(!(*reaper)->TakeExit(early).has_value());
  CHECK(!(*reaper)->TakeExit(1).has_value());
}

TEST_CASE("Children that exited before the reaper existed are not lost") {
  pid_t before = ForkChild(0, 9);
  WaitUntilZombie(before);
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  auto reaper = Reaper::Create(loop->get());
  REQUIRE(reaper.ok());
  auto exit = (*reaper)->TakeExit(before);
  REQUIRE(exit.has_value());
  CHECK(ExitStatusCode(exit->wait_status) == 9);
}

TEST_CASE("WaitForChild waits for its own child and leaves other exits to the reaper") {
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  auto reaper = Reaper::Create(loop->get());
  REQUIRE(reaper.ok());
  std::set<pid_t> reaped;
  (*reaper)->SetHandler([&](const ChildExit& exit) {
    reaped.insert(exit.pid);
    return true;
  });
  pid_t other = ForkChild(0, 1);
  pid_t runtime = ForkChild(100, 7);
  WaitUntilZombie(other);  // exits while the "runtime call" blocks
  auto status = WaitForChild(runtime);
  REQUIRE(status.ok());
  CHECK(ExitStatusCode(*status) == 7);
  RunUntil(**loop, [&] { return reaped.contains(other); });
  CHECK(reaped == std::set<pid_t>{other});  // the runtime's exit was not reported twice
  CHECK(!WaitForChild(runtime).ok());       // and it is gone
}

TEST_CASE("As a subreaper the shim reaps orphaned grandchildren") {
  REQUIRE(BecomeSubreaper().ok());
  int is_subreaper = 0;
  REQUIRE(prctl(PR_GET_CHILD_SUBREAPER, &is_subreaper) == 0);
  CHECK(is_subreaper == 1);

  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  auto reaper = Reaper::Create(loop->get());
  REQUIRE(reaper.ok());
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  // The middle process starts a grandchild and exits at once, like `runtime create` leaving the
  // container's init behind; the grandchild's pid comes back through the pipe (a "pid file").
  pid_t middle = fork();
  REQUIRE(middle >= 0);
  if (middle == 0) {
    pid_t grandchild = fork();
    if (grandchild == 0) {
      usleep(100 * 1000);
      _exit(5);
    }
    ssize_t ignored = write(fds[1], &grandchild, sizeof grandchild);
    (void)ignored;
    _exit(0);
  }
  close(fds[1]);
  pid_t grandchild = 0;
  REQUIRE(read(fds[0], &grandchild, sizeof grandchild) == sizeof grandchild);
  close(fds[0]);

  std::map<pid_t, int> exits;
  (*reaper)->SetHandler([&](const ChildExit& exit) {
    exits[exit.pid] = ExitStatusCode(exit.wait_status);
    return true;
  });
  RunUntil(**loop, [&] { return exits.size() == 2; });
  CHECK(exits == std::map<pid_t, int>{{middle, 0}, {grandchild, 5}});
}
