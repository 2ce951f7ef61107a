#include <catch2/catch.hpp>

#include "ctl/liman/run_options.h"

using liman::cli::AddPublishedPort;
using liman::cli::ApplyResourceFlags;
using liman::cli::ParseRestartFlag;
using liman::cli::ResourceFlags;
using liman::cli::CreateRequest;
using liman::cli::ParseMemoryBytes;
using liman::cli::ParseMountFlag;
using liman::cli::RunFlags;
using nlohmann::json;

TEST_CASE("memory sizes as go-units RAMInBytes") {
  CHECK(*ParseMemoryBytes("64m") == 64 * 1024 * 1024);
  CHECK(*ParseMemoryBytes("64MB") == 64 * 1024 * 1024);
  CHECK(*ParseMemoryBytes("1.5g") == 1536LL * 1024 * 1024);
  CHECK(*ParseMemoryBytes("100") == 100);
  CHECK_FALSE(ParseMemoryBytes("lots").ok());
  CHECK_FALSE(ParseMemoryBytes("12x").ok());
  CHECK_FALSE(ParseMemoryBytes("").ok());
}

TEST_CASE("published ports: ip, host port, ranges, protocols") {
  json exposed = json::object(), bindings = json::object();
  REQUIRE(AddPublishedPort("127.0.0.1:18080:80", exposed, bindings).ok());
  REQUIRE(AddPublishedPort("53/udp", exposed, bindings).ok());
  REQUIRE(AddPublishedPort("8000-8001:9000-9001", exposed, bindings).ok());
  CHECK(bindings["80/tcp"] == json::array({{{"HostIp", "127.0.0.1"}, {"HostPort", "18080"}}}));
  CHECK(bindings["53/udp"] == json::array({{{"HostIp", ""}, {"HostPort", ""}}}));
  CHECK(bindings["9001/tcp"][0]["HostPort"] == "8001");
  CHECK(exposed.contains("9000/tcp"));
  CHECK_FALSE(AddPublishedPort("70000", exposed, bindings).ok());
  CHECK_FALSE(AddPublishedPort("80/icmp", exposed, bindings).ok());
  CHECK_FALSE(AddPublishedPort("1:2:", exposed, bindings).ok());
}

TEST_CASE("--mount fields") {
  auto bind = ParseMountFlag("type=bind,source=/a,target=/b,readonly,bind-propagation=rshared");
  REQUIRE(bind.ok());
  CHECK((*bind)["Type"] == "bind");
  CHECK((*bind)["ReadOnly"] == true);
  CHECK((*bind)["BindOptions"]["Propagation"] == "rshared");
  auto anonymous = ParseMountFlag("type=volume,target=/anon");
  REQUIRE(anonymous.ok());
  CHECK_FALSE(anonymous->contains("Source"));
  auto tmpfs = ParseMountFlag("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770");
  REQUIRE(tmpfs.ok());
  CHECK((*tmpfs)["TmpfsOptions"]["SizeBytes"] == 1024 * 1024);
  CHECK((*tmpfs)["TmpfsOptions"]["Mode"] == 01770);
  CHECK_FALSE(ParseMountFlag("type=bind,target=/b").ok());
  CHECK_FALSE(ParseMountFlag("type=nfs,target=/b").ok());
  CHECK_FALSE(ParseMountFlag("source=/a").ok());
  CHECK_FALSE(ParseMountFlag("type=bind,source=/a,target=/b,color=red").ok());
}

