#include "engine/daemon/docker_spec.h"

#include <sys/prctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/capability.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/json_member.h"
#include "common/status.h"
#include "ctl/liman-ctr/spec.h"
#include "engine/daemon/container_user.h"
#include "engine/daemon/health_check.h"
#include "engine/daemon/init_binary.h"
#include "engine/daemon/seccomp_profile.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;
using nlohmann::ordered_json;

namespace {

constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Drops the entries of the array `list` whose `key` is `value` (a namespace by its type, a mount
// by its destination).
void EraseEntries(ordered_json& list, const char* key, const std::string& value) {
  ordered_json kept = ordered_json::array();
  for (ordered_json& entry : list)
    if (entry.value(key, "") != value) kept.push_back(std::move(entry));
  list = std::move(kept);
}

ordered_json BindMount(const std::string& source, const std::string& destination, bool readonly,
                       const std::string& propagation) {
  std::vector<std::string> options = {"rbind", propagation.empty() ? "rprivate" : propagation};
  if (readonly) options.push_back("ro");
  return ordered_json{{"destination", destination}, {"type", "bind"}, {"source", source}, {"options", options}};
}

// "CAP_NET_ADMIN", "net_admin" and "NET_ADMIN" are one capability (moby's NormalizeLegacyCapabilities).
absl::StatusOr<std::string> NormalizeCapability(const std::string& name) {
  std::string upper = absl::AsciiStrToUpper(name);
  if (upper == "ALL") return upper;
  if (!absl::StartsWith(upper, "CAP_")) upper = "CAP_" + upper;
  if (capng_name_to_capability(upper.substr(4).c_str()) < 0)
    return absl::InvalidArgumentError(fmt::format("invalid capability: {}", name));
  return upper;
}

// Docker's TweakCapabilities: the default set, ALL when added, then drops (ALL drops all).
absl::StatusOr<std::vector<std::string>> Capabilities(const std::vector<std::string>& defaults, const json& add_list,
                                                      const json& drop_list) {
  std::vector<std::string> caps = defaults;
  std::vector<std::string> adds, drops;
  for (const std::string& name : StringList(add_list)) {
    LIMAN_ASSIGN_OR_RETURN(std::string cap, NormalizeCapability(name));
    adds.push_back(cap);
  }
  for (const std::string& name : StringList(drop_list)) {
    LIMAN_ASSIGN_OR_RETURN(std::string cap, NormalizeCapability(name));
    drops.push_back(cap);
  }
  if (std::find(adds.begin(), adds.end(), "ALL") != adds.end()) caps = AllCapabilities();
  for (const std::string& cap : adds)
    if (cap != "ALL" && std::find(caps.begin(), caps.end(), cap) == caps.end()) caps.push_back(cap);
  if (std::find(drops.begin(), drops.end(), "ALL") != drops.end()) {
    // ALL dropped: only what was added explicitly stays.
    std::vector<std::string> kept;
    for (const std::string& cap : adds)
      if (cap != "ALL") kept.push_back(cap);
    return kept;
  }
  std::erase_if(caps, [&](const std::string& cap) { return std::find(drops.begin(), drops.end(), cap) != drops.end(); });
  return caps;
}

// One -v entry: "/host:/ctr[:ro|rw][,propagation]". Named volumes have no driver yet.
absl::StatusOr<ordered_json> ParseBind(const std::string& bind) {
  std::vector<std::string> parts = absl::StrSplit(bind, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[1].empty())
    return absl::InvalidArgumentError(fmt::format("invalid volume specification: '{}'", bind));
  if (parts[0].empty() || parts[0][0] != '/')
    return absl::InvalidArgumentError(fmt::format(
        "invalid volume specification: '{}': named volumes are not supported by limand yet (use an absolute host path)",
        bind));
  if (parts[1][0] != '/')
    return absl::InvalidArgumentError(
        fmt::format("invalid volume specification: '{}': mount path must be absolute", bind));
  bool readonly = false;
  std::string propagation;
  if (parts.size() == 3) {
    for (const std::string& option : std::vector<std::string>(absl::StrSplit(parts[2], ',', absl::SkipEmpty()))) {
      if (option == "ro") {
        readonly = true;
      } else if (option == "rw" || option == "z" || option == "Z" || option == "nocopy") {
      } else if (option == "private" || option == "rprivate" || option == "shared" || option == "rshared" ||
                 option == "slave" || option == "rslave") {
        propagation = option;
      } else {
        return absl::InvalidArgumentError(fmt::format("invalid mode: {}", option));
      }
    }
  }
  return BindMount(parts[0], parts[1], readonly, propagation);
}

// One HostConfig.Mounts entry (--mount): bind and tmpfs.
absl::StatusOr<ordered_json> ParseMount(const json& mount) {
  std::string type = StringMember(mount, "Type");
  std::string target = StringMember(mount, "Target");
  if (target.empty() || target[0] != '/')
    return absl::InvalidArgumentError(fmt::format("invalid mount config for type \"{}\": invalid mount path: '{}' mount path must be absolute", type, target));
  if (type == "bind") {
    std::string source = StringMember(mount, "Source");
    if (source.empty() || source[0] != '/')
      return absl::InvalidArgumentError(fmt::format("invalid mount config for type \"bind\": invalid mount path: '{}' mount path must be absolute", source));
    std::string propagation;
    if (mount.contains("BindOptions")) propagation = StringMember(mount["BindOptions"], "Propagation");
    return BindMount(source, target, BoolField(mount, "ReadOnly"), propagation);
  }
  if (type == "tmpfs") {
    std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
    if (mount.contains("TmpfsOptions")) {
      if (int64_t size = IntMember(mount["TmpfsOptions"], "SizeBytes"); size > 0) options.push_back(fmt::format("size={}", size));
      if (int64_t mode = IntMember(mount["TmpfsOptions"], "Mode"); mode > 0) options.push_back(fmt::format("mode={:o}", mode));
    }
    if (BoolField(mount, "ReadOnly")) options.push_back("ro");
    return ordered_json{{"destination", target}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", options}};
  }
  return absl::InvalidArgumentError(fmt::format("mount type {} is not supported by limand yet", Quote(type)));
}

absl::StatusOr<int> UlimitType(const std::string& name, std::string* type) {
  static const std::map<std::string, std::string> kTypes = {
      {"core", "RLIMIT_CORE"},     {"cpu", "RLIMIT_CPU"},       {"data", "RLIMIT_DATA"},
      {"fsize", "RLIMIT_FSIZE"},   {"locks", "RLIMIT_LOCKS"},   {"memlock", "RLIMIT_MEMLOCK"},
      {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"}, {"nofile", "RLIMIT_NOFILE"},
      {"nproc", "RLIMIT_NPROC"},   {"rss", "RLIMIT_RSS"},       {"rtprio", "RLIMIT_RTPRIO"},
      {"rttime", "RLIMIT_RTTIME"}, {"sigpending", "RLIMIT_SIGPENDING"}, {"stack", "RLIMIT_STACK"}};
  auto found = kTypes.find(name);
  if (found == kTypes.end()) return absl::InvalidArgumentError(fmt::format("invalid ulimit type: {}", name));
  *type = found->second;
  return 0;
}

}  // namespace

bool BoolField(const json& object, const char* key) {
  if (!object.is_object()) return false;
  auto found = object.find(key);
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

std::vector<std::string> AllCapabilities() {
  std::vector<std::string> caps;
  for (int cap = 0; cap <= CAP_LAST_CAP; ++cap) {
    // Only what limand's own bounding set holds: a capability taken from the machine's root
    // (a sandboxed host) cannot be given to a container, and asking for it fails the start
    // with EPERM (prctl(2), PR_CAPBSET_READ).
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
    const char* name = capng_capability_to_name(static_cast<capng_type_t>(cap));
    if (name != nullptr) caps.push_back("CAP_" + absl::AsciiStrToUpper(name));
  }
  return caps;
}

json MergeImageConfig(const ctr::ImageConfig& image, const json& config) {
  json merged = config.is_object() ? config : json::object();
  merged["Env"] = ctr::MergeEnv(image.env, StringList(config.value("Env", json())));
  bool entrypoint_given = config.contains("Entrypoint") && !config["Entrypoint"].is_null();
  bool cmd_given = !StringList(config.value("Cmd", json())).empty();
  if (!entrypoint_given) merged["Entrypoint"] = image.entrypoint.empty() ? json(nullptr) : json(image.entrypoint);
  // An entrypoint given without a command drops the image's command (moby's merge).
  if (!cmd_given) merged["Cmd"] = entrypoint_given || image.cmd.empty() ? json(nullptr) : json(image.cmd);
  if (StringMember(config, "WorkingDir").empty()) merged["WorkingDir"] = image.working_dir;
  if (StringMember(config, "User").empty()) merged["User"] = image.user;
  json labels = json::object();
  for (const auto& [key, value] : image.labels) labels[key] = value;
  if (config.contains("Labels") && config["Labels"].is_object())
    for (const auto& [key, value] : config["Labels"].items()) labels[key] = value;
  merged["Labels"] = labels;
  if (StringMember(config, "StopSignal").empty() && !image.stop_signal.empty()) merged["StopSignal"] = image.stop_signal;
  // The image's exposed ports join the request's (--expose).
  json exposed = config.contains("ExposedPorts") && config["ExposedPorts"].is_object() ? config["ExposedPorts"] : json::object();
  for (const std::string& port : image.exposed_ports)
    if (!exposed.contains(port)) exposed[port] = json::object();
  if (!exposed.empty()) merged["ExposedPorts"] = exposed;
  MergeHealthcheck(image.healthcheck, merged);
  return merged;
}

absl::StatusOr<std::vector<std::string>> ContainerArgs(const json& merged_config) {
  std::vector<std::string> args = StringList(merged_config.value("Entrypoint", json()));
  for (std::string& word : StringList(merged_config.value("Cmd", json()))) args.push_back(std::move(word));
  // --entrypoint "" is [""]: no entrypoint at all.
  if (!args.empty() && args.front().empty()) args.erase(args.begin());
  if (args.empty()) return absl::InvalidArgumentError("no command specified");
  return args;
}

bool HostHasAppArmor() {
  // apparmor(7): the module's "enabled" parameter reads "Y" when it confines processes.
  absl::StatusOr<std::string> enabled = ReadFile("/sys/module/apparmor/parameters/enabled");
  return enabled.ok() && enabled->starts_with("Y");
}

std::optional<std::string> ModeContainer(const std::string& mode) {
  static constexpr std::string_view kPrefix = "container:";
  if (!mode.starts_with(kPrefix) || mode.size() == kPrefix.size()) return std::nullopt;
  return mode.substr(kPrefix.size());
}

bool JoinsBridgeNetworks(const std::string& network_mode) {
  return network_mode != "host" && network_mode != "none" && !network_mode.starts_with("container:");
}

absl::Status CheckSharedNetworkOptions(const json& config, const json& host_config) {
  auto given = [](const json& object, const char* key) {
    const json& value = object.is_object() ? object.value(key, json()) : json();
    return value.is_string() ? !value.get<std::string>().empty() : !value.empty() && !value.is_boolean();
  };
  if (given(config, "Hostname")) return absl::InvalidArgumentError("conflicting options: hostname and the network mode");
  if (given(host_config, "Links"))
    return absl::InvalidArgumentError(
        "conflicting options: container type network can't be used with links. This would result in undefined behavior");
  if (given(host_config, "Dns")) return absl::InvalidArgumentError("conflicting options: dns and the network mode");
  if (given(host_config, "ExtraHosts"))
    return absl::InvalidArgumentError("conflicting options: custom host-to-IP mapping and the network mode");
  if (given(config, "MacAddress")) return absl::InvalidArgumentError("conflicting options: mac-address and the network mode");
  if (given(host_config, "PortBindings") || BoolField(host_config, "PublishAllPorts"))
    return absl::InvalidArgumentError("conflicting options: port publishing and the container type network mode");
  if (given(config, "ExposedPorts"))
    return absl::InvalidArgumentError("conflicting options: port exposing and the container type network mode");
  return absl::OkStatus();
}

absl::Status CheckNamespaceMode(const NamespaceMode& mode, const std::string& value) {
  bool valid = value.empty() || value == "host" || ModeContainer(value).has_value();
  if (std::string_view(mode.type) == "ipc") valid = valid || value == "private" || value == "shareable" || value == "none";
  if (std::string_view(mode.type) == "uts") valid = value.empty() || value == "host";
  if (!valid) return absl::InvalidArgumentError(fmt::format("invalid {} mode: {}", mode.word, value));
  return absl::OkStatus();
}

absl::StatusOr<ordered_json> DockerSpec(const DockerSpecInputs& in) {
  const json& config = in.config;
  const json& host = in.host_config.is_object() ? in.host_config : json::object();
  ordered_json spec = ctr::DefaultSpec("", in.id);
  bool privileged = BoolField(host, "Privileged");
  bool tty = BoolField(config, "Tty");

  // ---- process ----
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> args, ContainerArgs(config));
  // --init: the init runs as PID 1 and starts the command (moby's WithCommonOptions).
  if (!in.init_path.empty()) args.insert(args.begin(), {kInContainerInitPath, "--"});
  std::vector<std::string> env = {kDefaultPath, "HOSTNAME=" + in.hostname};
  if (tty) env.push_back("TERM=xterm");
  env = ctr::MergeEnv(env, StringList(config.value("Env", json())));
  std::string cwd = StringMember(config, "WorkingDir");
  if (cwd.empty()) cwd = "/";
  std::vector<std::string> default_caps = spec["process"]["capabilities"]["bounding"].get<std::vector<std::string>>();
  std::vector<std::string> caps;
  if (privileged) {
    caps = AllCapabilities();
  } else {
    LIMAN_ASSIGN_OR_RETURN(caps, Capabilities(default_caps, host.value("CapAdd", json()), host.value("CapDrop", json())));
  }
  ordered_json process;
  if (tty) process["terminal"] = true;
  // uid, gid, groups and HOME come from the image's /etc/passwd and /etc/group once the rootfs
  // exists (CompleteSpecUser).
  process["user"] = ordered_json{{"uid", 0}, {"gid", 0}};
  process["args"] = args;
  process["env"] = env;
  process["cwd"] = cwd;
  process["capabilities"] = ordered_json{{"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  ordered_json rlimits = ordered_json::array();
  if (host.contains("Ulimits") && host["Ulimits"].is_array()) {
    for (const json& limit : host["Ulimits"]) {
      std::string type;
      LIMAN_RETURN_IF_ERROR(UlimitType(StringMember(limit, "Name"), &type).status());
      rlimits.push_back(ordered_json{{"type", type}, {"hard", IntMember(limit, "Hard")}, {"soft", IntMember(limit, "Soft")}});
    }
  }
  if (!rlimits.empty()) process["rlimits"] = rlimits;
  // Seccomp: Docker's default profile unless --privileged or seccomp=unconfined; the docker CLI
  // sends `seccomp=<the profile file's JSON>` for a profile of one's own.
  std::optional<json> seccomp_profile;
  if (!privileged) seccomp_profile = DefaultSeccompProfile();
  for (const std::string& option : StringList(host.value("SecurityOpt", json()))) {
    if (option == "no-new-privileges" || option == "no-new-privileges:true" || option == "no-new-privileges=true") {
      process["noNewPrivileges"] = true;
    } else if (absl::StartsWith(option, "no-new-privileges")) {
    } else if (option == "seccomp=unconfined" || option == "seccomp:unconfined") {
      seccomp_profile.reset();
    } else if (absl::StartsWith(option, "seccomp=") || absl::StartsWith(option, "seccomp:")) {
      json profile = json::parse(option.substr(8), nullptr, /*allow_exceptions=*/false);
      if (profile.is_discarded())
        return absl::InvalidArgumentError("invalid --security-opt seccomp: the profile is not JSON (give the file's contents)");
      if (!privileged) seccomp_profile = std::move(profile);
    } else if (absl::StartsWith(option, "label") || option == "disable") {
    } else if (absl::StartsWith(option, "apparmor=") || absl::StartsWith(option, "apparmor:")) {
      // As moby's WithApparmor: a host without AppArmor runs containers without a profile,
      // whatever was asked; with AppArmor, only "unconfined" is what limand can give.
      if (option.substr(9) != "unconfined" && HostHasAppArmor())
        return absl::InvalidArgumentError(
            fmt::format("invalid --security-opt: AppArmor profile {} is not supported by limand", Quote(option.substr(9))));
    } else {
      return absl::InvalidArgumentError(fmt::format("invalid --security-opt: {} is not supported by limand yet", Quote(option)));
    }
  }
  spec["process"] = std::move(process);
  spec["root"] = ordered_json{{"path", "rootfs"}, {"readonly", BoolField(host, "ReadonlyRootfs")}};
  spec["hostname"] = in.hostname;

  // ---- mounts: Docker's defaults (no /run tmpfs, 64 MiB /dev/shm, cgroup ro) ----
  ordered_json mounts = ordered_json::array();
  int64_t shm_size = IntMember(host, "ShmSize");
  if (shm_size < 0) return absl::InvalidArgumentError("SHM size can not be less than 0");
  for (ordered_json& mount : spec["mounts"]) {
    if (mount["destination"] == "/run") continue;
    if (mount["destination"] == "/dev/shm" && shm_size > 0) {
      ordered_json options = ordered_json::array();
      for (const ordered_json& option : mount["options"])
        if (!option.get<std::string>().starts_with("size=")) options.push_back(option);
      options.push_back(fmt::format("size={}", shm_size));
      mount["options"] = std::move(options);
    }
    if (privileged && mount["destination"] == "/sys") mount["options"] = {"nosuid", "noexec", "nodev", "rw"};
    mounts.push_back(std::move(mount));
  }
  mounts.push_back(ordered_json{{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"},
                                {"options", {"ro", "nosuid", "noexec", "nodev"}}});
  for (const char* file : {"resolv.conf", "hostname", "hosts"})
    mounts.push_back(BindMount(in.etc_files_dir + "/" + file, std::string("/etc/") + file, false, ""));
  if (!in.init_path.empty()) mounts.push_back(BindMount(in.init_path, kInContainerInitPath, true, ""));
  for (const std::string& bind : StringList(host.value("Binds", json()))) {
    LIMAN_ASSIGN_OR_RETURN(ordered_json mount, ParseBind(bind));
    mounts.push_back(std::move(mount));
  }
  if (host.contains("Mounts") && host["Mounts"].is_array()) {
    for (const json& mount : host["Mounts"]) {
      LIMAN_ASSIGN_OR_RETURN(ordered_json parsed, ParseMount(mount));
      mounts.push_back(std::move(parsed));
    }
  }
  if (host.contains("Tmpfs") && host["Tmpfs"].is_object()) {
    for (const auto& [target, value] : host["Tmpfs"].items()) {
      std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
      if (value.is_string())
        for (const std::string& option : std::vector<std::string>(absl::StrSplit(value.get<std::string>(), ',', absl::SkipEmpty())))
          options.emplace_back(option);
      mounts.push_back(ordered_json{{"destination", target}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", options}});
    }
  }
  spec["mounts"] = std::move(mounts);

  // ---- linux: namespaces, cgroup, resources, masked paths ----
  ordered_json& linux = spec["linux"];
  if (seccomp_profile) {
    struct utsname kernel {};
    uname(&kernel);
    absl::StatusOr<ordered_json> seccomp = SeccompForContainer(*seccomp_profile, caps, kernel.release);
    if (!seccomp.ok()) return absl::InvalidArgumentError(fmt::format("invalid --security-opt seccomp: {}", seccomp.status().message()));
    linux["seccomp"] = *std::move(seccomp);
  }
  std::string network_mode = StringMember(host, "NetworkMode");
  if (network_mode == "host") {
    EraseEntries(linux["namespaces"], "type", "network");
    EraseEntries(linux["namespaces"], "type", "uts");
    spec.erase("hostname");
  } else if (!in.netns_path.empty()) {
    for (ordered_json& ns : linux["namespaces"])
      if (ns["type"] == "network") ns["path"] = in.netns_path;
  }
  // --pid, --ipc, --uts: "host" leaves the namespace out (and IPC takes the host's /dev/shm,
  // UTS its hostname); "container:<name>" is joined at each start (JoinContainerNamespaces).
  for (const NamespaceMode& mode : kNamespaceModes) {
    std::string value = StringMember(host, mode.field);
    LIMAN_RETURN_IF_ERROR(CheckNamespaceMode(mode, value));
    if (value != "host") continue;
    EraseEntries(linux["namespaces"], "type", mode.type);
    if (std::string_view(mode.type) == "uts") spec.erase("hostname");
  }
  std::string ipc_mode = StringMember(host, "IpcMode");
  if (ipc_mode == "host" || ipc_mode == "none") {
    EraseEntries(spec["mounts"], "destination", "/dev/shm");
    if (ipc_mode == "host") spec["mounts"].push_back(BindMount("/dev/shm", "/dev/shm", false, "rprivate"));
  } else if (!in.shm_path.empty()) {
    for (ordered_json& mount : spec["mounts"])
      if (mount["destination"] == "/dev/shm") mount = BindMount(in.shm_path, "/dev/shm", false, "rprivate");
  }
  // --cgroupns: "private" gives the container a cgroup namespace of its own (cgroup_namespaces(7):
  // its /proc/self/cgroup and cgroupfs then start at its own cgroup); "host" or "" leave it out.
  std::string cgroupns = StringMember(host, "CgroupnsMode");
  if (!cgroupns.empty() && cgroupns != "host" && cgroupns != "private")
    return absl::InvalidArgumentError(fmt::format("invalid cgroup namespace mode: {}", cgroupns));
  if (cgroupns == "private") linux["namespaces"].push_back(ordered_json{{"type", "cgroup"}});
  if (int64_t adjust = IntMember(host, "OomScoreAdj"); adjust != 0) {
    if (adjust < -1000 || adjust > 1000)
      return absl::InvalidArgumentError(fmt::format("Invalid value {}, range for oom score adj is [-1000, 1000]", adjust));
    spec["process"]["oomScoreAdj"] = adjust;
  }
  std::string parent = StringMember(host, "CgroupParent");
  if (parent.empty()) parent = in.cgroup_parent;
  linux["cgroupsPath"] = parent + "/" + in.id;
  // --sysctl: the runtime refuses a key that its namespaces do not cover (runc's rules).
  if (host.contains("Sysctls") && host["Sysctls"].is_object()) {
    for (const auto& [key, value] : host["Sysctls"].items()) {
      if (!value.is_string()) return absl::InvalidArgumentError(fmt::format("sysctl {}: the value must be a string", Quote(key)));
      linux["sysctl"][key] = value;
    }
  }
  LIMAN_ASSIGN_OR_RETURN(ordered_json resources, DockerResources(host));
  if (privileged) resources["devices"] = ordered_json::array({ordered_json{{"allow", true}, {"access", "rwm"}}});
  if (!resources.empty()) linux["resources"].update(resources);
  if (privileged) {
    linux.erase("maskedPaths");
    linux.erase("readonlyPaths");
  } else {
    // HostConfig.MaskedPaths / ReadonlyPaths replace Docker's lists (the docker CLI sends both
    // empty for --security-opt systempaths=unconfined).
    for (const auto& [field, key] : {std::pair{"MaskedPaths", "maskedPaths"}, std::pair{"ReadonlyPaths", "readonlyPaths"}})
      if (host.contains(field) && host[field].is_array()) linux[key] = StringList(host[field]);
  }
  return spec;
}

absl::StatusOr<ordered_json> DockerResources(const json& host) {
  // moby's verifyPlatformContainerResources, as far as these fields go.
  int64_t memory = IntMember(host, "Memory");
  int64_t swap = IntMember(host, "MemorySwap");
  int64_t nano_cpus = IntMember(host, "NanoCpus");
  if (memory > 0 && memory < kMinimumMemory) return absl::InvalidArgumentError("Minimum memory limit allowed is 6MB");
  if (memory > 0 && swap > 0 && swap < memory)
    return absl::InvalidArgumentError("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (nano_cpus != 0 && IntMember(host, "CpuPeriod") != 0)
    return absl::InvalidArgumentError("Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano_cpus != 0 && IntMember(host, "CpuQuota") != 0)
    return absl::InvalidArgumentError("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  int64_t cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (nano_cpus < 0 || nano_cpus > cpus * 1000000000)
    return absl::InvalidArgumentError(
        fmt::format("Range of CPUs is from 0.01 to {}.00, as there are only {} CPUs available", cpus, cpus));

  ordered_json resources = ordered_json::object();
  if (memory > 0) resources["memory"]["limit"] = memory;
  if (swap != 0) resources["memory"]["swap"] = swap;
  if (int64_t reservation = IntMember(host, "MemoryReservation"); reservation > 0)
    resources["memory"]["reservation"] = reservation;
  if (int64_t shares = IntMember(host, "CpuShares"); shares > 0) resources["cpu"]["shares"] = shares;
  if (nano_cpus > 0) {
    constexpr int64_t kPeriod = 100000;  // moby: quota = NanoCPUs * period / 1e9
    resources["cpu"]["period"] = kPeriod;
    resources["cpu"]["quota"] = nano_cpus * kPeriod / 1000000000;
  }
  if (int64_t quota = IntMember(host, "CpuQuota"); quota != 0) resources["cpu"]["quota"] = quota;
  if (int64_t period = IntMember(host, "CpuPeriod"); period != 0) resources["cpu"]["period"] = period;
  if (std::string cpuset = StringMember(host, "CpusetCpus"); !cpuset.empty()) resources["cpu"]["cpus"] = cpuset;
  if (std::string mems = StringMember(host, "CpusetMems"); !mems.empty()) resources["cpu"]["mems"] = mems;
  if (int64_t pids = IntMember(host, "PidsLimit"); pids != 0) resources["pids"]["limit"] = pids;
  if (int64_t weight = IntMember(host, "BlkioWeight"); weight > 0) {
    if (weight < 10 || weight > 1000) return absl::InvalidArgumentError("Range of blkio weight is from 10 to 1000");
    resources["blockIO"]["weight"] = weight;
  }
  return resources;
}

std::vector<std::string> StringList(const json& value) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const json& item : value)
      if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

bool EnvSets(const std::vector<std::string>& env, std::string_view name) {
  return std::any_of(env.begin(), env.end(), [&](const std::string& entry) {
    return entry.size() > name.size() && entry.starts_with(name) && entry[name.size()] == '=';
  });
}

absl::Status CompleteProcessUser(int root_fd, std::string_view user_spec, const std::vector<std::string>& group_add,
                                 ordered_json& process) {
  LIMAN_ASSIGN_OR_RETURN(ContainerUser user, ResolveContainerUserInRoot(root_fd, user_spec, group_add));
  process["user"] = ordered_json{{"uid", user.uid}, {"gid", user.gid}};
  if (!user.additional_gids.empty()) process["user"]["additionalGids"] = user.additional_gids;
  // As runc's init: HOME from the passwd entry unless the environment sets it.
  std::vector<std::string> env = process.value("env", std::vector<std::string>());
  if (!EnvSets(env, "HOME")) {
    env.push_back("HOME=" + user.home);
    process["env"] = env;
  }
  return absl::OkStatus();
}

absl::Status CompleteSpecUser(int root_fd, const nlohmann::json& config, const nlohmann::json& host_config,
                              ordered_json& spec) {
  std::vector<std::string> group_add = StringList(host_config.is_object() ? host_config.value("GroupAdd", json()) : json());
  return CompleteProcessUser(root_fd, StringMember(config, "User"), group_add, spec["process"]);
}

}  // namespace liman::engine
