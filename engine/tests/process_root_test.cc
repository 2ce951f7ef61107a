// OpenProcessRoot: the root a process sees (here a child chrooted into a temporary directory),
// and a process that is gone named in the error.
#include "engine/daemon/process_root.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/tests/temp_dir.h"
#include "fmt/format.h"

using namespace liman;
using namespace liman::engine;

TEST_CASE("a process's root is the directory it chrooted into; a process that is gone is an error") {
  test_support::TempDir dir("process-root");
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(ready[0]);
    char ok = chroot(dir.path().c_str()) == 0 ? 'y' : 'n';
    (void)!write(ready[1], &ok, 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char ok = 0;
  REQUIRE(read(ready[0], &ok, 1) == 1);
  close(ready[0]);
  REQUIRE(ok == 'y');

  absl::StatusOr<UniqueFd> root = OpenProcessRoot(child);
  INFO(root.status().message());
  REQUIRE(root.ok());
  struct stat seen, expected;
  REQUIRE(fstat(root->get(), &seen) == 0);
  REQUIRE(stat(dir.path().c_str(), &expected) == 0);
  CHECK(seen.st_dev == expected.st_dev);
  CHECK(seen.st_ino == expected.st_ino);

  kill(child, SIGKILL);
  REQUIRE(waitpid(child, nullptr, 0) == child);
  absl::StatusOr<UniqueFd> gone = OpenProcessRoot(child);
  CHECK(gone.status().message() == fmt::format("pidfd_open {}: no such process", child));
}
