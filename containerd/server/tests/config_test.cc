#include "containerd/server/config.h"

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"

namespace liman::containerd::server {
namespace {

using liman::test_support::TempDir;

TEST_CASE("defaults live under /var/lib/liman and /run/liman", "[config]") {
  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig({});
  REQUIRE(config.ok());
  CHECK(config->root == "/var/lib/liman/containerd");
  CHECK(config->state == "/run/liman/containerd");
  CHECK(config->grpc_address == "/run/liman/containerd/containerd.sock");
  CHECK(config->TtrpcAddress() == "/run/liman/containerd/containerd.sock.ttrpc");
  CHECK(config->log_level == "info");
  CHECK_FALSE(config->sync_fs);
  CHECK(config->insecure_registries.empty());
}

TEST_CASE("the [liman] table sets sync_fs, insecure registries and the credentials file", "[config]") {
  DaemonConfig config;
  REQUIRE(ApplyConfigToml(R"([liman]
sync_fs = true
insecure_registries = ["10.0.0.5:5000", "registry.lan"]
docker_config = "/etc/liman/docker-config.json"
)", "x", &config).ok());
  CHECK(config.sync_fs);
  CHECK(config.insecure_registries == std::vector<std::string>{"10.0.0.5:5000", "registry.lan"});
  CHECK(config.docker_config == "/etc/liman/docker-config.json");
  CHECK(ApplyConfigToml("[liman]\nsync_fs = \"yes\"\n", "x", &config).code() == absl::StatusCode::kInvalidArgument);
  CHECK(ApplyConfigToml("[liman]\ninsecure_registries = \"a\"\n", "x", &config).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a containerd config file sets root, state, addresses and level", "[config]") {
  TempDir dir;
  std::string path = dir / "config.toml";
  REQUIRE(WriteFileAtomic(path, R"(version = 2
root = "/srv/ctrd"
state = "/run/ctrd"
oom_score = -999

[grpc]
  address = "/run/ctrd/ctrd.sock"
  max_recv_message_size = 16777216

[ttrpc]
  address = "/run/ctrd/ctrd.sock.events"

[debug]
  level = "debug"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.6"
)").ok());
  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig({.config_path = path});
  REQUIRE(config.ok());
  CHECK(config->root == "/srv/ctrd");
  CHECK(config->state == "/run/ctrd");
  CHECK(config->grpc_address == "/run/ctrd/ctrd.sock");
  CHECK(config->TtrpcAddress() == "/run/ctrd/ctrd.sock.events");
  CHECK(config->log_level == "debug");
}

TEST_CASE("flags override the config file", "[config]") {
  TempDir dir;
  std::string path = dir / "config.toml";
  REQUIRE(WriteFileAtomic(path, "root = \"/srv/a\"\nstate = \"/run/a\"\n[debug]\nlevel = \"debug\"\n").ok());
  absl::StatusOr<DaemonConfig> config =
      LoadDaemonConfig({.config_path = path, .root = "/srv/b", .grpc_address = "/run/b.sock", .log_level = "warn"});
  REQUIRE(config.ok());
  CHECK(config->root == "/srv/b");
  CHECK(config->state == "/run/a");
  CHECK(config->grpc_address == "/run/b.sock");
  CHECK(config->log_level == "warn");
}

TEST_CASE("a missing config file leaves the defaults, like containerd", "[config]") {
  TempDir dir;
  absl::StatusOr<DaemonConfig> config = LoadDaemonConfig({.config_path = dir / "absent.toml"});
  REQUIRE(config.ok());
  CHECK(config->root == kDefaultRoot);
}

TEST_CASE("bad config files are invalid arguments naming the file", "[config]") {
  DaemonConfig config;
  absl::Status syntax = ApplyConfigToml("root = \n", "/etc/x.toml", &config);
  CHECK(syntax.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(syntax.message()), Catch::StartsWith("load config \"/etc/x.toml\": "));
  CHECK(ApplyConfigToml("root = 5\n", "x", &config).code() == absl::StatusCode::kInvalidArgument);
  CHECK(ApplyConfigToml("grpc = \"/x.sock\"\n", "x", &config).code() == absl::StatusCode::kInvalidArgument);
  CHECK(ApplyConfigToml("[debug]\nlevel = true\n", "x", &config).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the merged config is validated", "[config]") {
  CHECK(LoadDaemonConfig({.root = "relative"}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadDaemonConfig({.state = ""}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadDaemonConfig({.root = "/x", .state = "/x"}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadDaemonConfig({.grpc_address = ""}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadDaemonConfig({.log_level = "loud"}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ParseLogLevel knows containerd's level names", "[config]") {
  CHECK(*ParseLogLevel("trace") == LogLevel::kDebug);
  CHECK(*ParseLogLevel("debug") == LogLevel::kDebug);
  CHECK(*ParseLogLevel("info") == LogLevel::kInfo);
  CHECK(*ParseLogLevel("warning") == LogLevel::kWarn);
  CHECK(*ParseLogLevel("panic") == LogLevel::kError);
  CHECK(*ParseLogLevel("INFO") == LogLevel::kInfo);
  CHECK_FALSE(ParseLogLevel("loud").ok());
}

}  // namespace
}  // namespace liman::containerd::server
