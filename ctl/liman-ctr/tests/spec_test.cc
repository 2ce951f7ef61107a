#include "ctl/liman-ctr/spec.h"

#include <catch2/catch.hpp>

namespace liman::ctr {
namespace {

using nlohmann::ordered_json;

ImageConfig BusyboxConfig() {
  ImageConfig config;
  config.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
  config.cmd = {"sh"};
  return config;
}

TEST_CASE("DefaultSpec is containerd's default Linux spec") {
  ordered_json spec = DefaultSpec("ns1", "c1");
  CHECK(spec["ociVersion"] == "1.0.2-dev");
  CHECK(spec["root"]["path"] == "rootfs");
  CHECK(spec["process"]["cwd"] == "/");
  CHECK(spec["process"]["noNewPrivileges"] == true);
  CHECK(spec["process"]["capabilities"]["bounding"].size() == 14);
  CHECK(spec["process"]["capabilities"].contains("inheritable") == false);
  CHECK(spec["process"]["rlimits"][0]["type"] == "RLIMIT_NOFILE");
  CHECK(spec["process"]["rlimits"][0]["hard"] == 1024);
  REQUIRE(spec["mounts"].size() == 7);
  CHECK(spec["mounts"][0]["destination"] == "/proc");
  CHECK(spec["mounts"][2]["options"] ==
        ordered_json({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  CHECK(spec["mounts"][6]["destination"] == "/run");
  CHECK(spec["linux"]["cgroupsPath"] == "/ns1/c1");
  CHECK(spec["linux"]["namespaces"].size() == 5);
  CHECK(spec["linux"]["namespaces"][4]["type"] == "network");
  CHECK(spec["linux"]["maskedPaths"].size() == 10);
  CHECK(spec["linux"]["readonlyPaths"].size() == 5);
  const ordered_json& devices = spec["linux"]["resources"]["devices"];
  REQUIRE(devices.size() == 10);
  CHECK(devices[0] == ordered_json{{"allow", false}, {"access", "rwm"}});
  CHECK(devices[1] == ordered_json{{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rwm"}});
  CHECK(devices[8] == ordered_json{{"allow", true}, {"type", "c"}, {"major", 136}, {"access", "rwm"}});
  // Go's field order survives: ociVersion, process, root, mounts, linux.
  std::vector<std::string> keys;
  for (const auto& item : spec.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"ociVersion", "process", "root", "mounts", "linux"});
}

TEST_CASE("RunSpec takes the image config: Env, Entrypoint+Cmd, WorkingDir, User") {
  ImageConfig config = BusyboxConfig();
  config.entrypoint = {"/bin/entry"};
  config.working_dir = "/srv";
  config.user = "1000";
  RunSpecOptions options{"default", "c1"};
  auto spec = RunSpec(config, options);
  REQUIRE(spec.ok());
  const ordered_json& process = (*spec)["process"];
  CHECK(process["args"] == ordered_json({"/bin/entry", "sh"}));
  CHECK(process["env"] == ordered_json({"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}));
  CHECK(process["cwd"] == "/srv");
  CHECK(process["user"] == ordered_json{{"uid", 1000}, {"gid", 0}});
  CHECK(process.contains("terminal") == false);
  CHECK((*spec)["linux"]["cgroupsPath"] == "/default/c1");
  CHECK((*spec)["linux"]["resources"]["cpu"] == ordered_json{{"shares", 1024}});
}

TEST_CASE("RunSpec: the command given replaces Entrypoint and Cmd; --env, --cwd, -t, --cgroup apply") {
  ImageConfig config = BusyboxConfig();
  config.entrypoint = {"/bin/entry"};
  RunSpecOptions options{"default", "c1"};
  options.args = {"echo", "hi"};
  options.env = {"HOME=/home", "NEW=1", "PATH"};
  options.cwd = "/tmp";
  options.terminal = true;
  options.cgroup = "/mine/c1";
  auto spec = RunSpec(config, options);
  REQUIRE(spec.ok());
  const ordered_json& process = (*spec)["process"];
  CHECK(process["args"] == ordered_json({"echo", "hi"}));
  // --env goes through WithEnv first (a bare PATH unsets nothing yet), then over the image's.
  CHECK(process["env"] == ordered_json({"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/home", "NEW=1", "TERM=xterm"}));
  CHECK(process["cwd"] == "/tmp");
  CHECK(process["terminal"] == true);
  CHECK((*spec)["linux"]["cgroupsPath"] == "/mine/c1");
  std::vector<std::string> keys;
  for (const auto& item : process.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"terminal", "user", "args", "env", "cwd", "capabilities", "rlimits",
                                         "noNewPrivileges"});
}

TEST_CASE("RunSpec: no Env in the image gives the default PATH; no command at all is an error") {
  ImageConfig config;
  config.cmd = {"true"};
  auto spec = RunSpec(config, RunSpecOptions{"default", "c1"});
  REQUIRE(spec.ok());
  CHECK((*spec)["process"]["env"] ==
        ordered_json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  config.cmd.clear();
  CHECK(RunSpec(config, RunSpecOptions{"default", "c1"}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("MergeEnv replaces, appends and unsets like containerd's replaceOrAppendEnvValues") {
  CHECK(MergeEnv({"A=1", "B=2", "C=3"}, {"B=20", "D=4", "A"}) == std::vector<std::string>{"B=20", "C=3", "D=4"});
  CHECK(MergeEnv({}, {"X"}).empty());
}

TEST_CASE("Users: numeric uid[:gid] and root resolve; other names need /etc/passwd") {
  CHECK(ResolveNumericUser("0").value() == std::pair<uint32_t, uint32_t>{0, 0});
  CHECK(ResolveNumericUser("1000").value() == std::pair<uint32_t, uint32_t>{1000, 0});
  CHECK(ResolveNumericUser("1000:50").value() == std::pair<uint32_t, uint32_t>{1000, 50});
  CHECK(ResolveNumericUser("root").value() == std::pair<uint32_t, uint32_t>{0, 0});
  CHECK(ResolveNumericUser("nobody").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ResolveNumericUser("1:x").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ResolveNumericUser("99999999999").status().code() == absl::StatusCode::kInvalidArgument);
  ImageConfig config = BusyboxConfig();
  config.user = "daemon";
  CHECK(RunSpec(config, RunSpecOptions{"default", "c1"}).status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace liman::ctr
