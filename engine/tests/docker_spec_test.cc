// The spec limand gives a container: Docker's merge of image config and request, its
// environment, mounts for hostname/hosts/resolv.conf, binds, capabilities, network modes and
// resources; and the requests Docker refuses.
#include <catch2/catch.hpp>

#include <set>

#include "engine/daemon/docker_spec.h"

namespace liman::engine {
namespace {

using nlohmann::json;

ctr::ImageConfig Busybox() {
  ctr::ImageConfig image;
  image.env = {"PATH=/bin", "A=image"};
  image.cmd = {"sh"};
  image.working_dir = "/home";
  return image;
}

DockerSpecInputs Inputs(json config, json host = json::object()) {
  DockerSpecInputs in;
  in.id = "abc123";
  in.hostname = "abc123";
  in.image = Busybox();
  in.config = MergeImageConfig(in.image, config);
  in.host_config = std::move(host);
  in.host_config["NetworkMode"] = in.host_config.value("NetworkMode", "none");
  in.cgroup_parent = "/liman-test";
  in.etc_files_dir = "/var/lib/liman/containers/abc123";
  return in;
}

TEST_CASE("image config and request merge as Docker's") {
  json merged = MergeImageConfig(Busybox(), {{"Env", {"A=mine", "B=2"}}, {"Cmd", {"echo", "hi"}}});
  CHECK(merged["Env"] == json({"PATH=/bin", "A=mine", "B=2"}));
  CHECK(ContainerArgs(merged).value() == std::vector<std::string>{"echo", "hi"});
  CHECK(merged["WorkingDir"] == "/home");
  // An entrypoint given without a command drops the image's command.
  json entry = MergeImageConfig(Busybox(), {{"Entrypoint", {"/bin/true"}}});
  CHECK(ContainerArgs(entry).value() == std::vector<std::string>{"/bin/true"});
  ctr::ImageConfig empty;
  CHECK(ContainerArgs(MergeImageConfig(empty, json::object())).status().message() == "no command specified");
}

TEST_CASE("the spec: process, hostname, Docker's mounts, cgroup path") {
  nlohmann::ordered_json spec = DockerSpec(Inputs({{"Cmd", {"id"}}, {"Tty", true}, {"User", "1000:50"}})).value();
  CHECK(spec["process"]["terminal"] == true);
  CHECK(spec["process"]["args"] == json({"id"}));
  std::vector<std::string> env = spec["process"]["env"];
  CHECK(std::find(env.begin(), env.end(), "HOSTNAME=abc123") != env.end());
  CHECK(std::find(env.begin(), env.end(), "TERM=xterm") != env.end());
  CHECK(std::find(env.begin(), env.end(), "PATH=/bin") != env.end());
  CHECK(spec["hostname"] == "abc123");
  CHECK(spec["linux"]["cgroupsPath"] == "/liman-test/abc123");
  CHECK(!spec["process"].contains("noNewPrivileges"));
  bool hosts = false, run = false;
  for (const auto& mount : spec["mounts"]) {
    if (mount["destination"] == "/etc/hosts") hosts = mount["source"] == "/var/lib/liman/containers/abc123/hosts";
    if (mount["destination"] == "/run") run = true;
  }
  CHECK(hosts);
  CHECK(!run);
  CHECK(spec["process"]["capabilities"]["bounding"].size() == 14);
}

TEST_CASE("resources: every HostConfig field Docker maps, and moby's refusals") {
  nlohmann::ordered_json resources = DockerResources({{"Memory", 64 << 20},
                                                      {"MemorySwap", 128 << 20},
                                                      {"MemoryReservation", 32 << 20},
                                                      {"CpuShares", 512},
                                                      {"CpuQuota", 20000},
                                                      {"CpuPeriod", 50000},
                                                      {"CpusetCpus", "0"},
                                                      {"CpusetMems", "0"},
                                                      {"PidsLimit", 30},
                                                      {"BlkioWeight", 300}})
                                          .value();
  CHECK(json::parse(resources["memory"].dump()) == json{{"limit", 64 << 20}, {"swap", 128 << 20}, {"reservation", 32 << 20}});
  CHECK(json::parse(resources["cpu"].dump()) == json{{"shares", 512}, {"quota", 20000}, {"period", 50000}, {"cpus", "0"}, {"mems", "0"}});
  CHECK(resources["pids"]["limit"] == 30);
  CHECK(resources["blockIO"]["weight"] == 300);
  CHECK(DockerResources(json::object())->empty());
  CHECK(DockerResources({{"Memory", 1 << 20}}).status().message() == "Minimum memory limit allowed is 6MB");
  CHECK(DockerResources({{"Memory", 64 << 20}, {"MemorySwap", 32 << 20}}).status().message() ==
        "Minimum memoryswap limit should be larger than memory limit, see usage");
  CHECK(DockerResources({{"NanoCpus", 500000000}, {"CpuQuota", 1000}}).status().message() ==
        "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  CHECK(DockerResources({{"NanoCpus", 500000000}, {"CpuPeriod", 1000}}).status().message() ==
        "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  CHECK(DockerResources({{"NanoCpus", int64_t{100000} * 1000000000}}).status().message().find("Range of CPUs is from 0.01 to ") == 0);
  CHECK(DockerResources({{"BlkioWeight", 5}}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("host config: binds, capabilities, resources, host network, privileged") {
  json host = {{"Binds", {"/srv/data:/data:ro"}},
               {"CapAdd", {"net_admin"}},
               {"CapDrop", {"CAP_CHOWN"}},
               {"Memory", 64 << 20},
               {"NanoCpus", 500000000},
               {"PidsLimit", 20},
               {"ReadonlyRootfs", true},
               {"SecurityOpt", {"no-new-privileges"}},
               {"NetworkMode", "host"}};
  nlohmann::ordered_json spec = DockerSpec(Inputs({{"Cmd", {"true"}}}, host)).value();
  std::vector<std::string> caps = spec["process"]["capabilities"]["effective"];
  CHECK(std::find(caps.begin(), caps.end(), "CAP_NET_ADMIN") != caps.end());
  CHECK(std::find(caps.begin(), caps.end(), "CAP_CHOWN") == caps.end());
  CHECK(spec["linux"]["resources"]["memory"]["limit"] == 64 << 20);
  CHECK(spec["linux"]["resources"]["cpu"]["quota"] == 50000);
  CHECK(spec["linux"]["resources"]["pids"]["limit"] == 20);
  CHECK(spec["root"]["readonly"] == true);
  CHECK(spec["process"]["noNewPrivileges"] == true);
  for (const auto& ns : spec["linux"]["namespaces"]) CHECK(ns["type"] != "network");
  bool bind = false;
  for (const auto& mount : spec["mounts"])
    if (mount["destination"] == "/data")
      bind = mount["source"] == "/srv/data" && mount["options"] == json({"rbind", "rprivate", "ro"});
  CHECK(bind);

  nlohmann::ordered_json privileged = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"Privileged", true}})).value();
  CHECK(privileged["process"]["capabilities"]["bounding"].size() == AllCapabilities().size());
  CHECK(AllCapabilities().size() > 38);
  CHECK(!privileged["linux"].contains("maskedPaths"));
}

// The names a seccomp section allows outright (no argument conditions).
std::set<std::string> AllowedOutright(const nlohmann::ordered_json& seccomp) {
  std::set<std::string> names;
  for (const auto& rule : seccomp["syscalls"])
    if (rule["action"] == "SCMP_ACT_ALLOW" && !rule.contains("args"))
      for (const auto& name : rule["names"]) names.insert(name.get<std::string>());
  return names;
}

TEST_CASE("namespace modes: host leaves the namespace out, IPC host and none change /dev/shm, moby's refusals") {
  auto has_namespace = [](const nlohmann::ordered_json& spec, const std::string& type) {
    int count = 0;
    for (const auto& ns : spec["linux"]["namespaces"]) count += ns["type"] == type;
    return count;
  };
  auto shm = [](const nlohmann::ordered_json& spec) -> nlohmann::ordered_json {
    for (const auto& mount : spec["mounts"])
      if (mount["destination"] == "/dev/shm") return mount;
    return nullptr;
  };
  nlohmann::ordered_json own = DockerSpec(Inputs({{"Cmd", {"true"}}})).value();
  for (const char* type : {"pid", "ipc", "uts"})
    CHECK(has_namespace(own, type) == 1);
  CHECK(shm(own)["type"] == "tmpfs");
  nlohmann::ordered_json host = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"PidMode", "host"}, {"IpcMode", "host"}, {"UTSMode", "host"}})).value();
  for (const char* type : {"pid", "ipc", "uts"})
    CHECK(has_namespace(host, type) == 0);
  CHECK(shm(host)["source"] == "/dev/shm");
  CHECK_FALSE(host.contains("hostname"));
  CHECK(shm(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"IpcMode", "none"}})).value()).is_null());
  // container:<name> keeps the namespace in the spec: its path is set at each start.
  nlohmann::ordered_json joined = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"PidMode", "container:db"}})).value();
  CHECK(has_namespace(joined, "pid") == 1);
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"PidMode", "bogus"}})).status().message() == "invalid PID mode: bogus");
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"IpcMode", "container:"}})).status().message() == "invalid IPC mode: container:");
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"UTSMode", "container:db"}})).status().message() == "invalid UTS mode: container:db");
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"IpcMode", "shareable"}})).ok());
  // shareable, or joining a shareable one: /dev/shm is the host-side tmpfs, bound.
  DockerSpecInputs shareable = Inputs({{"Cmd", {"true"}}}, {{"IpcMode", "shareable"}, {"ShmSize", 1 << 20}});
  shareable.shm_path = "/var/lib/liman/containers/abc123/mounts/shm";
  nlohmann::ordered_json bound = shm(DockerSpec(shareable).value());
  CHECK(bound["type"] == "bind");
  CHECK(bound["source"] == "/var/lib/liman/containers/abc123/mounts/shm");
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"OomScoreAdj", 500}})).value()["process"]["oomScoreAdj"] == 500);
  // MaskedPaths / ReadonlyPaths replace Docker's (empty: --security-opt systempaths=unconfined).
  nlohmann::ordered_json unconfined =
      DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"MaskedPaths", json::array()}, {"ReadonlyPaths", {"/proc/x"}}})).value();
  CHECK(unconfined["linux"]["maskedPaths"] == json::array());
  CHECK(unconfined["linux"]["readonlyPaths"] == json({"/proc/x"}));
  CHECK(own["linux"]["maskedPaths"].size() > 5);
  // --cgroupns: private adds the namespace; host (and nothing) leave it out.
  CHECK(has_namespace(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"CgroupnsMode", "private"}})).value(), "cgroup") == 1);
  CHECK(has_namespace(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"CgroupnsMode", "host"}})).value(), "cgroup") == 0);
  CHECK(has_namespace(own, "cgroup") == 0);
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"CgroupnsMode", "bogus"}})).status().message() ==
        "invalid cgroup namespace mode: bogus");
  CHECK(DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"OomScoreAdj", 1001}})).status().message() ==
        "Invalid value 1001, range for oom score adj is [-1000, 1000]");
}

