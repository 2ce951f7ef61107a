#include "common/unix_socket.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <string>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"

using namespace liman;

TEST_CASE("RemoveBoundSocket removes the daemon's own socket, not one bound after it at the same path") {
  test_support::TempDir temp("liman-socket-test");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "api.sock");

  absl::StatusOr<UniqueFd> old_listener = ListenUnix(path);
  REQUIRE(old_listener.ok());
  absl::StatusOr<BoundSocket> old_socket = StatBoundSocket(path);
  REQUIRE(old_socket.ok());
  // The old daemon stops answering; a new one replaces the path and binds its own socket.
  old_listener->reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the coarse clock's tick
  absl::StatusOr<UniqueFd> new_listener = ListenUnix(path);
  REQUIRE(new_listener.ok());
  absl::StatusOr<BoundSocket> new_socket = StatBoundSocket(path);
  REQUIRE(new_socket.ok());

  REQUIRE(RemoveBoundSocket(path, *old_socket).ok());
  CHECK(PathExists(path));
  CHECK(ConnectUnix(path).ok());
  REQUIRE(RemoveBoundSocket(path, *new_socket).ok());
  CHECK_FALSE(PathExists(path));
  CHECK(RemoveBoundSocket(path, *new_socket).ok());  // gone already: fine

  CHECK_THAT(std::string(StatBoundSocket(path).status().message()), Catch::Contains(path));
  REQUIRE(RemoveAll(dir).ok());
}
