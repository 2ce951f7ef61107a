#include "containerd/remotes/auth.h"

#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "containerd/remotes/registry.h"
#include "containerd/remotes/tests/test_registry.h"

namespace liman::containerd::remotes {
namespace {

using testing::TempDir;

TEST_CASE("WWW-Authenticate: a bearer challenge as registries send it") {
  std::vector<AuthChallenge> challenges = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  REQUIRE(challenges.size() == 1);
  CHECK(challenges[0].scheme == "bearer");
  CHECK(challenges[0].params == std::map<std::string, std::string>{{"realm", "https://auth.docker.io/token"},
                                                                   {"service", "registry.docker.io"},
                                                                   {"scope", "repository:library/busybox:pull"}});
}

TEST_CASE("WWW-Authenticate: several challenges, tokens, escapes and odd spacing") {
  std::vector<AuthChallenge> challenges = ParseWwwAuthenticate(
      R"(Basic realm="Registry \"x\", y" , BEARER realm = https://h/t, service=s,error="invalid_token")");
  REQUIRE(challenges.size() == 2);
  CHECK(challenges[0].scheme == "basic");
  CHECK(challenges[0].params.at("realm") == R"(Registry "x", y)");
  CHECK(challenges[1].scheme == "bearer");
  CHECK(challenges[1].params.at("realm") == "https://h/t");
  CHECK(challenges[1].params.at("service") == "s");
  CHECK(challenges[1].params.at("error") == "invalid_token");

  CHECK(ParseWwwAuthenticate("").empty());
  std::vector<AuthChallenge> bare = ParseWwwAuthenticate("Basic");
  REQUIRE(bare.size() == 1);
  CHECK(bare[0].params.empty());
  // Garbage never crashes; what was understood is kept.
  CHECK(ParseWwwAuthenticate(R"(Bearer realm="unterminated)").size() == 1);
  CHECK(ParseWwwAuthenticate("=== ,,, \"").empty());
}

TEST_CASE("config.json credentials: auth, username/password, URL keys, Docker Hub aliases") {
  TempDir dir;
  std::string path = JoinPath(dir.path(), "config.json");
  // "alice:s3cr:et" and "bob:pw" in base64
  REQUIRE(WriteFileAtomic(path, R"({
    "auths": {
      "127.0.0.1:5000": {"auth": "YWxpY2U6czNjcjpldA=="},
      "https://index.docker.io/v1/": {"auth": "Ym9iOnB3"},
      "http://registry.example.com/some/path": {"username": "carol", "password": "pw2"},
      "empty.example.com": {}
    },
    "credsStore": "desktop"
  })")
              .ok());

  auto lookup = [&](std::string_view host) {
    absl::StatusOr<std::optional<Credentials>> found = LookupDockerConfigCredentials(path, host);
    REQUIRE(found.ok());
    return *found;
  };
  std::optional<Credentials> local = lookup("127.0.0.1:5000");
  REQUIRE(local);
  CHECK(local->username == "alice");
  CHECK(local->password == "s3cr:et");  // only the first ':' separates
  for (std::string_view hub : {"docker.io", "index.docker.io", "registry-1.docker.io"}) {
    std::optional<Credentials> found = lookup(hub);
    REQUIRE(found);
    CHECK(found->username == "bob");
  }
  std::optional<Credentials> example = lookup("registry.example.com");
  REQUIRE(example);
  CHECK(example->username == "carol");
  CHECK(example->password == "pw2");
  CHECK_FALSE(lookup("empty.example.com"));
  CHECK_FALSE(lookup("127.0.0.1:5001"));
  CHECK_FALSE(lookup("other.example.com"));
}

TEST_CASE("config.json problems: missing file is no credentials, broken ones are errors naming the file") {
  TempDir dir;
  std::string path = JoinPath(dir.path(), "config.json");
  absl::StatusOr<std::optional<Credentials>> missing = LookupDockerConfigCredentials(path, "x");
  REQUIRE(missing.ok());
  CHECK_FALSE(*missing);

  REQUIRE(WriteFileAtomic(path, "{not json").ok());
  absl::StatusOr<std::optional<Credentials>> broken = LookupDockerConfigCredentials(path, "x");
  REQUIRE_FALSE(broken.ok());
  CHECK_THAT(std::string(broken.status().message()), Catch::Contains(path));

  REQUIRE(WriteFileAtomic(path, R"({"auths":{"x":{"auth":"!!!"}}})").ok());
  CHECK_THAT(std::string(LookupDockerConfigCredentials(path, "x").status().message()), Catch::Contains("base64"));
  REQUIRE(WriteFileAtomic(path, R"({"auths":{"x":{"auth":"bm9jb2xvbg=="}}})").ok());  // "nocolon"
  CHECK_THAT(std::string(LookupDockerConfigCredentials(path, "x").status().message()),
             Catch::Contains("username:password"));
  REQUIRE(WriteFileAtomic(path, R"({"auths":{"x":{"auth":5,"username":7}}})").ok());
  absl::StatusOr<std::optional<Credentials>> wrong_types = LookupDockerConfigCredentials(path, "x");
  REQUIRE(wrong_types.ok());
  CHECK_FALSE(*wrong_types);
}

TEST_CASE("the default config path follows DOCKER_CONFIG, then HOME") {
  const char* saved_config = getenv("DOCKER_CONFIG");
  std::string saved = saved_config ? saved_config : "";
  setenv("DOCKER_CONFIG", "/etc/dc", 1);
  CHECK(DefaultDockerConfigPath() == "/etc/dc/config.json");
  unsetenv("DOCKER_CONFIG");
  const char* home = getenv("HOME");
  CHECK(DefaultDockerConfigPath() == JoinPath(home ? home : "/root", ".docker/config.json"));
  if (saved_config) setenv("DOCKER_CONFIG", saved.c_str(), 1);
}

TEST_CASE("plain http is allowed for loopback and listed hosts only") {
  CHECK(IsPlainHttpAllowed("127.0.0.1:5000", {}));
  CHECK(IsPlainHttpAllowed("127.1.2.3", {}));
  CHECK(IsPlainHttpAllowed("localhost:5000", {}));
  CHECK(IsPlainHttpAllowed("[::1]:5000", {}));
  CHECK(IsPlainHttpAllowed("[0:0::1]:5000", {}));
  CHECK(IsPlainHttpAllowed("registry.localhost:5000", {}));
  CHECK_FALSE(IsPlainHttpAllowed("localhost.example:5000", {}));
  CHECK_FALSE(IsPlainHttpAllowed("[::2]:5000", {}));
  CHECK_FALSE(IsPlainHttpAllowed("128.0.0.1:5000", {}));
  CHECK_FALSE(IsPlainHttpAllowed("registry-1.docker.io", {}));
  CHECK(IsPlainHttpAllowed("reg.lan:5000", {"reg.lan:5000"}));
  CHECK(IsPlainHttpAllowed("reg.lan:5000", {"reg.lan"}));
  CHECK_FALSE(IsPlainHttpAllowed("reg.lan:5001", {"reg.lan:5000"}));
}

}  // namespace
}  // namespace liman::containerd::remotes