TEST_CASE("run flags become docker's create request") {
  RunFlags flags;
  flags.image = "busybox";
  flags.command = {"sh", "-c", "echo hi"};
  flags.name = "web";
  flags.interactive = true;
  flags.tty = true;
  flags.remove = true;
  flags.env = {"A=1"};
  flags.volumes = {"data:/data:ro", "/anon"};
  flags.resources.memory = "64m";
  flags.resources.cpus = 1.5;
  flags.network = "none";
  flags.ulimits = {"nofile=1024:2048"};
  flags.devices = {"/dev/fuse"};
  flags.links = {"db:store"};
  flags.cgroupns_mode = "private";
  flags.security_opts = {"systempaths=unconfined", "apparmor=unconfined"};
  flags.init = true;
  flags.entrypoint_set = true;
  auto request = CreateRequest(flags);
  REQUIRE(request.ok());
  const json& r = *request;
  CHECK(r["Image"] == "busybox");
  CHECK(r["Cmd"] == json::array({"sh", "-c", "echo hi"}));
  CHECK(r["Entrypoint"] == json::array({""}));
  CHECK(r["Tty"] == true);
  CHECK(r["OpenStdin"] == true);
  CHECK(r["StdinOnce"] == true);
  CHECK(r["AttachStdin"] == true);
  CHECK(r["Env"] == json::array({"A=1"}));
  CHECK(r["Volumes"].contains("/anon"));
  CHECK(r["HostConfig"]["Binds"] == json::array({"data:/data:ro"}));
  CHECK(r["HostConfig"]["Memory"] == 64 * 1024 * 1024);
  CHECK(r["HostConfig"]["NanoCpus"] == 1500000000LL);
  CHECK(r["HostConfig"]["NetworkMode"] == "none");
  CHECK(r["HostConfig"]["AutoRemove"] == true);
  CHECK(r["HostConfig"]["Ulimits"][0] == json({{"Name", "nofile"}, {"Soft", 1024}, {"Hard", 2048}}));
  CHECK(r["HostConfig"]["Devices"][0]["PathInContainer"] == "/dev/fuse");
  CHECK(r["HostConfig"]["Links"] == json::array({"db:store"}));
  CHECK(r["HostConfig"]["CgroupnsMode"] == "private");
  CHECK(r["HostConfig"]["MaskedPaths"] == json::array());
  CHECK(r["HostConfig"]["ReadonlyPaths"] == json::array());
  CHECK(r["HostConfig"]["SecurityOpt"] == json::array({"apparmor=unconfined"}));
  CHECK(r["HostConfig"]["Init"] == true);

  flags.ulimits = {"nofile=10:5"};
  auto bad = CreateRequest(flags);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("--ulimit") != std::string::npos);
  flags.ulimits.clear();
  flags.publish = {"x:y:z:w"};
  CHECK_FALSE(CreateRequest(flags).ok());
}

TEST_CASE("--restart as the docker CLI splits it; the name is left to the daemon") {
  CHECK(*ParseRestartFlag("") == json({{"Name", "no"}, {"MaximumRetryCount", 0}}));
  CHECK(*ParseRestartFlag("on-failure:5") == json({{"Name", "on-failure"}, {"MaximumRetryCount", 5}}));
  CHECK(*ParseRestartFlag("sometimes") == json({{"Name", "sometimes"}, {"MaximumRetryCount", 0}}));
  CHECK(ParseRestartFlag(":3").status().message() == "invalid restart policy format: no policy provided before colon");
  CHECK(ParseRestartFlag("on-failure:x").status().message() ==
        "invalid restart policy format: maximum retry count must be an integer");
  RunFlags flags;
  flags.image = "busybox";
  flags.remove = true;
  flags.restart = "always";
  CHECK(CreateRequest(flags).status().message() == "Conflicting options: --restart and --rm");
}

TEST_CASE("resource flags shared by run and update") {
  ResourceFlags flags;
  flags.memory = "96m";
  flags.memory_swap = "-1";
  flags.cpuset_mems = "0";
  flags.blkio_weight = 300;
  json host = json::object();
  REQUIRE(ApplyResourceFlags(flags, host).ok());
  CHECK(host == json({{"Memory", 96 << 20}, {"MemorySwap", -1}, {"CpusetMems", "0"}, {"BlkioWeight", 300}}));
  flags.memory = "lots";
  CHECK(std::string(ApplyResourceFlags(flags, host).message()).find("-m, --memory") != std::string::npos);
}

TEST_CASE("--health-* flags as Config.Healthcheck; --no-healthcheck turns the image's off") {
  RunFlags flags;
  flags.image = "busybox";
  flags.health_cmd = "test -e /ok";
  flags.health_interval = "1m30s";
  flags.health_timeout = "500ms";
  flags.health_retries = 4;
  auto request = CreateRequest(flags);
  REQUIRE(request.ok());
  CHECK((*request)["Healthcheck"] == json{{"Test", {"CMD-SHELL", "test -e /ok"}},
                                           {"Interval", int64_t{90} * 1000000000},
                                           {"Timeout", int64_t{500} * 1000000},
                                           {"Retries", 4}});
  flags.health_interval = "soon";
  CHECK(CreateRequest(flags).status().message().find("soon") != std::string::npos);
  flags.health_interval.clear();
  flags.no_healthcheck = true;
  CHECK(CreateRequest(flags).status().message() == "--no-healthcheck conflicts with --health-* options");
  RunFlags off;
  off.image = "busybox";
  off.no_healthcheck = true;
  auto disabled = CreateRequest(off);
  REQUIRE(disabled.ok());
  CHECK((*disabled)["Healthcheck"] == json{{"Test", {"NONE"}}});
  CHECK_FALSE(CreateRequest([] {
                RunFlags none;
                none.image = "busybox";
                return none;
              }())->contains("Healthcheck"));
}
