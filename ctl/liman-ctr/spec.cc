#include "ctl/liman-ctr/spec.h"

#include <charconv>
#include <map>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

using nlohmann::ordered_json;

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",  "CAP_FOWNER",       "CAP_MKNOD",
      "CAP_NET_RAW", "CAP_SETGID",       "CAP_SETUID",  "CAP_SETFCAP",      "CAP_SETPCAP",
      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"};
  return caps;
}

const char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

ordered_json MountEntry(const char* destination, const char* type, const char* source,
                        std::vector<std::string> options) {
  return ordered_json{{"destination", destination}, {"type", type}, {"source", source},
                      {"options", std::move(options)}};
}

// A character device rule; minor < 0: every minor (Go leaves the pointer nil).
ordered_json AllowCharDevice(int64_t major, int64_t minor) {
  ordered_json rule{{"allow", true}, {"type", "c"}, {"major", major}};
  if (minor >= 0) rule["minor"] = minor;
  rule["access"] = "rwm";
  return rule;
}

absl::StatusOr<uint32_t> ParseId(const std::string& text, const std::string& user) {
  uint32_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size())
    return absl::InvalidArgumentError(fmt::format(
        "resolve user {}: {} is not numeric and user names need the image's /etc/passwd, "
        "which liman-ctr does not read (use a numeric uid[:gid])",
        Quote(user), Quote(text)));
  return value;
}

}  // namespace

std::vector<std::string> MergeEnv(const std::vector<std::string>& defaults,
                                  const std::vector<std::string>& overrides) {
  std::vector<std::optional<std::string>> results;
  std::map<std::string, size_t> index;
  for (const std::string& entry : defaults) {
    index[entry.substr(0, entry.find('='))] = results.size();
    results.emplace_back(entry);
  }
  for (const std::string& value : overrides) {
    size_t equals = value.find('=');
    if (equals == std::string::npos) {
      if (auto it = index.find(value); it != index.end()) results[it->second].reset();
      continue;
    }
    if (auto it = index.find(value.substr(0, equals)); it != index.end()) {
      results[it->second] = value;
    } else {
      results.emplace_back(value);
    }
  }
  std::vector<std::string> merged;
  for (auto& entry : results)
    if (entry && !entry->empty()) merged.push_back(std::move(*entry));
  return merged;
}

ordered_json DefaultSpec(const std::string& namespace_name, const std::string& id) {
  const auto& caps = DefaultCapabilities();
  ordered_json spec;
  spec["ociVersion"] = kSpecVersion;
  spec["process"] = ordered_json{
      {"user", ordered_json{{"uid", 0}, {"gid", 0}}},
      {"cwd", "/"},
      {"capabilities", ordered_json{{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", ordered_json::array({ordered_json{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true}};
  spec["root"] = ordered_json{{"path", "rootfs"}};
  spec["mounts"] = ordered_json::array({
      MountEntry("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      MountEntry("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      MountEntry("/dev/pts", "devpts", "devpts",
                 {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      MountEntry("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      MountEntry("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      MountEntry("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      MountEntry("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
  });
  ordered_json devices = ordered_json::array({ordered_json{{"allow", false}, {"access", "rwm"}}});
  // WithDefaultUnixDevices: null, random, full, tty, zero, urandom, console, pts/*, ptmx.
  for (auto [major, minor] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 1}, {136, -1}, {5, 2}})
    devices.push_back(AllowCharDevice(major, minor));
  ordered_json namespaces = ordered_json::array();
  for (const char* type : {"pid", "ipc", "uts", "mount", "network"})
    namespaces.push_back(ordered_json{{"type", type}});
  spec["linux"] = ordered_json{
      {"resources", ordered_json{{"devices", std::move(devices)}}},
      {"cgroupsPath", "/" + namespace_name + "/" + id},
      {"namespaces", std::move(namespaces)},
      {"maskedPaths", {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                       "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                       "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  return spec;
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ResolveNumericUser(const std::string& user) {
  if (user == "root" || user == "root:root") return std::pair<uint32_t, uint32_t>{0, 0};
  size_t colon = user.find(':');
  LIMAN_ASSIGN_OR_RETURN(uint32_t uid, ParseId(user.substr(0, colon), user));
  uint32_t gid = 0;  // containerd's WithUserID: a uid /etc/passwd does not list gets gid 0
  if (colon != std::string::npos) {
    std::string group = user.substr(colon + 1);
    if (group != "root") {
      LIMAN_ASSIGN_OR_RETURN(gid, ParseId(group, user));
    }
  }
  return std::pair<uint32_t, uint32_t>{uid, gid};
}

absl::StatusOr<ordered_json> RunSpec(const ImageConfig& image, const RunSpecOptions& options) {
  ordered_json spec = DefaultSpec(options.namespace_name, options.id);
  ordered_json& process = spec["process"];
  // oci.WithEnv(--env) first, on an empty environment; the image's (or the default PATH) under it.
  std::vector<std::string> env = MergeEnv({}, options.env);
  std::vector<std::string> defaults = image.env;
  if (defaults.empty()) defaults = {kDefaultPath};
  env = MergeEnv(defaults, env);

  std::vector<std::string> args = image.entrypoint;
  args.insert(args.end(), image.cmd.begin(), image.cmd.end());
  if (!options.args.empty()) args = options.args;  // oci.WithProcessArgs replaces all of it
  if (args.empty())
    return absl::InvalidArgumentError("no command: the image sets no Entrypoint or Cmd and none was given");

  uint32_t uid = 0, gid = 0;
  if (!image.user.empty()) {
    LIMAN_ASSIGN_OR_RETURN(std::tie(uid, gid), ResolveNumericUser(image.user));
  }
  std::string cwd = options.cwd.empty() ? image.working_dir : options.cwd;
  if (cwd.empty()) cwd = "/";
  if (options.terminal) env.push_back("TERM=xterm");  // oci.WithTTY

  // Rebuilt in Go's field order: terminal, user, args, env, cwd, capabilities, rlimits, ...
  ordered_json rebuilt;
  if (options.terminal) rebuilt["terminal"] = true;
  rebuilt["user"] = ordered_json{{"uid", uid}, {"gid", gid}};
  rebuilt["args"] = args;
  rebuilt["env"] = env;
  rebuilt["cwd"] = cwd;
  rebuilt["capabilities"] = process["capabilities"];
  rebuilt["rlimits"] = process["rlimits"];
  rebuilt["noNewPrivileges"] = true;
  process = std::move(rebuilt);
  // ctr run's --cpu-shares default.
  spec["linux"]["resources"]["cpu"] = ordered_json{{"shares", 1024}};
  if (!options.cgroup.empty()) spec["linux"]["cgroupsPath"] = options.cgroup;
  return spec;
}

}  // namespace liman::ctr
