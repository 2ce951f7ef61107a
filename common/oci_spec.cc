#include "common/oci_spec.h"

#include "absl/strings/str_cat.h"
#include "fmt/format.h"

namespace liman::oci {
using nlohmann::json;

namespace {

// Carries the dotted path of the field that failed to parse up to ParseSpec.
struct FieldError {
  std::string path;
  std::string reason;
};

std::string JsonReason(const json::exception& e) {
  std::string what = e.what();
  size_t close = what.find("] ");
  return close == std::string::npos ? what : what.substr(close + 2);
}

// Reads j[key] into out when present and not null; errors gain the key on their way out.
template <typename T>
void Field(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  try {
    it->get_to(out);
  } catch (FieldError& e) {
    e.path = e.path.empty() ? key : absl::StrCat(key, e.path[0] == '[' ? "" : ".", e.path);
    throw;
  } catch (const json::exception& e) {
    throw FieldError{key, JsonReason(e)};
  }
}

template <typename T>
void Field(const json& j, const char* key, std::optional<T>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  T value{};
  Field(j, key, value);
  out = std::move(value);
}

template <typename T>
void Put(json& j, const char* key, const T& value) {
  j[key] = value;
}
template <typename T>
void Put(json& j, const char* key, const std::optional<T>& value) {
  if (value) j[key] = *value;
}
void PutNonEmpty(json& j, const char* key, const std::string& value) {
  if (!value.empty()) j[key] = value;
}
template <typename T>
void PutNonEmpty(json& j, const char* key, const std::vector<T>& value) {
  if (!value.empty()) j[key] = value;
}
template <typename K, typename V>
void PutNonEmpty(json& j, const char* key, const std::map<K, V>& value) {
  if (!value.empty()) j[key] = value;
}

void RequireObject(const json& j) {
  if (!j.is_object()) throw FieldError{"", absl::StrCat("expected an object, got ", j.type_name())};
}

}  // namespace

// --- from_json / to_json, found by nlohmann through ADL -------------------------------------

void from_json(const json& j, Hook& h) {
  RequireObject(j);
  Field(j, "path", h.path);
  Field(j, "args", h.args);
  Field(j, "env", h.env);
  Field(j, "timeout", h.timeout);
}
void to_json(json& j, const Hook& h) {
  j = json{{"path", h.path}};
  PutNonEmpty(j, "args", h.args);
  PutNonEmpty(j, "env", h.env);
  Put(j, "timeout", h.timeout);
}

void from_json(const json& j, Hooks& h) {
  RequireObject(j);
  Field(j, "prestart", h.prestart);
  Field(j, "createRuntime", h.create_runtime);
  Field(j, "createContainer", h.create_container);
  Field(j, "startContainer", h.start_container);
  Field(j, "poststart", h.poststart);
  Field(j, "poststop", h.poststop);
}
void to_json(json& j, const Hooks& h) {
  j = json::object();
  PutNonEmpty(j, "prestart", h.prestart);
  PutNonEmpty(j, "createRuntime", h.create_runtime);
  PutNonEmpty(j, "createContainer", h.create_container);
  PutNonEmpty(j, "startContainer", h.start_container);
  PutNonEmpty(j, "poststart", h.poststart);
  PutNonEmpty(j, "poststop", h.poststop);
}

void from_json(const json& j, IdMapping& m) {
  RequireObject(j);
  Field(j, "containerID", m.container_id);
  Field(j, "hostID", m.host_id);
  Field(j, "size", m.size);
}
void to_json(json& j, const IdMapping& m) {
  j = json{{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}};
}

void from_json(const json& j, Mount& m) {
  RequireObject(j);
  Field(j, "destination", m.destination);
  Field(j, "type", m.type);
  Field(j, "source", m.source);
  Field(j, "options", m.options);
  Field(j, "uidMappings", m.uid_mappings);
  Field(j, "gidMappings", m.gid_mappings);
}
void to_json(json& j, const Mount& m) {
  j = json{{"destination", m.destination}};
  PutNonEmpty(j, "type", m.type);
  PutNonEmpty(j, "source", m.source);
  PutNonEmpty(j, "options", m.options);
  PutNonEmpty(j, "uidMappings", m.uid_mappings);
  PutNonEmpty(j, "gidMappings", m.gid_mappings);
}

void from_json(const json& j, User& u) {
  RequireObject(j);
  Field(j, "uid", u.uid);
  Field(j, "gid", u.gid);
  Field(j, "umask", u.umask);
  Field(j, "additionalGids", u.additional_gids);
  Field(j, "username", u.username);
}
void to_json(json& j, const User& u) {
  j = json{{"uid", u.uid}, {"gid", u.gid}};
  Put(j, "umask", u.umask);
  PutNonEmpty(j, "additionalGids", u.additional_gids);
  PutNonEmpty(j, "username", u.username);
}

void from_json(const json& j, Capabilities& c) {
  RequireObject(j);
  Field(j, "bounding", c.bounding);
  Field(j, "effective", c.effective);
  Field(j, "inheritable", c.inheritable);
  Field(j, "permitted", c.permitted);
  Field(j, "ambient", c.ambient);
}
void to_json(json& j, const Capabilities& c) {
  j = json::object();
  Put(j, "bounding", c.bounding);
  Put(j, "effective", c.effective);
  Put(j, "inheritable", c.inheritable);
  Put(j, "permitted", c.permitted);
  Put(j, "ambient", c.ambient);
}

void from_json(const json& j, Rlimit& r) {
  RequireObject(j);
  Field(j, "type", r.type);
  Field(j, "hard", r.hard);
  Field(j, "soft", r.soft);
}
void to_json(json& j, const Rlimit& r) { j = json{{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}}; }

void from_json(const json& j, ConsoleSize& c) {
  RequireObject(j);
  Field(j, "height", c.height);
  Field(j, "width", c.width);
}
void to_json(json& j, const ConsoleSize& c) { j = json{{"height", c.height}, {"width", c.width}}; }

void from_json(const json& j, IoPriority& p) {
  RequireObject(j);
  Field(j, "class", p.io_class);
  Field(j, "priority", p.priority);
}
void to_json(json& j, const IoPriority& p) { j = json{{"class", p.io_class}, {"priority", p.priority}}; }

void from_json(const json& j, Scheduler& s) {
  RequireObject(j);
  Field(j, "policy", s.policy);
  Field(j, "nice", s.nice);
  Field(j, "priority", s.priority);
  Field(j, "flags", s.flags);
  Field(j, "runtime", s.runtime);
  Field(j, "deadline", s.deadline);
  Field(j, "period", s.period);
}
void to_json(json& j, const Scheduler& s) {
  j = json{{"policy", s.policy}};
  Put(j, "nice", s.nice);
  Put(j, "priority", s.priority);
  PutNonEmpty(j, "flags", s.flags);
  Put(j, "runtime", s.runtime);
  Put(j, "deadline", s.deadline);
  Put(j, "period", s.period);
}

void from_json(const json& j, Process& p) {
  RequireObject(j);
  Field(j, "terminal", p.terminal);
  Field(j, "consoleSize", p.console_size);
  Field(j, "user", p.user);
  Field(j, "args", p.args);
  Field(j, "env", p.env);
  Field(j, "cwd", p.cwd);
  Field(j, "capabilities", p.capabilities);
  Field(j, "rlimits", p.rlimits);
  Field(j, "noNewPrivileges", p.no_new_privileges);
  Field(j, "apparmorProfile", p.apparmor_profile);
  Field(j, "oomScoreAdj", p.oom_score_adj);
  Field(j, "selinuxLabel", p.selinux_label);
  Field(j, "ioPriority", p.io_priority);
  Field(j, "scheduler", p.scheduler);
}
void to_json(json& j, const Process& p) {
  j = json{{"terminal", p.terminal}, {"user", p.user}, {"args", p.args}, {"cwd", p.cwd}};
  Put(j, "consoleSize", p.console_size);
  PutNonEmpty(j, "env", p.env);
  Put(j, "capabilities", p.capabilities);
  PutNonEmpty(j, "rlimits", p.rlimits);
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  PutNonEmpty(j, "apparmorProfile", p.apparmor_profile);
  Put(j, "oomScoreAdj", p.oom_score_adj);
  PutNonEmpty(j, "selinuxLabel", p.selinux_label);
  Put(j, "ioPriority", p.io_priority);
  Put(j, "scheduler", p.scheduler);
}

void from_json(const json& j, Root& r) {
  RequireObject(j);
  Field(j, "path", r.path);
  Field(j, "readonly", r.readonly);
}
void to_json(json& j, const Root& r) { j = json{{"path", r.path}, {"readonly", r.readonly}}; }

void from_json(const json& j, Namespace& n) {
  RequireObject(j);
  Field(j, "type", n.type);
  Field(j, "path", n.path);
}
void to_json(json& j, const Namespace& n) {
  j = json{{"type", n.type}};
  PutNonEmpty(j, "path", n.path);
}

void from_json(const json& j, TimeOffset& t) {
  RequireObject(j);
  Field(j, "secs", t.secs);
  Field(j, "nanosecs", t.nanosecs);
}
void to_json(json& j, const TimeOffset& t) { j = json{{"secs", t.secs}, {"nanosecs", t.nanosecs}}; }

void from_json(const json& j, Device& d) {
  RequireObject(j);
  Field(j, "type", d.type);
  Field(j, "path", d.path);
  Field(j, "major", d.major);
  Field(j, "minor", d.minor);
  Field(j, "fileMode", d.file_mode);
  Field(j, "uid", d.uid);
  Field(j, "gid", d.gid);
}
void to_json(json& j, const Device& d) {
  j = json{{"type", d.type}, {"path", d.path}, {"major", d.major}, {"minor", d.minor}};
  Put(j, "fileMode", d.file_mode);
  Put(j, "uid", d.uid);
  Put(j, "gid", d.gid);
}

void from_json(const json& j, DeviceCgroupRule& d) {
  RequireObject(j);
  Field(j, "allow", d.allow);
  Field(j, "type", d.type);
  Field(j, "major", d.major);
  Field(j, "minor", d.minor);
  Field(j, "access", d.access);
}
void to_json(json& j, const DeviceCgroupRule& d) {
  j = json{{"allow", d.allow}};
  PutNonEmpty(j, "type", d.type);
  Put(j, "major", d.major);
  Put(j, "minor", d.minor);
  PutNonEmpty(j, "access", d.access);
}

void from_json(const json& j, MemoryResources& m) {
  RequireObject(j);
  Field(j, "limit", m.limit);
  Field(j, "reservation", m.reservation);
  Field(j, "swap", m.swap);
  Field(j, "kernel", m.kernel);
  Field(j, "kernelTCP", m.kernel_tcp);
  Field(j, "swappiness", m.swappiness);
  Field(j, "disableOOMKiller", m.disable_oom_killer);
  Field(j, "useHierarchy", m.use_hierarchy);
  Field(j, "checkBeforeUpdate", m.check_before_update);
}
void to_json(json& j, const MemoryResources& m) {
  j = json::object();
  Put(j, "limit", m.limit);
  Put(j, "reservation", m.reservation);
  Put(j, "swap", m.swap);
  Put(j, "kernel", m.kernel);
  Put(j, "kernelTCP", m.kernel_tcp);
  Put(j, "swappiness", m.swappiness);
  Put(j, "disableOOMKiller", m.disable_oom_killer);
  Put(j, "useHierarchy", m.use_hierarchy);
  Put(j, "checkBeforeUpdate", m.check_before_update);
}

void from_json(const json& j, CpuResources& c) {
  RequireObject(j);
  Field(j, "shares", c.shares);
  Field(j, "quota", c.quota);
  Field(j, "burst", c.burst);
  Field(j, "period", c.period);
  Field(j, "realtimeRuntime", c.realtime_runtime);
  Field(j, "realtimePeriod", c.realtime_period);
  Field(j, "cpus", c.cpus);
  Field(j, "mems", c.mems);
  Field(j, "idle", c.idle);
}
void to_json(json& j, const CpuResources& c) {
  j = json::object();
  Put(j, "shares", c.shares);
  Put(j, "quota", c.quota);
  Put(j, "burst", c.burst);
  Put(j, "period", c.period);
  Put(j, "realtimeRuntime", c.realtime_runtime);
  Put(j, "realtimePeriod", c.realtime_period);
  PutNonEmpty(j, "cpus", c.cpus);
  PutNonEmpty(j, "mems", c.mems);
  Put(j, "idle", c.idle);
}

void from_json(const json& j, WeightDevice& w) {
  RequireObject(j);
  Field(j, "major", w.major);
  Field(j, "minor", w.minor);
  Field(j, "weight", w.weight);
  Field(j, "leafWeight", w.leaf_weight);
}
void to_json(json& j, const WeightDevice& w) {
  j = json{{"major", w.major}, {"minor", w.minor}};
  Put(j, "weight", w.weight);
  Put(j, "leafWeight", w.leaf_weight);
}

void from_json(const json& j, ThrottleDevice& t) {
  RequireObject(j);
  Field(j, "major", t.major);
  Field(j, "minor", t.minor);
  Field(j, "rate", t.rate);
}
void to_json(json& j, const ThrottleDevice& t) {
  j = json{{"major", t.major}, {"minor", t.minor}, {"rate", t.rate}};
}

void from_json(const json& j, BlockIoResources& b) {
  RequireObject(j);
  Field(j, "weight", b.weight);
  Field(j, "leafWeight", b.leaf_weight);
  Field(j, "weightDevice", b.weight_device);
  Field(j, "throttleReadBpsDevice", b.throttle_read_bps_device);
  Field(j, "throttleWriteBpsDevice", b.throttle_write_bps_device);
  Field(j, "throttleReadIOPSDevice", b.throttle_read_iops_device);
  Field(j, "throttleWriteIOPSDevice", b.throttle_write_iops_device);
}
void to_json(json& j, const BlockIoResources& b) {
  j = json::object();
  Put(j, "weight", b.weight);
  Put(j, "leafWeight", b.leaf_weight);
  PutNonEmpty(j, "weightDevice", b.weight_device);
  PutNonEmpty(j, "throttleReadBpsDevice", b.throttle_read_bps_device);
  PutNonEmpty(j, "throttleWriteBpsDevice", b.throttle_write_bps_device);
  PutNonEmpty(j, "throttleReadIOPSDevice", b.throttle_read_iops_device);
  PutNonEmpty(j, "throttleWriteIOPSDevice", b.throttle_write_iops_device);
}

void from_json(const json& j, HugepageLimit& h) {
  RequireObject(j);
  Field(j, "pageSize", h.page_size);
  Field(j, "limit", h.limit);
}
void to_json(json& j, const HugepageLimit& h) { j = json{{"pageSize", h.page_size}, {"limit", h.limit}}; }

void from_json(const json& j, NetworkPriority& p) {
  RequireObject(j);
  Field(j, "name", p.name);
  Field(j, "priority", p.priority);
}
void to_json(json& j, const NetworkPriority& p) { j = json{{"name", p.name}, {"priority", p.priority}}; }

void from_json(const json& j, NetworkResources& n) {
  RequireObject(j);
  Field(j, "classID", n.class_id);
  Field(j, "priorities", n.priorities);
}
void to_json(json& j, const NetworkResources& n) {
  j = json::object();
  Put(j, "classID", n.class_id);
  PutNonEmpty(j, "priorities", n.priorities);
}

void from_json(const json& j, Resources& r) {
  RequireObject(j);
  Field(j, "devices", r.devices);
  Field(j, "memory", r.memory);
  Field(j, "cpu", r.cpu);
  if (auto it = j.find("pids"); it != j.end() && it->is_object()) {
    try {
      Field(*it, "limit", r.pids_limit);
    } catch (FieldError& e) {
      e.path = absl::StrCat("pids.", e.path);
      throw;
    }
  }
  Field(j, "blockIO", r.block_io);
  Field(j, "hugepageLimits", r.hugepage_limits);
  Field(j, "network", r.network);
  Field(j, "unified", r.unified);
}
void to_json(json& j, const Resources& r) {
  j = json::object();
  PutNonEmpty(j, "devices", r.devices);
  Put(j, "memory", r.memory);
  Put(j, "cpu", r.cpu);
  if (r.pids_limit) j["pids"] = json{{"limit", *r.pids_limit}};
  Put(j, "blockIO", r.block_io);
  PutNonEmpty(j, "hugepageLimits", r.hugepage_limits);
  Put(j, "network", r.network);
  PutNonEmpty(j, "unified", r.unified);
}

void from_json(const json& j, SeccompArg& a) {
  RequireObject(j);
  Field(j, "index", a.index);
  Field(j, "value", a.value);
  Field(j, "valueTwo", a.value_two);
  Field(j, "op", a.op);
}
void to_json(json& j, const SeccompArg& a) {
  j = json{{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}};
}

void from_json(const json& j, SeccompSyscall& s) {
  RequireObject(j);
  Field(j, "names", s.names);
  Field(j, "action", s.action);
  Field(j, "errnoRet", s.errno_ret);
  Field(j, "args", s.args);
}
void to_json(json& j, const SeccompSyscall& s) {
  j = json{{"names", s.names}, {"action", s.action}};
  Put(j, "errnoRet", s.errno_ret);
  PutNonEmpty(j, "args", s.args);
}

void from_json(const json& j, Seccomp& s) {
  RequireObject(j);
  Field(j, "defaultAction", s.default_action);
  Field(j, "defaultErrnoRet", s.default_errno_ret);
  Field(j, "architectures", s.architectures);
  Field(j, "flags", s.flags);
  Field(j, "listenerPath", s.listener_path);
  Field(j, "listenerMetadata", s.listener_metadata);
  Field(j, "syscalls", s.syscalls);
}
void to_json(json& j, const Seccomp& s) {
  j = json{{"defaultAction", s.default_action}};
  Put(j, "defaultErrnoRet", s.default_errno_ret);
  PutNonEmpty(j, "architectures", s.architectures);
  PutNonEmpty(j, "flags", s.flags);
  PutNonEmpty(j, "listenerPath", s.listener_path);
  PutNonEmpty(j, "listenerMetadata", s.listener_metadata);
  PutNonEmpty(j, "syscalls", s.syscalls);
}

void from_json(const json& j, Personality& p) {
  RequireObject(j);
  Field(j, "domain", p.domain);
  Field(j, "flags", p.flags);
}
void to_json(json& j, const Personality& p) {
  j = json{{"domain", p.domain}};
  PutNonEmpty(j, "flags", p.flags);
}

void from_json(const json& j, Linux& l) {
  RequireObject(j);
  Field(j, "namespaces", l.namespaces);
  Field(j, "uidMappings", l.uid_mappings);
  Field(j, "gidMappings", l.gid_mappings);
  Field(j, "timeOffsets", l.time_offsets);
  Field(j, "devices", l.devices);
  Field(j, "cgroupsPath", l.cgroups_path);
  Field(j, "resources", l.resources);
  Field(j, "rootfsPropagation", l.rootfs_propagation);
  Field(j, "seccomp", l.seccomp);
  Field(j, "sysctl", l.sysctl);
  Field(j, "maskedPaths", l.masked_paths);
  Field(j, "readonlyPaths", l.readonly_paths);
  Field(j, "mountLabel", l.mount_label);
  Field(j, "personality", l.personality);
  if (auto it = j.find("intelRdt"); it != j.end()) l.intel_rdt = *it;
}
void to_json(json& j, const Linux& l) {
  j = json::object();
  PutNonEmpty(j, "namespaces", l.namespaces);
  PutNonEmpty(j, "uidMappings", l.uid_mappings);
  PutNonEmpty(j, "gidMappings", l.gid_mappings);
  PutNonEmpty(j, "timeOffsets", l.time_offsets);
  PutNonEmpty(j, "devices", l.devices);
  PutNonEmpty(j, "cgroupsPath", l.cgroups_path);
  Put(j, "resources", l.resources);
  PutNonEmpty(j, "rootfsPropagation", l.rootfs_propagation);
  Put(j, "seccomp", l.seccomp);
  PutNonEmpty(j, "sysctl", l.sysctl);
  Put(j, "maskedPaths", l.masked_paths);
  Put(j, "readonlyPaths", l.readonly_paths);
  PutNonEmpty(j, "mountLabel", l.mount_label);
  Put(j, "personality", l.personality);
  if (!l.intel_rdt.is_null()) j["intelRdt"] = l.intel_rdt;
}

void from_json(const json& j, Spec& s) {
  RequireObject(j);
  Field(j, "ociVersion", s.oci_version);
  Field(j, "process", s.process);
  Field(j, "root", s.root);
  Field(j, "hostname", s.hostname);
  Field(j, "domainname", s.domainname);
  Field(j, "mounts", s.mounts);
  Field(j, "hooks", s.hooks);
  Field(j, "annotations", s.annotations);
  Field(j, "linux", s.linux);
}
void to_json(json& j, const Spec& s) {
  j = json{{"ociVersion", s.oci_version}};
  Put(j, "process", s.process);
  Put(j, "root", s.root);
  PutNonEmpty(j, "hostname", s.hostname);
  PutNonEmpty(j, "domainname", s.domainname);
  j["mounts"] = s.mounts;
  Put(j, "hooks", s.hooks);
  PutNonEmpty(j, "annotations", s.annotations);
  Put(j, "linux", s.linux);
}

// --- entry points -------------------------------------------------------------------------

namespace {
template <typename T>
absl::StatusOr<T> ConvertAs(const json& document, std::string_view what) {
  try {
    return document.get<T>();
  } catch (const FieldError& e) {
    return absl::InvalidArgumentError(
        fmt::format("parse {}: field {}: {}", what, e.path.empty() ? "(top level)" : e.path, e.reason));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("parse {}: {}", what, JsonReason(e)));
  }
}

template <typename T>
absl::StatusOr<T> ParseAs(std::string_view json_text, std::string_view what) {
  json document = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return absl::InvalidArgumentError(fmt::format("parse {}: invalid JSON", what));
  return ConvertAs<T>(document, what);
}
}  // namespace

absl::StatusOr<Spec> ParseSpec(std::string_view json_text) { return ParseAs<Spec>(json_text, "config"); }
absl::StatusOr<Spec> SpecFromJson(const json& document) { return ConvertAs<Spec>(document, "config"); }
absl::StatusOr<Process> ParseProcess(std::string_view json_text) {
  return ParseAs<Process>(json_text, "process");
}
absl::StatusOr<Resources> ParseResources(std::string_view json_text) {
  return ParseAs<Resources>(json_text, "resources");
}

json ToJson(const Spec& spec) { return spec; }
json ToJson(const Process& process) { return process; }
json ToJson(const Resources& resources) { return resources; }

const Namespace* FindNamespace(const Linux& linux_config, std::string_view type) {
  for (const Namespace& ns : linux_config.namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

}  // namespace liman::oci
