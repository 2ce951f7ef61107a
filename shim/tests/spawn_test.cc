#include "shim/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

namespace {

struct TestPipe {
  UniqueFd read, write;
};

TestPipe MakePipe() {
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int Wait(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

// Runs `script` with /bin/sh (or the options' program) and returns what it printed on stdout.
std::string RunShell(const std::string& script, SpawnOptions options = {}) {
  TestPipe out = MakePipe();
  if (options.path.empty()) options.path = "/bin/sh";
  options.argv = {"sh", "-c", script};
  options.stdout_fd = out.write.get();
  auto pid = Spawn(options);
  REQUIRE(pid.ok());
  out.write.reset();
  std::string text = ReadAll(out.read.get());
  int status = Wait(*pid);
  CHECK(WIFEXITED(status));
  return text;
}

}  // namespace

TEST_CASE("Spawn maps extra descriptors to their target numbers, even crosswise") {
  TestPipe p = MakePipe(), q = MakePipe();
  // Put the write ends at known numbers, then hand each one over under the other's number: a
  // naive sequence of dup2 calls would overwrite the second source with the first.
  UniqueFd x(fcntl(p.write.get(), F_DUPFD_CLOEXEC, 40));
  UniqueFd y(fcntl(q.write.get(), F_DUPFD_CLOEXEC, 41));
  REQUIRE((x && y));
  const int xn = x.get(), yn = y.get();
  p.write.reset();
  q.write.reset();
  SpawnOptions options;
  options.path = "/bin/sh";
  options.argv = {"sh", "-c", fmt::format("printf to-{0} > /proc/self/fd/{0}; printf to-{1} > /proc/self/fd/{1}",
                                           x.get(), y.get())};
  options.extra_fds = {{x.get(), y.get()}, {y.get(), x.get()}};
  auto pid = Spawn(options);
  REQUIRE(pid.ok());
  x.reset();
  y.reset();
  // p's write end became the child's fd y, q's the child's fd x.
  CHECK(ReadAll(p.read.get()) == fmt::format("to-{}", yn));
  CHECK(ReadAll(q.read.get()) == fmt::format("to-{}", xn));
  CHECK(WEXITSTATUS(Wait(*pid)) == 0);
}

TEST_CASE("Spawn gives /dev/null for missing stdio and closes every unmapped descriptor") {
  CHECK(RunShell("cat; readlink /proc/self/fd/0; readlink /proc/self/fd/2") == "/dev/null\n/dev/null\n");

  // A descriptor left without close-on-exec by mistake still does not reach the child.
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  UniqueFd leak_read(fcntl(fds[0], F_DUPFD, 50)), leak_write(fcntl(fds[1], F_DUPFD, 50));
  close(fds[0]);
  close(fds[1]);
  TestPipe three = MakePipe();
  SpawnOptions options;
  options.extra_fds = {{three.write.get(), 3}};
  std::string script = fmt::format(
      "for fd in 3 {} {}; do if [ -e /proc/self/fd/$fd ]; then echo open $fd; else echo closed $fd; fi; done",
      leak_read.get(), leak_write.get());
  CHECK(RunShell(script, options) ==
        fmt::format("open 3\nclosed {}\nclosed {}\n", leak_read.get(), leak_write.get()));
}

TEST_CASE("Spawn runs a program from its open descriptor, which the program does not inherit") {
  // Numbered inside the range the script checks, and not close-on-exec by mistake.
  UniqueFd shell_file(open("/bin/sh", O_RDONLY | O_CLOEXEC));
  REQUIRE(shell_file);
  UniqueFd program(fcntl(shell_file.get(), F_DUPFD, 20));
  REQUIRE(program);
  SpawnOptions options;
  options.path = "/nonexistent/shell-by-fd";  // only a name
  options.exec_fd = program.get();
  CHECK(RunShell("i=3; while [ $i -lt 64 ]; do [ -e /proc/self/fd/$i ] && echo open $i; i=$((i+1)); done; echo done",
                 options) == "done\n");

  UniqueFd not_a_program(open("/dev/null", O_RDONLY | O_CLOEXEC));
  options.exec_fd = not_a_program.get();
  options.path = "/nonexistent/null-by-fd";
  options.argv = {"null"};
  CHECK(Spawn(options).status().message() == "exec \"/nonexistent/null-by-fd\": permission denied");
}

TEST_CASE("Spawn reports a missing program and a bad working directory by name") {
  SpawnOptions options;
  options.path = "/nonexistent/runc";
  auto pid = Spawn(options);
  REQUIRE(!pid.ok());
  CHECK(pid.status().message() == "exec \"/nonexistent/runc\": no such file or directory");
  CHECK(pid.status().code() == absl::StatusCode::kNotFound);

  options.path = "liman-no-such-program-in-path";
  CHECK(Spawn(options).status().message() == "exec \"liman-no-such-program-in-path\": no such file or directory");

  char not_executable[] = "/tmp/liman-spawn-test-XXXXXX";
  UniqueFd file(mkstemp(not_executable));
  REQUIRE(file);
  options.path = not_executable;
  CHECK(Spawn(options).status().message() == fmt::format("exec \"{}\": permission denied", not_executable));
  unlink(not_executable);

  options.path = "/bin/true";
  options.cwd = "/nonexistent/dir";
  CHECK(Spawn(options).status().message() == "chdir \"/nonexistent/dir\": no such file or directory");
}

TEST_CASE("Spawn rejects mappings onto stdio or onto the same number twice") {
  SpawnOptions options;
  options.path = "/bin/true";
  options.extra_fds = {{0, 2}};
  CHECK(Spawn(options).status().code() == absl::StatusCode::kInvalidArgument);
  options.extra_fds = {{0, 5}, {1, 5}};
  CHECK(Spawn(options).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("Spawn sets cwd, environment and session; PATH lookup works for bare names") {
  SpawnOptions options;
  options.cwd = "/tmp";
  CHECK(RunShell("pwd", options) == "/tmp\n");

  setenv("LIMAN_SPAWN_TEST", "inherited", 1);
  CHECK(RunShell("echo $LIMAN_SPAWN_TEST", {}) == "inherited\n");
  options = {};
  options.env = {"LIMAN_SPAWN_TEST=given", "PATH=/usr/bin:/bin"};
  CHECK(RunShell("echo $LIMAN_SPAWN_TEST", options) == "given\n");
  unsetenv("LIMAN_SPAWN_TEST");

  const char* leader = "set -- $(cat /proc/$$/stat); if [ \"$6\" = \"$$\" ]; then echo leader; else echo member; fi";
  CHECK(RunShell(leader, {}) == "member\n");
  options = {};
  options.new_session = true;
  CHECK(RunShell(leader, options) == "leader\n");

  TestPipe out = MakePipe();
  SpawnOptions bare;
  bare.path = "echo";
  bare.argv = {"echo", "found"};
  bare.stdout_fd = out.write.get();
  auto pid = Spawn(bare);
  REQUIRE(pid.ok());
  out.write.reset();
  CHECK(ReadAll(out.read.get()) == "found\n");
  Wait(*pid);
}

TEST_CASE("Spawned children start with no blocked or ignored signals") {
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigaddset(&block, SIGUSR1);
  REQUIRE(sigprocmask(SIG_BLOCK, &block, &old_mask) == 0);
  struct sigaction ignore {}, old_action {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(sigaction(SIGPIPE, &ignore, &old_action) == 0);

  CHECK(RunShell("grep -E '^Sig(Blk|Ign)' /proc/self/status") ==
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");

  sigaction(SIGPIPE, &old_action, nullptr);
  sigprocmask(SIG_SETMASK, &old_mask, nullptr);
}
