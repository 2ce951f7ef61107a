#include "runtime/self_exe.h"

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/status.h"
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
