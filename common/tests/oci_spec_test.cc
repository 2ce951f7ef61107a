#include <catch2/catch.hpp>

#include "common/oci_spec.h"

using namespace liman::oci;

TEST_CASE("ParseSpec reads the fields runc's default spec has") {
  auto spec = ParseSpec(R"({
    "ociVersion": "1.0.2",
    "process": {"terminal": true, "user": {"uid": 1, "gid": 2, "additionalGids": [3]},
                "args": ["sh"], "env": ["PATH=/bin"], "cwd": "/",
                "capabilities": {"bounding": ["CAP_KILL"]},
                "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
                "noNewPrivileges": true},
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "h",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "network", "path": "/proc/1/ns/net"}],
              "resources": {"memory": {"limit": 1048576, "swap": 0}, "pids": {"limit": 10},
                            "devices": [{"allow": false, "access": "rwm"}]},
              "maskedPaths": ["/proc/kcore"],
              "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                 {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                  "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}]}}
  })");
  REQUIRE(spec.ok());
  CHECK(spec->process->user.additional_gids == std::vector<uint32_t>{3});
  CHECK(spec->process->rlimits[0].soft == 512);
  CHECK(spec->root->readonly);
  CHECK(FindNamespace(*spec->linux, "network")->path == "/proc/1/ns/net");
  CHECK(FindNamespace(*spec->linux, "user") == nullptr);
  CHECK(*spec->linux->resources->memory->swap == 0);
  CHECK(!spec->linux->resources->memory->reservation.has_value());
  CHECK(*spec->linux->resources->pids_limit == 10);
  CHECK(spec->linux->seccomp->syscalls[0].args[0].value == 2);
  CHECK(!spec->linux->readonly_paths.has_value());

  // Round trip keeps what was set.
  auto again = ParseSpec(ToJson(*spec).dump());
  REQUIRE(again.ok());
  CHECK(ToJson(*again) == ToJson(*spec));
}

TEST_CASE("ParseSpec names the field whose type is wrong") {
  auto spec = ParseSpec(R"({"ociVersion": "1.0.2", "process": {"user": {"uid": "root"}}})");
  REQUIRE(!spec.ok());
  CHECK(spec.status().message().find("field process.user.uid") != std::string::npos);
  auto bad_mount = ParseSpec(R"({"mounts": [{"destination": "/x"}, {"destination": 5}]})");
  REQUIRE(!bad_mount.ok());
  CHECK(bad_mount.status().message().find("mounts") != std::string::npos);
  CHECK(!ParseSpec("{not json").ok());
  CHECK(!ParseSpec("[]").ok());
}
