#include "ctl/liman/run_options.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "ctl/liman-ctr/command_split.h"
#include "ctl/liman/cli.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

absl::Status InvalidFlag(const std::string& value, const std::string& flag, const std::string& why) {
  return absl::InvalidArgumentError(fmt::format("invalid argument \"{}\" for \"{}\" flag: {}", value, flag, why));
}

// A port or a range "8000-8010": [first, last].
absl::StatusOr<std::pair<int, int>> ParsePortRange(const std::string& text) {
  std::vector<std::string> ends = absl::StrSplit(text, '-');
  if (ends.size() > 2) return absl::InvalidArgumentError(fmt::format("invalid port range: {}", text));
  int values[2] = {0, 0};
  for (size_t i = 0; i < ends.size(); ++i) {
    const std::string& end = ends[i];
    if (end.empty() || end.size() > 5 || end.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(end) < 1 || std::stoi(end) > 65535)
      return absl::InvalidArgumentError(fmt::format("invalid port: {}", text));
    values[i] = std::stoi(end);
  }
  if (ends.size() == 1) values[1] = values[0];
  if (values[1] < values[0]) return absl::InvalidArgumentError(fmt::format("invalid port range: {}", text));
  return std::pair<int, int>{values[0], values[1]};
}

bool IsTrueWord(const std::string& text) { return text.empty() || text == "1" || text == "true"; }

}  // namespace

absl::StatusOr<int64_t> ParseMemoryBytes(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) ++digits;
  std::string number = text.substr(0, digits), unit = text.substr(digits);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  char* end = nullptr;
  double value = number.empty() ? -1 : std::strtod(number.c_str(), &end);
  static const std::string kUnits = "bkmgtp";
  if (!unit.empty() && unit.back() == 'b' && unit.size() == 2) unit.pop_back();  // "mb", "kb"
  size_t power = unit.empty() ? 0 : unit.size() == 1 ? kUnits.find(unit[0]) : std::string::npos;
  if (value < 0 || (end && *end) || power == std::string::npos)
    return absl::InvalidArgumentError(fmt::format("invalid size: '{}'", text));
  return static_cast<int64_t>(value * std::pow(1024.0, static_cast<double>(power)));
}

absl::Status AddPublishedPort(const std::string& spec, json& exposed, json& bindings) {
  std::string rest = spec, protocol = "tcp";
  if (size_t slash = rest.rfind('/'); slash != std::string::npos) {
    protocol = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (protocol != "tcp" && protocol != "udp" && protocol != "sctp")
      return absl::InvalidArgumentError(fmt::format("invalid proto: {}", protocol));
  }
  std::string host_ip, host_port, container_port;
  std::vector<std::string> parts = absl::StrSplit(rest, ':');
  if (parts.size() == 1) {
    container_port = parts[0];
  } else if (parts.size() == 2) {
    host_port = parts[0];
    container_port = parts[1];
  } else {
    // "ip:host:container" (the ip may be IPv6 in brackets and hold colons itself)
    container_port = parts.back();
    host_port = parts[parts.size() - 2];
    size_t cut = rest.size() - container_port.size() - host_port.size() - 2;
    host_ip = rest.substr(0, cut);
    if (host_ip.size() > 1 && host_ip.front() == '[' && host_ip.back() == ']') host_ip = host_ip.substr(1, host_ip.size() - 2);
  }
  if (container_port.empty()) return absl::InvalidArgumentError(fmt::format("no port specified: {}<empty>", spec));
  LIMAN_ASSIGN_OR_RETURN(auto inner, ParsePortRange(container_port));
  std::pair<int, int> outer{0, 0};
  if (!host_port.empty()) {
    LIMAN_ASSIGN_OR_RETURN(outer, ParsePortRange(host_port));
    if (outer.second - outer.first != inner.second - inner.first && outer.first != outer.second)
      return absl::InvalidArgumentError(fmt::format("invalid ranges specified for container and host Ports: {} and {}",
                                                    container_port, host_port));
  }
  for (int port = inner.first; port <= inner.second; ++port) {
    std::string key = fmt::format("{}/{}", port, protocol);
    exposed[key] = json::object();
    std::string host;
    if (outer.first != 0)
      host = outer.first == outer.second ? std::to_string(outer.first)
                                         : std::to_string(outer.first + (port - inner.first));
    if (!bindings.contains(key)) bindings[key] = json::array();
    bindings[key].push_back({{"HostIp", host_ip}, {"HostPort", host}});
  }
  return absl::OkStatus();
}

