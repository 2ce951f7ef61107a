#include "runtime/self_exe.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/file_util.h"
#include "common/status.h"
#include "common/tests/temp_dir.h"
#include "common/unique_fd.h"

using namespace liman;
using namespace liman::runtime;

namespace {

UniqueFd MemfdHolding(const std::string& bytes) {
  UniqueFd memfd(memfd_create("self-exe-test", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  REQUIRE(memfd);
  REQUIRE(write(memfd.get(), bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  return memfd;
}

void RequireImmutable(int memfd) {
  CHECK(write(memfd, "x", 1) == -1);
  CHECK(errno == EPERM);
  CHECK(ftruncate(memfd, 0) == -1);
  CHECK(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0) == MAP_FAILED);
  CHECK(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) == -1);  // F_SEAL_SEAL: the seals are final
}

}  // namespace

TEST_CASE("an unreferenced memfd copy is sealed with F_SEAL_WRITE", "[self_exe]") {
  UniqueFd memfd = MemfdHolding(std::string(8192, 'a'));
  REQUIRE(SealExecutableCopy(memfd.get()).ok());
  int seals = fcntl(memfd.get(), F_GET_SEALS);
  CHECK((seals & F_SEAL_WRITE) != 0);
  CHECK((seals & (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW));
  RequireImmutable(memfd.get());
}

TEST_CASE("a memfd copy whose page is still referenced is sealed with F_SEAL_FUTURE_WRITE", "[self_exe]") {
  UniqueFd memfd = MemfdHolding(std::string(8192, 'b'));
  // A page spliced into a pipe keeps a reference until the pipe is read, which is what makes the
  // kernel answer F_SEAL_WRITE with EBUSY (memfd_wait_for_pins in mm/memfd.c).
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  loff_t offset = 0;
  REQUIRE(splice(memfd.get(), &offset, write_end.get(), nullptr, 4096, 0) == 4096);
  REQUIRE(fcntl(memfd.get(), F_ADD_SEALS, F_SEAL_WRITE) == -1);
  REQUIRE(errno == EBUSY);

  REQUIRE(SealExecutableCopy(memfd.get()).ok());
  int seals = fcntl(memfd.get(), F_GET_SEALS);
  CHECK((seals & F_SEAL_FUTURE_WRITE) != 0);
  CHECK((seals & F_SEAL_WRITE) == 0);
  RequireImmutable(memfd.get());
}

TEST_CASE("sealing a descriptor that is not a memfd names the step and the cause", "[self_exe]") {
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  absl::Status sealed = SealExecutableCopy(read_end.get());
  REQUIRE_FALSE(sealed.ok());
  CHECK(std::string(sealed.message()).find("seal the memfd copy of liman-runtime") != std::string::npos);
}

TEST_CASE("the overlay view of a binary reads the same bytes and cannot be written", "[self_exe]") {
  if (geteuid() != 0) {
    WARN("skipped: not root: overlayfs needs CAP_SYS_ADMIN");
    return;
  }
  test_support::TempDir binaries("liman-self-exe-bin"), empty("liman-self-exe-empty");
  std::string binary = JoinPath(binaries.path(), "tool");
  const std::string original = "#!/bin/sh\necho original\n";
  REQUIRE(WriteFileAtomic(binary, original, 0755).ok());
  // A file of the same name in the lower layer below must not mask the binary.
  REQUIRE(WriteFileAtomic(JoinPath(empty.path(), "tool"), "masked", 0755).ok());

  auto view = OpenReadOnlyOverlayView(binary, empty.path());
  REQUIRE(view.ok());
  struct statfs fs;
  REQUIRE(fstatfs(view->get(), &fs) == 0);
  CHECK(fs.f_type == OVERLAYFS_SUPER_MAGIC);
  CHECK((fs.f_flags & ST_RDONLY) != 0);
  char bytes[64] = {};
  CHECK(pread(view->get(), bytes, sizeof bytes - 1, 0) == static_cast<ssize_t>(original.size()));
  CHECK(std::string(bytes) == original);
  // What a container does with /proc/<pid>/exe: reopen the magic link for writing.
  std::string magic = "/proc/self/fd/" + std::to_string(view->get());
  CHECK(open(magic.c_str(), O_WRONLY | O_CLOEXEC) == -1);
  CHECK(errno == EROFS);
  CHECK(open(magic.c_str(), O_RDWR | O_TRUNC | O_CLOEXEC) == -1);
  CHECK(*ReadFile(binary) == original);
}

TEST_CASE("an overlay view over nested directories fails and says why", "[self_exe]") {
  if (geteuid() != 0) {
    WARN("skipped: not root: overlayfs needs CAP_SYS_ADMIN");
    return;
  }
  test_support::TempDir binaries("liman-self-exe-bin");
  std::string binary = JoinPath(binaries.path(), "tool");
  REQUIRE(WriteFileAtomic(binary, "x", 0755).ok());
  REQUIRE(MkdirAll(JoinPath(binaries.path(), "inner")).ok());
  auto nested = OpenReadOnlyOverlayView(binary, JoinPath(binaries.path(), "inner"));
  REQUIRE_FALSE(nested.ok());
  CHECK(std::string(nested.status().message()).find("overlay lowerdir=") != std::string::npos);
  auto relative = OpenReadOnlyOverlayView("tool", binaries.path());
  REQUIRE_FALSE(relative.ok());
  CHECK(std::string(relative.status().message()).find("\"tool\"") != std::string::npos);
}
