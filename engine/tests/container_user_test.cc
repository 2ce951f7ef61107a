#include "engine/daemon/container_user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/file_util.h"
#include "common/unique_fd.h"
#include "engine/daemon/docker_spec.h"
#include "common/tests/temp_dir.h"

namespace liman::engine {
namespace {

const std::string kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "broken line\n"
    "www-data:x:33:33:www-data:/var/www:/bin/false\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n";
const std::string kGroup =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "wheel:x:10:root\n"
    "www-data:x:33:\n"
    "web:x:500:www-data,nobody\n"
    "video:x:44:\n";

ContainerUser Resolve(std::string_view user, std::vector<std::string> group_add = {}) {
  absl::StatusOr<ContainerUser> resolved = ResolveContainerUser(user, group_add, kPasswd, kGroup);
  REQUIRE(resolved.ok());
  return *resolved;
}

std::string Error(std::string_view user, std::vector<std::string> group_add = {},
                  const std::optional<std::string>& passwd = kPasswd) {
  absl::StatusOr<ContainerUser> resolved = ResolveContainerUser(user, group_add, passwd, kGroup);
  REQUIRE_FALSE(resolved.ok());
  return std::string(resolved.status().message());
}

TEST_CASE("--user names and numbers resolve as runc's GetExecUser does") {
  ContainerUser root = Resolve("");
  CHECK(root.uid == 0);
  CHECK(root.gid == 0);
  CHECK(root.additional_gids == std::vector<uint32_t>{10});  // root is listed in wheel
  CHECK(root.home == "/root");

  ContainerUser web = Resolve("www-data");
  CHECK(web.uid == 33);
  CHECK(web.gid == 33);
  CHECK(web.additional_gids == std::vector<uint32_t>{500});
  CHECK(web.home == "/var/www");

  // A uid with an entry takes that entry's group; one without gets group 0 and home "/".
  CHECK(Resolve("65534").gid == 65534);
  ContainerUser unknown = Resolve("4242");
  CHECK(unknown.uid == 4242);
  CHECK(unknown.gid == 0);
  CHECK(unknown.home == "/");
  CHECK(unknown.additional_gids.empty());

  // An explicit group replaces the primary group and drops the implicit memberships.
  ContainerUser explicit_group = Resolve("nobody:video");
  CHECK(explicit_group.uid == 65534);
  CHECK(explicit_group.gid == 44);
  CHECK(explicit_group.additional_gids.empty());
  CHECK(Resolve("1000:2000").gid == 2000);

  // --group-add, by name or number, comes on top.
  CHECK(Resolve("daemon", {"video", "777"}).additional_gids == std::vector<uint32_t>{44, 777});
}

TEST_CASE("unknown names are refused with Docker's words") {
  CHECK(Error("nosuch") == "unable to find user nosuch: no matching entries in passwd file");
  CHECK(Error("root:nogroup") == "unable to find group nogroup: no matching entries in group file");
  CHECK(Error("root", {"nogroup"}) == "unable to find group nogroup: no matching entries in group file");
  CHECK(Error("-1") == "unable to find user -1: no matching entries in passwd file");
  CHECK(Error("4294967296") == "unable to find user 4294967296: no matching entries in passwd file");
  // An image without /etc/passwd still takes numbers.
  CHECK(Error("root", {}, std::nullopt) == "unable to find user root: no matching entries in passwd file");
  absl::StatusOr<ContainerUser> numeric = ResolveContainerUser("7:8", {}, std::nullopt, std::nullopt);
  REQUIRE(numeric.ok());
  CHECK(numeric->uid == 7);
  CHECK(numeric->gid == 8);
}

TEST_CASE("the files are read inside the container's root, and the spec gets user, groups and HOME") {
  test_support::TempDir temp("liman-user-test");
  std::string root = temp.path();
  REQUIRE(MkdirAll(JoinPath(root, "etc")).ok());
  REQUIRE(WriteFileAtomic(JoinPath(root, "etc/real-passwd"), kPasswd).ok());
  REQUIRE(WriteFileAtomic(JoinPath(root, "etc/group"), kGroup).ok());
  // An absolute symlink resolves inside the root, not on the host.
  REQUIRE(symlink("/etc/real-passwd", JoinPath(root, "etc/passwd").c_str()) == 0);
  UniqueFd root_fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(root_fd);

  nlohmann::ordered_json spec = {{"process", {{"env", {"PATH=/bin"}}, {"user", {{"uid", 0}, {"gid", 0}}}}}};
  REQUIRE(CompleteSpecUser(root_fd.get(), {{"User", "www-data"}}, {{"GroupAdd", {"video"}}}, spec).ok());
  CHECK(spec["process"]["user"]["uid"] == 33);
  CHECK(spec["process"]["user"]["gid"] == 33);
  CHECK(spec["process"]["user"]["additionalGids"] == nlohmann::json({500, 44}));
  CHECK(spec["process"]["env"] == nlohmann::json({"PATH=/bin", "HOME=/var/www"}));

  // HOME set by the request stays.
  nlohmann::ordered_json with_home = {{"process", {{"env", {"HOME=/data"}}}}};
  REQUIRE(CompleteSpecUser(root_fd.get(), {{"User", "nobody"}}, nlohmann::json::object(), with_home).ok());
  CHECK(with_home["process"]["env"] == nlohmann::json({"HOME=/data"}));

  // A FIFO where /etc/group should be is refused, not read.
  REQUIRE(unlink(JoinPath(root, "etc/group").c_str()) == 0);
  REQUIRE(mkfifo(JoinPath(root, "etc/group").c_str(), 0644) == 0);
  absl::StatusOr<ContainerUser> fifo = ResolveContainerUserInRoot(root_fd.get(), "root", {});
  REQUIRE_FALSE(fifo.ok());
  CHECK(std::string(fifo.status().message()).find("\"/etc/group\" in the container is not a regular file") == 0);
  REQUIRE(RemoveAll(root).ok());
}

}  // namespace
}  // namespace liman::engine