absl::StatusOr<json> ParseMountFlag(const std::string& spec) {
  json mount = json::object();
  std::string type = "volume";
  json bind_options = json::object(), volume_options = json::object(), tmpfs_options = json::object();
  std::vector<std::string> fields = absl::StrSplit(spec, ',', absl::SkipEmpty());
  for (const std::string& field : fields) {
    size_t eq = field.find('=');
    std::string key = field.substr(0, eq), value = eq == std::string::npos ? "" : field.substr(eq + 1);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "type") type = value;
    else if (key == "source" || key == "src") mount["Source"] = value;
    else if (key == "target" || key == "destination" || key == "dst") mount["Target"] = value;
    else if (key == "readonly" || key == "ro") {
      if (!IsTrueWord(value) && value != "0" && value != "false")
        return absl::InvalidArgumentError(fmt::format("invalid value for {}: {}", key, value));
      mount["ReadOnly"] = IsTrueWord(value);
    } else if (key == "bind-propagation") bind_options["Propagation"] = value;
    else if (key == "bind-nonrecursive") bind_options["NonRecursive"] = IsTrueWord(value);
    else if (key == "volume-nocopy") volume_options["NoCopy"] = IsTrueWord(value);
    else if (key == "volume-driver") volume_options["DriverConfig"]["Name"] = value;
    else if (key == "volume-label") {
      size_t at = value.find('=');
      volume_options["Labels"][value.substr(0, at)] = at == std::string::npos ? "" : value.substr(at + 1);
    } else if (key == "volume-opt") {
      size_t at = value.find('=');
      volume_options["DriverConfig"]["Options"][value.substr(0, at)] = at == std::string::npos ? "" : value.substr(at + 1);
    } else if (key == "tmpfs-size") {
      LIMAN_ASSIGN_OR_RETURN(int64_t bytes, ParseMemoryBytes(value));
      tmpfs_options["SizeBytes"] = bytes;
    } else if (key == "tmpfs-mode") {
      char* end = nullptr;
      long mode = std::strtol(value.c_str(), &end, 8);
      if (value.empty() || *end) return absl::InvalidArgumentError(fmt::format("invalid value for tmpfs-mode: {}", value));
      tmpfs_options["Mode"] = mode;
    } else if (key == "consistency") {
      // macOS only in docker; accepted and ignored there too.
    } else {
      return absl::InvalidArgumentError(fmt::format("unexpected key '{}' in '{}'", key, field));
    }
  }
  if (type != "bind" && type != "volume" && type != "tmpfs")
    return absl::InvalidArgumentError(fmt::format("invalid mount type {}", Quote(type)));
  mount["Type"] = type;
  if (!mount.contains("Target")) return absl::InvalidArgumentError("target is required");
  if (!bind_options.empty()) mount["BindOptions"] = bind_options;
  if (!volume_options.empty()) mount["VolumeOptions"] = volume_options;
  if (!tmpfs_options.empty()) mount["TmpfsOptions"] = tmpfs_options;
  if (type == "bind" && mount.value("Source", "").empty()) return absl::InvalidArgumentError("source is required when specifying bind mount");
  return mount;
}

