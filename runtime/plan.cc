#include "runtime/plan.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <set>
#include <string_view>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/seccomp_cache.h"
#include "fmt/format.h"

namespace liman::runtime {
namespace {

struct NamespaceType {
  std::string_view spec_name;
  const char* proc_name;
  int clone_flag;
};

constexpr NamespaceType kNamespaceTypes[] = {
    {"user", "user", CLONE_NEWUSER},     {"pid", "pid", CLONE_NEWPID},
    {"network", "net", CLONE_NEWNET},    {"mount", "mnt", CLONE_NEWNS},
    {"ipc", "ipc", CLONE_NEWIPC},        {"uts", "uts", CLONE_NEWUTS},
    {"cgroup", "cgroup", CLONE_NEWCGROUP}, {"time", "time", CLONE_NEWTIME},
};

std::string AbsoluteFromBundle(const std::string& bundle, const std::string& path) {
  return path.starts_with('/') ? path : JoinPath(bundle, path);
}

absl::Status CheckIdMappings(const std::vector<oci::IdMapping>& mappings, const char* what) {
  for (const oci::IdMapping& m : mappings) {
    if (m.size == 0)
      return absl::InvalidArgumentError(fmt::format("{}: mapping of container id {} has size 0", what, m.container_id));
    // Ranges must fit in 32 bits on both sides (CVE-2024-40635 was an overflow of this kind).
    if (uint64_t{m.container_id} + m.size > uint64_t{UINT32_MAX} + 1 ||
        uint64_t{m.host_id} + m.size > uint64_t{UINT32_MAX} + 1)
      return absl::InvalidArgumentError(fmt::format(
          "{}: mapping {} -> {} of size {} overflows 32-bit ids", what, m.container_id, m.host_id, m.size));
  }
  return absl::OkStatus();
}

bool IdMapped(const std::vector<oci::IdMapping>& mappings, uint32_t id) {
  for (const oci::IdMapping& m : mappings)
    if (id >= m.container_id && uint64_t{id} < uint64_t{m.container_id} + m.size) return true;
  return false;
}

std::string IdMapText(const std::vector<oci::IdMapping>& mappings) {
  std::string text;
  for (const oci::IdMapping& m : mappings) text += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return text;
}

absl::StatusOr<NamespacePlan> PlanNamespaces(const oci::Spec& spec) {
  NamespacePlan plan;
  if (!spec.linux) return plan;
  const oci::Linux& linux_config = *spec.linux;
  std::set<std::string> seen;
  std::vector<NamespaceJoin> joins;
  for (const oci::Namespace& ns : linux_config.namespaces) {
    int flag = NamespaceCloneFlag(ns.type);
    if (flag == 0) return absl::InvalidArgumentError(fmt::format("unknown namespace type {}", Quote(ns.type)));
    if (!seen.insert(ns.type).second)
      return absl::InvalidArgumentError(fmt::format("namespace {} listed twice", Quote(ns.type)));
    if (ns.path.empty()) {
      if (flag == CLONE_NEWUSER) plan.new_user = true;
      else plan.unshare_flags |= flag;
      continue;
    }
    UniqueFd fd(open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return ErrnoError(fmt::format("open {} namespace {}", ns.type, Quote(ns.path)));
    int actual = ioctl(fd.get(), NS_GET_NSTYPE);
    if (actual < 0) return ErrnoError(fmt::format("{} is not a namespace (ioctl NS_GET_NSTYPE)", Quote(ns.path)));
    if (actual != flag)
      return absl::InvalidArgumentError(fmt::format("{} is not a {} namespace", Quote(ns.path), ns.type));
    NamespaceJoin join{flag, ns.path, std::move(fd)};
    // setns(2) into the user namespace first: the others are then joined with its privileges.
    if (flag == CLONE_NEWUSER) joins.insert(joins.begin(), std::move(join));
    else joins.push_back(std::move(join));
  }
  plan.joins = std::move(joins);

  bool user_ns = seen.count("user") > 0;
  if (!user_ns && (!linux_config.uid_mappings.empty() || !linux_config.gid_mappings.empty()))
    return absl::InvalidArgumentError("uidMappings/gidMappings are set but there is no user namespace");
  if (plan.new_user) {
    if (linux_config.uid_mappings.empty() || linux_config.gid_mappings.empty())
      return absl::InvalidArgumentError("a new user namespace needs uidMappings and gidMappings");
    LIMAN_RETURN_IF_ERROR(CheckIdMappings(linux_config.uid_mappings, "uidMappings"));
    LIMAN_RETURN_IF_ERROR(CheckIdMappings(linux_config.gid_mappings, "gidMappings"));
    plan.uid_map = IdMapText(linux_config.uid_mappings);
    plan.gid_map = IdMapText(linux_config.gid_mappings);
    if (spec.process) {
      if (!IdMapped(linux_config.uid_mappings, spec.process->user.uid))
        return absl::InvalidArgumentError(fmt::format("process.user.uid {} is not mapped in the user namespace", spec.process->user.uid));
      if (!IdMapped(linux_config.gid_mappings, spec.process->user.gid))
        return absl::InvalidArgumentError(fmt::format("process.user.gid {} is not mapped in the user namespace", spec.process->user.gid));
    }
  }
  if (!linux_config.time_offsets.empty()) {
    if (!(plan.unshare_flags & CLONE_NEWTIME))
      return absl::InvalidArgumentError("timeOffsets are set but no new time namespace is requested");
    for (const auto& [clock, offset] : linux_config.time_offsets) {
      if (clock != "monotonic" && clock != "boottime")
        return absl::InvalidArgumentError(fmt::format("timeOffsets: unknown clock {}", Quote(clock)));
      plan.timens_offsets += fmt::format("{} {} {}\n", clock, offset.secs, offset.nanosecs);
    }
  }
  return plan;
}

absl::StatusOr<std::vector<DevicePlan>> PlanDevices(const oci::Spec& spec, bool defaults) {
  std::vector<DevicePlan> devices;
  auto add = [&](const std::string& path, mode_t type, unsigned major, unsigned minor, mode_t perm, uid_t uid, gid_t gid) {
    for (DevicePlan& existing : devices) {
      if (existing.path == path) {  // the spec overrides a default of the same path
        existing = {path, static_cast<mode_t>(type | perm), makedev(major, minor), uid, gid};
        return;
      }
    }
    devices.push_back({path, static_cast<mode_t>(type | perm), makedev(major, minor), uid, gid});
  };
  if (defaults) {
    // The runtime spec's default devices (config-linux.md, "Default Devices").
    add("/dev/null", S_IFCHR, 1, 3, 0666, 0, 0);
    add("/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0);
    add("/dev/full", S_IFCHR, 1, 7, 0666, 0, 0);
    add("/dev/random", S_IFCHR, 1, 8, 0666, 0, 0);
    add("/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0);
    add("/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0);
  }
  if (!spec.linux) return devices;
  for (const oci::Device& device : spec.linux->devices) {
    std::string path = CleanAbsolutePath(device.path);
    if (!device.path.starts_with('/') || path == "/" )
      return absl::InvalidArgumentError(fmt::format("linux.devices: invalid path {}", Quote(device.path)));
    mode_t type;
    if (device.type == "c" || device.type == "u") type = S_IFCHR;
    else if (device.type == "b") type = S_IFBLK;
    else if (device.type == "p") type = S_IFIFO;
    else return absl::InvalidArgumentError(fmt::format("linux.devices {}: invalid type {}", Quote(device.path), Quote(device.type)));
    if (device.major < 0 || device.minor < 0 || device.major > 0xfff || device.minor > 0xfffff)
      return absl::InvalidArgumentError(fmt::format("linux.devices {}: invalid major/minor {}:{}", Quote(device.path), device.major, device.minor));
    add(path, type, static_cast<unsigned>(device.major), static_cast<unsigned>(device.minor),
        device.file_mode ? (*device.file_mode & 07777) : 0666, device.uid.value_or(0), device.gid.value_or(0));
  }
  return devices;
}

absl::StatusOr<RootfsPlan> PlanRootfs(const oci::Spec& spec, const PlanOptions& options, const NamespacePlan& ns) {
  RootfsPlan plan;
  if (!spec.root || spec.root->path.empty()) return absl::InvalidArgumentError("root.path is not set");
  plan.rootfs = AbsoluteFromBundle(options.bundle, spec.root->path);
  struct stat st;
  if (stat(plan.rootfs.c_str(), &st) != 0) return ErrnoError(fmt::format("stat rootfs {}", Quote(plan.rootfs)));
  if (!S_ISDIR(st.st_mode)) return ErrnoError(ENOTDIR, fmt::format("rootfs {}", Quote(plan.rootfs)));
  char resolved[PATH_MAX];
  if (realpath(plan.rootfs.c_str(), resolved) == nullptr)
    return ErrnoError(fmt::format("resolve rootfs {}", Quote(plan.rootfs)));
  plan.rootfs = resolved;
  plan.readonly = spec.root->readonly;
  plan.no_pivot = options.no_pivot;
  plan.cgroup_hierarchies = options.cgroup_hierarchies;
  plan.bind_devices = ns.new_user || ns.has_flag(CLONE_NEWUSER);
  for (const NamespaceJoin& join : ns.joins)
    if (join.clone_flag == CLONE_NEWUSER) plan.bind_devices = true;
  plan.cgroup_namespace = (ns.unshare_flags & CLONE_NEWCGROUP) != 0;

  if (spec.linux) {
    LIMAN_ASSIGN_OR_RETURN(plan.root_propagation, ParsePropagation(spec.linux->rootfs_propagation));
    if (spec.linux->masked_paths) plan.masked_paths = *spec.linux->masked_paths;
    if (spec.linux->readonly_paths) plan.readonly_paths = *spec.linux->readonly_paths;
  }
  for (const std::string& path : plan.masked_paths)
    if (!path.starts_with('/')) return absl::InvalidArgumentError(fmt::format("maskedPaths: {} is not absolute", Quote(path)));
  for (const std::string& path : plan.readonly_paths)
    if (!path.starts_with('/')) return absl::InvalidArgumentError(fmt::format("readonlyPaths: {} is not absolute", Quote(path)));

  for (const oci::Mount& mount : spec.mounts) {
    if (!mount.destination.starts_with('/'))
      return absl::InvalidArgumentError(fmt::format("mount destination {} is not absolute", Quote(mount.destination)));
    MountStep step;
    step.destination = CleanAbsolutePath(mount.destination);
    step.type = mount.type;
    step.source = mount.source;
    auto parsed = ParseMountOptions(mount.options);
    if (!parsed.ok()) return Annotate(parsed.status(), fmt::format("mount {}", Quote(mount.destination)));
    step.options = std::move(*parsed);
    if (step.options.idmap || !mount.uid_mappings.empty() || !mount.gid_mappings.empty())
      return absl::UnimplementedError(fmt::format("mount {}: idmapped mounts are not supported by liman-runtime", Quote(mount.destination)));
    if (mount.type == "bind") step.options.flags |= MS_BIND;
    if (step.options.bind()) {
      step.source = AbsoluteFromBundle(options.bundle, mount.source);
      struct stat source_stat;
      if (stat(step.source.c_str(), &source_stat) != 0)
        return ErrnoError(fmt::format("mount {}: stat source {}", Quote(mount.destination), Quote(step.source)));
      step.source_is_dir = S_ISDIR(source_stat.st_mode);
    } else if (mount.type == "cgroup" || mount.type == "cgroup2") {
      step.cgroup = true;
    } else if (mount.type.empty()) {
      return absl::InvalidArgumentError(fmt::format("mount {}: no type and not a bind mount", Quote(mount.destination)));
    }
    if (step.destination == "/dev" && !step.options.bind()) plan.make_default_devices = true;
    plan.mounts.push_back(std::move(step));
  }
  LIMAN_ASSIGN_OR_RETURN(plan.devices, PlanDevices(spec, plan.make_default_devices));
  return plan;
}

struct RlimitName {
  std::string_view name;
  int resource;
};

constexpr RlimitName kRlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

// Which namespace a sysctl belongs to; runc refuses those the container does not own.
absl::Status CheckSysctl(const std::string& key, const NamespacePlan& ns, const oci::Linux& linux_config) {
  auto owns = [&](const char* type) {
    const oci::Namespace* entry = oci::FindNamespace(linux_config, type);
    return entry != nullptr;
  };
  static constexpr std::string_view kIpcSysctls[] = {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni",
                                                     "kernel.sem", "kernel.shmall", "kernel.shmmax",
                                                     "kernel.shmmni", "kernel.shm_rmid_forced"};
  for (std::string_view ipc : kIpcSysctls)
    if (key == ipc) return owns("ipc") ? absl::OkStatus() : absl::InvalidArgumentError(fmt::format("sysctl {} needs an IPC namespace", Quote(key)));
  if (key.starts_with("fs.mqueue."))
    return owns("ipc") ? absl::OkStatus() : absl::InvalidArgumentError(fmt::format("sysctl {} needs an IPC namespace", Quote(key)));
  if (key.starts_with("net."))
    return owns("network") ? absl::OkStatus() : absl::InvalidArgumentError(fmt::format("sysctl {} needs a network namespace", Quote(key)));
  if (key == "kernel.hostname" || key == "kernel.domainname")
    return owns("uts") ? absl::OkStatus() : absl::InvalidArgumentError(fmt::format("sysctl {} needs a UTS namespace", Quote(key)));
  return absl::InvalidArgumentError(fmt::format("sysctl {} is not namespaced and cannot be set in a container", Quote(key)));
}

}  // namespace

bool NamespacePlan::has_flag(int flag) const {
  if (flag == CLONE_NEWUSER && new_user) return true;
  if (unshare_flags & flag) return true;
  for (const NamespaceJoin& join : joins)
    if (join.clone_flag == flag) return true;
  return false;
}

int NamespaceCloneFlag(const std::string& spec_type) {
  for (const NamespaceType& type : kNamespaceTypes)
    if (spec_type == type.spec_name) return type.clone_flag;
  return 0;
}

const char* NamespaceProcName(const std::string& spec_type) {
  for (const NamespaceType& type : kNamespaceTypes)
    if (spec_type == type.spec_name) return type.proc_name;
  return nullptr;
}

absl::StatusOr<ProcessPlan> PlanProcess(const oci::Process& process, const oci::Spec& spec, const PlanOptions& options) {
  ProcessPlan plan;
  if (process.args.empty()) return absl::InvalidArgumentError("process.args must not be empty");
  if (!process.cwd.starts_with('/'))
    return absl::InvalidArgumentError(fmt::format("process.cwd {} is not an absolute path", Quote(process.cwd)));
  plan.args = process.args;
  plan.env = process.env;
  plan.cwd = process.cwd;
  plan.uid = process.user.uid;
  plan.gid = process.user.gid;
  plan.additional_gids.assign(process.user.additional_gids.begin(), process.user.additional_gids.end());
  if (process.user.umask) {
    plan.has_umask = true;
    plan.umask = *process.user.umask & 0777;
  }
  std::set<int> seen_rlimits;
  for (const oci::Rlimit& limit : process.rlimits) {
    int resource = -1;
    for (const RlimitName& known : kRlimits)
      if (limit.type == known.name) resource = known.resource;
    if (resource < 0) return absl::InvalidArgumentError(fmt::format("unknown rlimit type {}", Quote(limit.type)));
    if (!seen_rlimits.insert(resource).second)
      return absl::InvalidArgumentError(fmt::format("rlimit {} set twice", Quote(limit.type)));
    if (limit.soft > limit.hard)
      return absl::InvalidArgumentError(fmt::format("rlimit {}: soft limit {} exceeds hard limit {}", limit.type, limit.soft, limit.hard));
    plan.rlimits.push_back({resource, {limit.soft, limit.hard}});
  }
  plan.no_new_privileges = process.no_new_privileges;
  if (process.oom_score_adj) {
    if (*process.oom_score_adj < -1000 || *process.oom_score_adj > 1000)
      return absl::InvalidArgumentError(fmt::format("oomScoreAdj {} is outside [-1000, 1000]", *process.oom_score_adj));
    plan.has_oom_score_adj = true;
    plan.oom_score_adj = *process.oom_score_adj;
  }
  LIMAN_ASSIGN_OR_RETURN(plan.capabilities, PlanCapabilities(process.capabilities));
  if (spec.linux && spec.linux->seccomp) {
    auto program = SeccompCache(options.seccomp_cache_dir).Compile(*spec.linux->seccomp);
    if (!program.ok()) return Annotate(program.status(), "seccomp");
    plan.has_seccomp = true;
    plan.seccomp = std::move(*program);
    plan.seccomp_listener_path = spec.linux->seccomp->listener_path;
  }
  if (!process.apparmor_profile.empty()) {
    if (!PathExists("/sys/kernel/security/apparmor"))
      return absl::UnimplementedError(fmt::format("apparmor profile {} requested but AppArmor is not enabled on this host", Quote(process.apparmor_profile)));
    plan.apparmor_profile = process.apparmor_profile;
  }
  if (!process.selinux_label.empty()) {
    if (!PathExists("/sys/fs/selinux/enforce"))
      return absl::UnimplementedError(fmt::format("SELinux label {} requested but SELinux is not enabled on this host", Quote(process.selinux_label)));
    plan.selinux_label = process.selinux_label;
  }
  plan.terminal = process.terminal;
  if (process.console_size) {
    plan.console_height = process.console_size->height;
    plan.console_width = process.console_size->width;
  }
  if (!options.console_socket.empty()) {
    if (!process.terminal)
      return absl::InvalidArgumentError("--console-socket given but process.terminal is false");
    LIMAN_ASSIGN_OR_RETURN(UniqueFd socket, ConnectUnix(options.console_socket));
    plan.console_socket_fd = socket.release();
  } else if (process.terminal) {
    return absl::InvalidArgumentError("process.terminal is true but no --console-socket was given");
  }
  plan.preserve_fds = options.preserve_fds;
  if (spec.linux && spec.linux->personality) {
    const std::string& domain = spec.linux->personality->domain;
    if (domain == "LINUX") plan.personality = PER_LINUX;
    else if (domain == "LINUX32") plan.personality = PER_LINUX32;
    else return absl::InvalidArgumentError(fmt::format("personality: unknown domain {}", Quote(domain)));
    plan.has_personality = true;
  }
  if (process.io_priority) {
    // ioprio_set(2): IOPRIO_PRIO_VALUE(class, data) = class << 13 | data.
    int io_class;
    if (process.io_priority->io_class == "IOPRIO_CLASS_RT") io_class = 1;
    else if (process.io_priority->io_class == "IOPRIO_CLASS_BE") io_class = 2;
    else if (process.io_priority->io_class == "IOPRIO_CLASS_IDLE") io_class = 3;
    else return absl::InvalidArgumentError(fmt::format("ioPriority: unknown class {}", Quote(process.io_priority->io_class)));
    if (process.io_priority->priority < 0 || process.io_priority->priority > 7)
      return absl::InvalidArgumentError(fmt::format("ioPriority: priority {} is outside [0, 7]", process.io_priority->priority));
    plan.has_io_priority = true;
    plan.io_priority = io_class << 13 | process.io_priority->priority;
  }
  if (process.scheduler) {
    plan.has_scheduler = true;
    plan.scheduler = *process.scheduler;
  }
  return plan;
}

oci::Resources EffectiveResources(const oci::Spec& spec) {
  oci::Resources resources = spec.linux && spec.linux->resources ? *spec.linux->resources : oci::Resources{};
  for (oci::DeviceCgroupRule& rule : cgroups::RuncDefaultDeviceRules()) resources.devices.push_back(std::move(rule));
  if (spec.linux) {
    for (const oci::Device& device : spec.linux->devices) {
      if (device.type == "p") continue;  // FIFOs are not subject to the devices cgroup
      resources.devices.push_back({true, device.type == "b" ? "b" : "c", device.major, device.minor, "rwm"});
    }
  }
  return resources;
}

absl::StatusOr<ContainerPlan> PlanContainer(const oci::Spec& spec, const PlanOptions& options) {
  ContainerPlan plan;
  plan.id = options.id;
  plan.bundle = options.bundle;
  if (!spec.process) return absl::InvalidArgumentError("config.json has no process");
  if (!spec.linux) return absl::InvalidArgumentError("config.json has no linux section");
  if (!spec.linux->intel_rdt.is_null())
    return absl::UnimplementedError("linux.intelRdt is not supported by liman-runtime");
  LIMAN_ASSIGN_OR_RETURN(plan.namespaces, PlanNamespaces(spec));
  LIMAN_ASSIGN_OR_RETURN(plan.rootfs, PlanRootfs(spec, options, plan.namespaces));
  plan.join_cgroup_first = plan.namespaces.has_flag(CLONE_NEWCGROUP);
  if (!plan.namespaces.has_flag(CLONE_NEWNS)) {
    // Sharing the host's mount namespace: any mount would be the host's. As runc, the rootfs
    // is only entered (chroot here) and the mounts, devices and path masks are not applied.
    plan.rootfs.mount_namespace = false;
    if (!plan.rootfs.mounts.empty() || !plan.rootfs.masked_paths.empty() || !plan.rootfs.readonly_paths.empty())
      LogWarn("no mount namespace: mounts, maskedPaths and readonlyPaths are not applied");
  }
  LIMAN_ASSIGN_OR_RETURN(plan.process, PlanProcess(*spec.process, spec, options));
  if (!spec.hostname.empty()) {
    if (!plan.namespaces.has_flag(CLONE_NEWUTS))
      return absl::InvalidArgumentError("hostname is set but the container has no new UTS namespace");
    plan.hostname = spec.hostname;
    plan.set_hostname = true;
  }
  if (!spec.domainname.empty()) {
    if (!plan.namespaces.has_flag(CLONE_NEWUTS))
      return absl::InvalidArgumentError("domainname is set but the container has no new UTS namespace");
    plan.domainname = spec.domainname;
    plan.set_domainname = true;
  }
  for (const auto& [key, value] : spec.linux->sysctl) {
    LIMAN_RETURN_IF_ERROR(CheckSysctl(key, plan.namespaces, *spec.linux));
    std::string path = key;
    std::replace(path.begin(), path.end(), '.', '/');
    if (path.find("..") != std::string::npos)
      return absl::InvalidArgumentError(fmt::format("invalid sysctl name {}", Quote(key)));
    plan.sysctl.emplace_back(path, value);
  }
  if (!options.no_new_keyring) plan.keyring_name = "_ses." + options.id;
  if (spec.hooks) {
    plan.create_container_hooks = spec.hooks->create_container;
    plan.start_container_hooks = spec.hooks->start_container;
  }
  return plan;
}

}  // namespace liman::runtime