TEST_CASE("--network container:NAME: no endpoints of its own, and moby's conflicts with the shared network") {
  CHECK(JoinsBridgeNetworks("bridge"));
  CHECK(JoinsBridgeNetworks("my-net"));
  CHECK_FALSE(JoinsBridgeNetworks("host"));
  CHECK_FALSE(JoinsBridgeNetworks("none"));
  CHECK_FALSE(JoinsBridgeNetworks("container:web"));
  auto conflict = [](json config, json host) { return std::string(CheckSharedNetworkOptions(config, host).message()); };
  CHECK(CheckSharedNetworkOptions({{"Hostname", ""}, {"Cmd", {"true"}}}, {{"Dns", json::array()}, {"PublishAllPorts", false}}).ok());
  CHECK(conflict({{"Hostname", "h"}}, json::object()) == "conflicting options: hostname and the network mode");
  CHECK(conflict(json::object(), {{"Dns", {"1.1.1.1"}}}) == "conflicting options: dns and the network mode");
  CHECK(conflict(json::object(), {{"ExtraHosts", {"a:1.2.3.4"}}}) ==
        "conflicting options: custom host-to-IP mapping and the network mode");
  CHECK(conflict({{"MacAddress", "02:42:ac:11:00:02"}}, json::object()) == "conflicting options: mac-address and the network mode");
  CHECK(conflict(json::object(), {{"PortBindings", {{"80/tcp", {{{"HostPort", "8080"}}}}}}}) ==
        "conflicting options: port publishing and the container type network mode");
  CHECK(conflict(json::object(), {{"PublishAllPorts", true}}) ==
        "conflicting options: port publishing and the container type network mode");
  CHECK(conflict({{"ExposedPorts", {{"80/tcp", json::object()}}}}, json::object()) ==
        "conflicting options: port exposing and the container type network mode");
  CHECK(conflict(json::object(), {{"Links", {"db:db"}}}).starts_with("conflicting options: container type network can't be used with links"));
}

