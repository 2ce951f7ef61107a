// Test helper: run a body in a forked child (for code that changes process-wide state such as
// capabilities or seccomp filters).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>

namespace liman::testing {

// Runs `body` in a forked child and returns its exit code (128+signal if it was killed). The
// child reports through the code only: Catch2 assertions must stay in the parent.
inline int RunInChild(const std::function<int()>& body) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(body());
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace liman::testing