namespace {

// A memory flag ("64m", or -1 for unlimited) as the HostConfig field `field`.
absl::Status MemoryFlag(const std::string& text, const char* flag, const char* field, json& host) {
  if (text.empty()) return absl::OkStatus();
  if (text == "-1") {
    host[field] = -1;
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> bytes = ParseMemoryBytes(text);
  if (!bytes.ok()) return InvalidFlag(text, flag, std::string(bytes.status().message()));
  host[field] = *bytes;
  return absl::OkStatus();
}

}  // namespace

void AddResourceFlags(CLI::App* command, ResourceFlags& flags) {
  command->add_option("-m,--memory", flags.memory, "memory limit");
  command->add_option("--memory-swap", flags.memory_swap, "swap limit equal to memory plus swap: '-1' to enable unlimited swap");
  command->add_option("--memory-reservation", flags.memory_reservation, "memory soft limit");
  command->add_option("--cpus", flags.cpus, "number of CPUs");
  command->add_option("-c,--cpu-shares", flags.cpu_shares, "CPU shares (relative weight)");
  command->add_option("--cpu-quota", flags.cpu_quota, "limit CPU CFS (Completely Fair Scheduler) quota");
  command->add_option("--cpu-period", flags.cpu_period, "limit CPU CFS (Completely Fair Scheduler) period");
  command->add_option("--cpuset-cpus", flags.cpuset_cpus, "CPUs in which to allow execution (0-3, 0,1)");
  command->add_option("--cpuset-mems", flags.cpuset_mems, "MEMs in which to allow execution (0-3, 0,1)");
  command->add_option("--pids-limit", flags.pids_limit, "tune container pids limit (set -1 for unlimited)");
  command->add_option("--blkio-weight", flags.blkio_weight, "block IO (relative weight), between 10 and 1000, or 0 to disable");
}

absl::Status ApplyResourceFlags(const ResourceFlags& flags, json& host) {
  LIMAN_RETURN_IF_ERROR(MemoryFlag(flags.memory, "-m, --memory", "Memory", host));
  LIMAN_RETURN_IF_ERROR(MemoryFlag(flags.memory_swap, "--memory-swap", "MemorySwap", host));
  LIMAN_RETURN_IF_ERROR(MemoryFlag(flags.memory_reservation, "--memory-reservation", "MemoryReservation", host));
  if (flags.cpus < 0) return InvalidFlag(fmt::format("{}", flags.cpus), "--cpus", "must be positive");
  if (flags.cpus > 0) host["NanoCpus"] = static_cast<int64_t>(std::llround(flags.cpus * 1e9));
  if (flags.cpu_shares) host["CpuShares"] = flags.cpu_shares;
  if (flags.cpu_quota) host["CpuQuota"] = flags.cpu_quota;
  if (flags.cpu_period) host["CpuPeriod"] = flags.cpu_period;
  if (!flags.cpuset_cpus.empty()) host["CpusetCpus"] = flags.cpuset_cpus;
  if (!flags.cpuset_mems.empty()) host["CpusetMems"] = flags.cpuset_mems;
  if (flags.pids_limit) host["PidsLimit"] = flags.pids_limit;
  if (flags.blkio_weight) host["BlkioWeight"] = flags.blkio_weight;
  return absl::OkStatus();
}

absl::StatusOr<json> ParseRestartFlag(const std::string& text) {
  json restart = {{"Name", "no"}, {"MaximumRetryCount", 0}};
  if (text.empty()) return restart;
  size_t colon = text.find(':');
  std::string name = text.substr(0, colon);
  if (colon != std::string::npos && name.empty())
    return absl::InvalidArgumentError("invalid restart policy format: no policy provided before colon");
  if (colon != std::string::npos && colon + 1 < text.size()) {
    int count = 0;
    if (!absl::SimpleAtoi(text.substr(colon + 1), &count))
      return absl::InvalidArgumentError("invalid restart policy format: maximum retry count must be an integer");
    restart["MaximumRetryCount"] = count;
  }
  restart["Name"] = name;
  return restart;
}

void AddRunFlags(CLI::App* command, RunFlags& flags, bool for_run) {
  if (for_run) {
    command->add_flag("-d,--detach", flags.detach, "run the container in the background and print its ID");
    command->add_flag("--rm", flags.remove, "remove the container when it exits");
    command->add_option("--sig-proxy", flags.sig_proxy, "proxy received signals to the process");
  }
  command->add_option("--pull", flags.pull, "pull image before running (always, missing, never)");
  command->add_option("--name", flags.name, "name of the container");
  command->add_flag("-i,--interactive", flags.interactive, "keep STDIN open even if not attached");
  command->add_flag("-t,--tty", flags.tty, "allocate a pseudo-TTY");
  AddRepeated(command, "-a,--attach", flags.attach, "attach to STDIN, STDOUT or STDERR");
  AddRepeated(command, "-e,--env", flags.env, "set environment variables");
  AddRepeated(command, "--env-file", flags.env_files, "read in a file of environment variables");
  AddRepeated(command, "-p,--publish", flags.publish, "publish a container's port(s) to the host");
  command->add_flag("-P,--publish-all", flags.publish_all, "publish all exposed ports to random ports");
  AddRepeated(command, "--expose", flags.expose, "expose a port or a range of ports");
  AddRepeated(command, "-v,--volume", flags.volumes, "bind mount a volume");
  AddRepeated(command, "--mount", flags.mounts, "attach a filesystem mount to the container");
  AddRepeated(command, "--tmpfs", flags.tmpfs, "mount a tmpfs directory");
  command->add_option("--network,--net", flags.network, "connect a container to a network");
  AddRepeated(command, "--network-alias,--net-alias", flags.network_aliases, "add network-scoped alias for the container");
  command->add_option("--ip", flags.ip, "IPv4 address (e.g., 172.30.100.104)");
  command->add_option("--entrypoint", flags.entrypoint, "overwrite the default ENTRYPOINT of the image")
      ->each([&flags](const std::string&) { flags.entrypoint_set = true; });
  command->add_option("-w,--workdir", flags.workdir, "working directory inside the container");
  command->add_option("-u,--user", flags.user, "username or UID (format: <name|uid>[:<group|gid>])");
  command->add_option("-h,--hostname", flags.hostname, "container host name");
  AddRepeated(command, "-l,--label", flags.labels, "set meta data on a container");
  command->add_option("--runtime", flags.runtime, "runtime to use for this container");
  command->add_option("--restart", flags.restart, "restart policy to apply when a container exits");
  command->add_option("--stop-signal", flags.stop_signal, "signal to stop the container");
  command->add_option("--stop-timeout", flags.stop_timeout, "timeout (in seconds) to stop a container");
  AddResourceFlags(command, flags.resources);
  command->add_option("--shm-size", flags.shm_size, "size of /dev/shm");
  command->add_flag("--privileged", flags.privileged, "give extended privileges to this container");
  AddRepeated(command, "--cap-add", flags.cap_add, "add Linux capabilities");
  AddRepeated(command, "--cap-drop", flags.cap_drop, "drop Linux capabilities");
  AddRepeated(command, "--security-opt", flags.security_opts, "security options");
  command->add_flag("--read-only", flags.read_only, "mount the container's root filesystem as read only");
  AddRepeated(command, "--ulimit", flags.ulimits, "ulimit options");
  AddRepeated(command, "--device", flags.devices, "add a host device to the container");
  command->add_option("--log-driver", flags.log_driver, "logging driver for the container");
  AddRepeated(command, "--log-opt", flags.log_opts, "log driver options");
  AddRepeated(command, "--sysctl", flags.sysctls, "sysctl options");
  AddRepeated(command, "--add-host", flags.add_hosts, "add a custom host-to-IP mapping (host:ip)");
  AddRepeated(command, "--link", flags.links, "add link to another container (NAME[:ALIAS])");
  AddRepeated(command, "--dns", flags.dns, "set custom DNS servers");
  AddRepeated(command, "--dns-search", flags.dns_search, "set custom DNS search domains");
  AddRepeated(command, "--dns-option", flags.dns_options, "set DNS options");
  AddRepeated(command, "--group-add", flags.group_add, "add additional groups to join");
  command->add_flag("--init", flags.init, "run an init inside the container that forwards signals and reaps processes");
  command->add_flag("--oom-kill-disable", flags.oom_kill_disable, "disable OOM Killer");
  command->add_option("--oom-score-adj", flags.oom_score_adj, "tune host's OOM preferences (-1000 to 1000)");
  command->add_option("--pid", flags.pid_mode, "PID namespace to use");
  command->add_option("--ipc", flags.ipc_mode, "IPC mode to use");
  command->add_option("--uts", flags.uts_mode, "UTS namespace to use");
  command->add_option("--cgroupns", flags.cgroupns_mode, "cgroup namespace to use (host|private)");
  AddRepeated(command, "--volumes-from", flags.volumes_from, "mount volumes from the specified container(s)");
  command->add_option("--health-cmd", flags.health_cmd, "command to run to check health");
  command->add_option("--health-interval", flags.health_interval, "time between running the check (ms|s|m|h)");
  command->add_option("--health-timeout", flags.health_timeout, "maximum time to allow one check to run (ms|s|m|h)");
  command->add_option("--health-start-period", flags.health_start_period,
                      "start period for the container to initialize before starting health-retries countdown (ms|s|m|h)");
  command->add_option("--health-retries", flags.health_retries, "consecutive failures needed to report unhealthy");
  command->add_flag("--no-healthcheck", flags.no_healthcheck, "disable any container-specified HEALTHCHECK");
  command->add_option("--platform", flags.platform, "set platform if server is multi-platform capable");
  command->add_option("image", flags.image, "IMAGE")->required();
  command->add_option("command", flags.command, "[COMMAND] [ARG...]");
  ctr::TakesCommandAfter(command, 1);
}

namespace {

// The docker CLI's healthcheck flags as Config.Healthcheck (its parse in opts.go).
absl::Status ApplyHealthFlags(const RunFlags& flags, json& config) {
  bool any = !flags.health_cmd.empty() || !flags.health_interval.empty() || !flags.health_timeout.empty() ||
             !flags.health_start_period.empty() || flags.health_retries != 0;
  if (flags.no_healthcheck) {
    if (any) return absl::InvalidArgumentError("--no-healthcheck conflicts with --health-* options");
    config["Healthcheck"] = {{"Test", {"NONE"}}};
    return absl::OkStatus();
  }
  if (!any) return absl::OkStatus();
  json healthcheck = json::object();
  if (!flags.health_cmd.empty()) healthcheck["Test"] = {"CMD-SHELL", flags.health_cmd};
  auto duration = [&](const std::string& text, const char* flag, const char* key) -> absl::Status {
    if (text.empty()) return absl::OkStatus();
    absl::Duration parsed;
    if (!absl::ParseDuration(text, &parsed)) return InvalidFlag(text, flag, "invalid duration");
    if (parsed < absl::ZeroDuration()) return absl::InvalidArgumentError(fmt::format("{} cannot be negative", flag));
    healthcheck[key] = absl::ToInt64Nanoseconds(parsed);
    return absl::OkStatus();
  };
  LIMAN_RETURN_IF_ERROR(duration(flags.health_interval, "--health-interval", "Interval"));
  LIMAN_RETURN_IF_ERROR(duration(flags.health_timeout, "--health-timeout", "Timeout"));
  LIMAN_RETURN_IF_ERROR(duration(flags.health_start_period, "--health-start-period", "StartPeriod"));
  if (flags.health_retries < 0) return absl::InvalidArgumentError("--health-retries cannot be negative");
  if (flags.health_retries > 0) healthcheck["Retries"] = flags.health_retries;
  config["Healthcheck"] = healthcheck;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<json> CreateRequest(const RunFlags& flags) {
  if (flags.image.empty()) return absl::InvalidArgumentError("requires at least 1 argument");
  json config = json::object(), host = json::object(), networking = json::object();
  config["Image"] = flags.image;
  if (!flags.command.empty()) config["Cmd"] = flags.command;
  if (flags.entrypoint_set) config["Entrypoint"] = std::vector<std::string>{flags.entrypoint};
  config["Hostname"] = flags.hostname;
  config["User"] = flags.user;
  config["WorkingDir"] = flags.workdir;
  config["Tty"] = flags.tty;
  config["OpenStdin"] = flags.interactive;
  bool attach_all = !flags.detach && flags.attach.empty();
  auto attached = [&](const char* stream) {
    return attach_all ? std::string(stream) != "stdin" || flags.interactive
                      : std::find(flags.attach.begin(), flags.attach.end(), stream) != flags.attach.end();
  };
  config["AttachStdin"] = attached("stdin");
  config["AttachStdout"] = attached("stdout");
  config["AttachStderr"] = attached("stderr");
  config["StdinOnce"] = flags.interactive && !flags.detach;

  // Environment: --env-file lines first, then -e; "NAME" alone takes our own value, if any.
  std::vector<std::string> env;
  for (const std::string& path : flags.env_files) {
    std::ifstream file(path);
    if (!file) return absl::InvalidArgumentError(fmt::format("open {}: no such file or directory", path));
    for (std::string line; std::getline(file, line);) {
      size_t start = line.find_first_not_of(" \t");
      if (start == std::string::npos || line[start] == '#') continue;
      env.push_back(line.substr(start));
    }
  }
  env.insert(env.end(), flags.env.begin(), flags.env.end());
  json env_list = json::array();
  for (const std::string& entry : env) {
    if (entry.empty() || entry[0] == '=') return InvalidFlag(entry, "-e, --env", "invalid environment variable");
    if (entry.find('=') != std::string::npos) env_list.push_back(entry);
    else if (const char* value = std::getenv(entry.c_str())) env_list.push_back(entry + "=" + value);
  }
  config["Env"] = env_list;
  json labels = json::object();
  for (const std::string& label : flags.labels) {
    size_t eq = label.find('=');
    labels[label.substr(0, eq)] = eq == std::string::npos ? "" : label.substr(eq + 1);
  }
  config["Labels"] = labels;
  if (!flags.stop_signal.empty()) config["StopSignal"] = flags.stop_signal;
  if (flags.stop_timeout >= 0) config["StopTimeout"] = flags.stop_timeout;
  LIMAN_RETURN_IF_ERROR(ApplyHealthFlags(flags, config));

  // Ports.
  json exposed = json::object(), bindings = json::object();
  for (const std::string& spec : flags.publish) {
    absl::Status parsed = AddPublishedPort(spec, exposed, bindings);
    if (!parsed.ok()) return InvalidFlag(spec, "-p, --publish", std::string(parsed.message()));
  }
  for (const std::string& spec : flags.expose) {
    std::string port = spec.substr(0, spec.find('/'));
    std::string protocol = spec.find('/') == std::string::npos ? "tcp" : spec.substr(spec.find('/') + 1);
    absl::StatusOr<std::pair<int, int>> range = ParsePortRange(port);
    if (!range.ok()) return InvalidFlag(spec, "--expose", std::string(range.status().message()));
    for (int p = range->first; p <= range->second; ++p) exposed[fmt::format("{}/{}", p, protocol)] = json::object();
  }
  config["ExposedPorts"] = exposed;
  host["PortBindings"] = bindings;
  host["PublishAllPorts"] = flags.publish_all;

  // Storage: -v SRC:DST[:OPTS] are binds (or named volumes); -v /path alone is an anonymous volume.
  json binds = json::array(), volumes = json::object(), mounts = json::array();
  for (const std::string& spec : flags.volumes) {
    std::vector<std::string> parts = absl::StrSplit(spec, ':');
    if (spec.empty() || parts.size() > 3 || parts[0].empty())
      return InvalidFlag(spec, "-v, --volume", "invalid spec: " + spec);
    if (parts.size() == 1) volumes[parts[0]] = json::object();
    else binds.push_back(spec);
  }
  for (const std::string& spec : flags.mounts) {
    absl::StatusOr<json> mount = ParseMountFlag(spec);
    if (!mount.ok()) return InvalidFlag(spec, "--mount", std::string(mount.status().message()));
    mounts.push_back(*mount);
  }
  json tmpfs = json::object();
  for (const std::string& spec : flags.tmpfs) {
    size_t colon = spec.find(':');
    tmpfs[spec.substr(0, colon)] = colon == std::string::npos ? "" : spec.substr(colon + 1);
  }
  config["Volumes"] = volumes;
  host["Binds"] = binds;
  host["Mounts"] = mounts;
  if (!tmpfs.empty()) host["Tmpfs"] = tmpfs;

  // Network.
  std::string network = flags.network.empty() ? "default" : flags.network;
  host["NetworkMode"] = network;
  if (!flags.network_aliases.empty() || !flags.ip.empty()) {
    json endpoint = json::object();
    if (!flags.network_aliases.empty()) endpoint["Aliases"] = flags.network_aliases;
    if (!flags.ip.empty()) endpoint["IPAMConfig"] = {{"IPv4Address", flags.ip}};
    networking["EndpointsConfig"][network] = endpoint;
  }
  host["ExtraHosts"] = flags.add_hosts;
  if (!flags.links.empty()) host["Links"] = flags.links;
  host["Dns"] = flags.dns;
  host["DnsSearch"] = flags.dns_search;
  host["DnsOptions"] = flags.dns_options;

  // Resources.
  LIMAN_RETURN_IF_ERROR(ApplyResourceFlags(flags.resources, host));
  LIMAN_RETURN_IF_ERROR(MemoryFlag(flags.shm_size, "--shm-size", "ShmSize", host));
  if (flags.oom_kill_disable) host["OomKillDisable"] = true;
  json ulimits = json::array();
  for (const std::string& spec : flags.ulimits) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos) return InvalidFlag(spec, "--ulimit", "invalid ulimit argument: " + spec);
    std::vector<std::string> limits = absl::StrSplit(spec.substr(eq + 1), ':');
    char* end = nullptr;
    int64_t soft = std::strtoll(limits[0].c_str(), &end, 10);
    int64_t hard = soft;
    if (limits[0].empty() || *end || limits.size() > 2) return InvalidFlag(spec, "--ulimit", "invalid ulimit argument: " + spec);
    if (limits.size() == 2) {
      hard = std::strtoll(limits[1].c_str(), &end, 10);
      if (limits[1].empty() || *end) return InvalidFlag(spec, "--ulimit", "invalid ulimit argument: " + spec);
      if (soft > hard) return InvalidFlag(spec, "--ulimit", fmt::format("ulimit soft limit must be less than or equal to hard limit: {} > {}", soft, hard));
    }
    ulimits.push_back({{"Name", spec.substr(0, eq)}, {"Soft", soft}, {"Hard", hard}});
  }
  host["Ulimits"] = ulimits;
  json devices = json::array();
  for (const std::string& spec : flags.devices) {
    std::vector<std::string> parts = absl::StrSplit(spec, ':');
    if (parts.size() > 3 || parts[0].empty()) return InvalidFlag(spec, "--device", "bad format for path: " + spec);
    std::string inside = parts.size() > 1 ? parts[1] : parts[0], permissions = parts.size() > 2 ? parts[2] : "rwm";
    // "/dev/x:rw": the second part is the permissions when it is no path.
    if (parts.size() == 2 && !inside.empty() && inside[0] != '/') {
      permissions = inside;
      inside = parts[0];
    }
    devices.push_back({{"PathOnHost", parts[0]}, {"PathInContainer", inside}, {"CgroupPermissions", permissions}});
  }
  host["Devices"] = devices;