TEST_CASE("seccomp: Docker's default profile, capability-gated groups, unconfined, privileged, own profiles") {
  auto spec = DockerSpec(Inputs({{"Cmd", {"true"}}}));
  REQUIRE(spec.ok());
  const auto& seccomp = (*spec)["linux"]["seccomp"];
  CHECK(seccomp["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK(seccomp["defaultErrnoRet"] == 1);
  CHECK(seccomp["architectures"][0] == "SCMP_ARCH_X86_64");
  std::set<std::string> allowed = AllowedOutright(seccomp);
  CHECK(allowed.count("read"));
  CHECK(allowed.count("chroot"));  // CAP_SYS_CHROOT is one of Docker's default capabilities
  for (const char* denied : {"mount", "unshare", "setns", "keyctl", "add_key", "reboot", "init_module", "clone"})
    CHECK_FALSE(allowed.count(denied));
  // clone without namespace flags only; clone3 answers ENOSYS so libc falls back to clone
  bool masked_clone = false, clone3_enosys = false;
  for (const auto& rule : seccomp["syscalls"]) {
    if (rule["names"][0] == "clone" && rule.contains("args")) masked_clone = rule["args"][0]["op"] == "SCMP_CMP_MASKED_EQ";
    if (rule["names"][0] == "clone3") clone3_enosys = rule["errnoRet"] == 38;
  }
  CHECK(masked_clone);
  CHECK(clone3_enosys);

  auto admin = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"CapAdd", {"SYS_ADMIN"}}}));
  REQUIRE(admin.ok());
  std::set<std::string> admin_allowed = AllowedOutright((*admin)["linux"]["seccomp"]);
  for (const char* granted : {"mount", "unshare", "setns", "clone", "clone3"}) CHECK(admin_allowed.count(granted));

  auto privileged = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"Privileged", true}}));
  REQUIRE(privileged.ok());
  CHECK_FALSE((*privileged)["linux"].contains("seccomp"));
  auto unconfined = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"SecurityOpt", {"seccomp=unconfined"}}}));
  REQUIRE(unconfined.ok());
  CHECK_FALSE((*unconfined)["linux"].contains("seccomp"));

  json own = {{"defaultAction", "SCMP_ACT_ALLOW"},
              {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}},
                            {{"names", {"reboot"}}, {"action", "SCMP_ACT_ALLOW"}, {"includes", {{"caps", {"CAP_SYS_BOOT"}}}}}}}};
  auto custom = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"SecurityOpt", {"seccomp=" + own.dump()}}}));
  REQUIRE(custom.ok());
  const auto& mine = (*custom)["linux"]["seccomp"];
  CHECK(mine["defaultAction"] == "SCMP_ACT_ALLOW");
  REQUIRE(mine["syscalls"].size() == 1);  // reboot needs CAP_SYS_BOOT, which the container lacks
  CHECK(mine["syscalls"][0]["names"][1] == "mkdirat");

  auto garbage = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"SecurityOpt", {"seccomp={not json"}}}));
  REQUIRE_FALSE(garbage.ok());
  CHECK(std::string(garbage.status().message()).find("not JSON") != std::string::npos);
  auto no_action = DockerSpec(Inputs({{"Cmd", {"true"}}}, {{"SecurityOpt", {"seccomp={\"syscalls\":[]}"}}}));
  REQUIRE_FALSE(no_action.ok());
  CHECK(std::string(no_action.status().message()).find("defaultAction") != std::string::npos);
}

