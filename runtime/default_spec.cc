#include <unistd.h>

#include "runtime/default_spec.h"

namespace liman::runtime {

oci::Spec DefaultSpec(bool rootless) {
  oci::Spec spec;
  spec.oci_version = "1.0.2-dev";
  spec.root = oci::Root{"rootfs", true};
  spec.hostname = "runc";

  oci::Process process;
  process.terminal = true;
  process.args = {"sh"};
  process.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  process.cwd = "/";
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  process.capabilities = oci::Capabilities{caps, caps, std::nullopt, caps, caps};
  process.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  process.no_new_privileges = true;
  spec.process = process;

  spec.mounts = {
      {"/proc", "proc", "proc", {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
      {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
  };

  oci::Linux linux_config;
  linux_config.masked_paths = std::vector<std::string>{
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"};
  linux_config.readonly_paths = std::vector<std::string>{
      "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  linux_config.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};

  if (rootless) {
    // As `runc spec --rootless`: a user namespace mapping root to the caller, no network or
    // cgroup namespaces, sysfs bound from the host, no devpts gid, no resources.
    linux_config.namespaces = {{"pid", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}, {"user", ""}};
    linux_config.uid_mappings = {{0, static_cast<uint32_t>(geteuid()), 1}};
    linux_config.gid_mappings = {{0, static_cast<uint32_t>(getegid()), 1}};
    for (oci::Mount& mount : spec.mounts) {
      if (mount.destination == "/sys") {
        mount = {"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}};
      } else if (mount.destination == "/dev/pts") {
        mount.options = {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"};
      }
    }
    std::erase_if(spec.mounts, [](const oci::Mount& m) { return m.destination == "/sys/fs/cgroup"; });
  } else {
    oci::Resources resources;
    resources.devices = {{false, "", std::nullopt, std::nullopt, "rwm"}};
    linux_config.resources = resources;
  }
  spec.linux = linux_config;
  return spec;
}

}  // namespace liman::runtime