  // Security.
  host["Privileged"] = flags.privileged;
  host["CapAdd"] = flags.cap_add;
  host["CapDrop"] = flags.cap_drop;
  // As the docker CLI: a seccomp profile is sent as the file's JSON, not its path.
  json security_opts = json::array();
  for (const std::string& option : flags.security_opts) {
    // As the docker CLI: systempaths=unconfined becomes empty masked and read-only path lists.
    if (option == "systempaths=unconfined") {
      host["MaskedPaths"] = json::array();
      host["ReadonlyPaths"] = json::array();
      continue;
    }
    bool seccomp_file = (option.rfind("seccomp=", 0) == 0 || option.rfind("seccomp:", 0) == 0) &&
                        option.substr(8) != "unconfined";
    if (!seccomp_file) {
      security_opts.push_back(option);
      continue;
    }
    std::ifstream file(option.substr(8));
    std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (!file) return InvalidFlag(option, "--security-opt", fmt::format("opening seccomp profile ({}) failed", option.substr(8)));
    json profile = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (profile.is_discarded())
      return InvalidFlag(option, "--security-opt", fmt::format("seccomp profile {} is not JSON", option.substr(8)));
    security_opts.push_back("seccomp=" + profile.dump());
  }
  host["SecurityOpt"] = security_opts;
  host["ReadonlyRootfs"] = flags.read_only;
  host["GroupAdd"] = flags.group_add;
  json sysctls = json::object();
  for (const std::string& spec : flags.sysctls) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos) return InvalidFlag(spec, "--sysctl", "sysctl '" + spec + "' is not allowed");
    sysctls[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  if (!sysctls.empty()) host["Sysctls"] = sysctls;
  if (flags.init) host["Init"] = true;
  if (!flags.pid_mode.empty()) host["PidMode"] = flags.pid_mode;
  if (!flags.ipc_mode.empty()) host["IpcMode"] = flags.ipc_mode;
  if (!flags.uts_mode.empty()) host["UTSMode"] = flags.uts_mode;
  if (!flags.cgroupns_mode.empty()) host["CgroupnsMode"] = flags.cgroupns_mode;
  if (!flags.volumes_from.empty()) host["VolumesFrom"] = flags.volumes_from;
  if (flags.oom_score_adj != 0) host["OomScoreAdj"] = flags.oom_score_adj;

  // Lifecycle and logging.
  host["AutoRemove"] = flags.remove;
  if (!flags.runtime.empty()) host["Runtime"] = flags.runtime;
  LIMAN_ASSIGN_OR_RETURN(json restart, ParseRestartFlag(flags.restart));
  if (flags.remove && restart["Name"] != "no") return absl::InvalidArgumentError("Conflicting options: --restart and --rm");
  host["RestartPolicy"] = restart;
  json log_config = {{"Type", flags.log_driver}, {"Config", json::object()}};
  for (const std::string& option : flags.log_opts) {
    size_t eq = option.find('=');
    if (eq == std::string::npos) return InvalidFlag(option, "--log-opt", "invalid key value pair format in driver options");
    log_config["Config"][option.substr(0, eq)] = option.substr(eq + 1);
  }
  host["LogConfig"] = log_config;

  config["HostConfig"] = host;
  config["NetworkingConfig"] = networking;
  return config;
}

}  // namespace liman::cli