TEST_CASE("--init: the init runs the command and is bound read-only at /sbin/docker-init") {
  DockerSpecInputs in = Inputs({{"Cmd", {"sleep", "9"}}});
  in.init_path = "/usr/bin/tini-static";
  nlohmann::ordered_json spec = DockerSpec(in).value();
  CHECK(spec["process"]["args"] == json({"/sbin/docker-init", "--", "sleep", "9"}));
  int found = 0;
  for (const auto& mount : spec["mounts"]) {
    if (mount["destination"] != "/sbin/docker-init") continue;
    ++found;
    CHECK(mount["source"] == "/usr/bin/tini-static");
    CHECK(mount["type"] == "bind");
    std::vector<std::string> options = mount["options"];
    CHECK(std::find(options.begin(), options.end(), "ro") != options.end());
  }
  CHECK(found == 1);
  // Without an init path, nothing of it.
  nlohmann::ordered_json plain = DockerSpec(Inputs({{"Cmd", {"sleep", "9"}}})).value();
  CHECK(plain["process"]["args"] == json({"sleep", "9"}));
  for (const auto& mount : plain["mounts"]) CHECK(mount["destination"] != "/sbin/docker-init");
}

TEST_CASE("requests Docker refuses are refused with its words") {
  auto error = [](json host, json config = {{"Cmd", {"true"}}}) {
    return std::string(DockerSpec(Inputs(std::move(config), std::move(host))).status().message());
  };
  CHECK(error({{"Binds", {"data"}}}) == "invalid volume specification: 'data'");
  CHECK(error({{"Binds", {"/a:b"}}}).find("mount path must be absolute") != std::string::npos);
  CHECK(error({{"Binds", {"/a:/b:xx"}}}) == "invalid mode: xx");
  CHECK(error({{"CapAdd", {"NOPE"}}}) == "invalid capability: NOPE");
  CHECK(error({{"Ulimits", {{{"Name", "bogus"}, {"Soft", 1}, {"Hard", 1}}}}}) == "invalid ulimit type: bogus");
  CHECK(error({{"SecurityOpt", {"bogus=1"}}}) == "invalid --security-opt: \"bogus=1\" is not supported by limand yet");
  // AppArmor: a host without it runs the container without a profile, as moby.
  if (!HostHasAppArmor()) CHECK(error({{"SecurityOpt", {"apparmor=docker-default"}}}).empty());
  CHECK(error({{"SecurityOpt", {"apparmor=unconfined"}}}).empty());
}

TEST_CASE("an environment sets a variable only with NAME= at the start of an entry") {
  CHECK(EnvSets({"PATH=/bin", "HOME=/root"}, "HOME"));
  CHECK(EnvSets({"HOME="}, "HOME"));
  CHECK_FALSE(EnvSets({"HOMEDIR=/x", "MYHOME=/y", "HOME"}, "HOME"));
  CHECK_FALSE(EnvSets({}, "HOME"));
  CHECK(StringList(nlohmann::json::parse(R"(["a", 1, "b"])")) == std::vector<std::string>{"a", "b"});
  CHECK(StringList(nlohmann::json("one")) == std::vector<std::string>{"one"});
  CHECK(StringList(nlohmann::json::object()).empty());
}

}  // namespace
}  // namespace liman::engine
