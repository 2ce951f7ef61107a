// `run` and `create` flags as docker's (cli/command/container/opts.go) and the create request
// they make: Config, HostConfig and NetworkingConfig of POST /containers/create.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::cli {

// The resource flags `run`, `create` and `update` share.
struct ResourceFlags {
  std::string memory, memory_swap, memory_reservation, cpuset_cpus, cpuset_mems;
  double cpus = 0;
  int64_t cpu_shares = 0, cpu_quota = 0, cpu_period = 0, pids_limit = 0, blkio_weight = 0;
};

void AddResourceFlags(CLI::App* command, ResourceFlags& flags);
// The HostConfig fields of the flags given (Memory, NanoCpus…) set in `host`.
absl::Status ApplyResourceFlags(const ResourceFlags& flags, nlohmann::json& host);
// --restart NAME[:COUNT] as HostConfig.RestartPolicy (the docker CLI's ParseRestartPolicy: the
// count must be a number, the name is judged by the daemon).
absl::StatusOr<nlohmann::json> ParseRestartFlag(const std::string& text);

struct RunFlags {
  // run only
  bool detach = false, remove = false, sig_proxy = true;
  std::string pull = "missing";
  // the container
  std::string name, hostname, user, workdir, entrypoint, runtime, restart, stop_signal, network, ip;
  bool entrypoint_set = false;
  bool interactive = false, tty = false, privileged = false, read_only = false, publish_all = false, init = false;
  bool oom_kill_disable = false;
  int stop_timeout = -1;
  std::vector<std::string> env, env_files, publish, expose, volumes, mounts, tmpfs, labels, network_aliases,
      cap_add, cap_drop, security_opts, ulimits, devices, log_opts, sysctls, add_hosts, dns, dns_search, dns_options,
      group_add, attach, links;
  std::string log_driver, shm_size, platform;
  std::string pid_mode, ipc_mode, uts_mode, cgroupns_mode;  // --pid, --ipc, --uts, --cgroupns
  std::vector<std::string> volumes_from;
  int oom_score_adj = 0;
  // --health-*: Config.Healthcheck (durations as Go writes them: 1m30s).
  std::string health_cmd, health_interval, health_timeout, health_start_period;
  int health_retries = 0;
  bool no_healthcheck = false;
  ResourceFlags resources;
  std::string image;
  std::vector<std::string> command;  // [COMMAND [ARG...]]
};

void AddRunFlags(CLI::App* command, RunFlags& flags, bool for_run);

// The create request body; kInvalidArgument names the flag and the value that is wrong, like
// docker's "invalid argument \"x\" for \"-p, --publish\" flag: …".
absl::StatusOr<nlohmann::json> CreateRequest(const RunFlags& flags);

// go-units RAMInBytes: "64m", "1.5g", "512k", "100" (bytes); binary multiples.
absl::StatusOr<int64_t> ParseMemoryBytes(const std::string& text);
// nat.ParsePortSpec: "[ip:][hostPort:]containerPort[/proto]" with ranges; adds to
// ExposedPorts and PortBindings.
absl::Status AddPublishedPort(const std::string& spec, nlohmann::json& exposed, nlohmann::json& bindings);
// --mount "type=bind,source=/a,target=/b,readonly,bind-propagation=rshared" as a Mount object.
absl::StatusOr<nlohmann::json> ParseMountFlag(const std::string& spec);

}  // namespace liman::cli
