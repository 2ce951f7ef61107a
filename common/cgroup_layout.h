// Where the cgroup hierarchies are: /proc/self/mountinfo parsing, layout detection (unified,
// hybrid, legacy), /proc/<pid>/cgroup parsing and the mapping of a cgroup path (a process's, or
// linux.cgroupsPath) onto a directory of each hierarchy. Used by the runtime's cgroup managers,
// the shim's OOM watch and limand's cgroup parent. Everything takes the mount and proc roots as
// arguments so tests can run against fixture directories.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::cgroups {

enum class Layout { kLegacy, kHybrid, kUnified };

struct MountInfoEntry {
  std::string root;        // the directory of the mounted filesystem that is the mount's root
  std::string mountpoint;  // octal escapes (\040) decoded
  std::string fs_type;
  std::string source;
  std::string super_options;
};

// Parses mountinfo (proc(5)); lines it cannot parse are an error naming the line.
absl::StatusOr<std::vector<MountInfoEntry>> ParseMountInfo(std::string_view text);

// A mounted cgroup hierarchy.
struct CgroupMount {
  std::string mountpoint;
  std::string root;  // mountinfo's root: the hierarchy path shown at `mountpoint`
  bool v2 = false;
  // v1 only: the controllers bound to it ("cpu", "cpuacct"), or "name=systemd" for named ones.
  std::vector<std::string> controllers;
};

// Every cgroup and cgroup2 mount in `entries`, wherever it is mounted, in mountinfo's order.
std::vector<CgroupMount> CgroupMountsIn(const std::vector<MountInfoEntry>& entries);

struct CgroupMounts {
  Layout layout = Layout::kLegacy;
  std::vector<CgroupMount> v1;    // kLegacy and kHybrid
  std::optional<CgroupMount> v2;  // kUnified (at mount_root) and kHybrid (at mount_root/unified)
};

// Finds the hierarchies mounted at mount_root (cgroup2 itself) or directly below it, using
// <proc_root>/self/mountinfo. NotFound when there is none.
absl::StatusOr<CgroupMounts> FindCgroupMounts(const std::string& mount_root, const std::string& proc_root);
absl::StatusOr<CgroupMounts> FindCgroupMountsIn(std::string_view mountinfo, const std::string& mount_root);

// One line of /proc/<pid>/cgroup: "4:memory:/a/b", "0::/a" (v2: id 0, no controllers).
struct ProcCgroupEntry {
  int id = 0;
  std::vector<std::string> controllers;
  std::string path;
};
absl::StatusOr<std::vector<ProcCgroupEntry>> ParseProcCgroup(std::string_view text);

// Lexically cleans a cgroup path: collapses "//" and ".", resolves "..", and refuses a ".." that
// would climb above the path's start (it would escape the hierarchy or the caller's cgroup).
// Keeps a leading '/' when there is one. An empty result (the root itself) is refused too.
absl::StatusOr<std::string> CleanCgroupPath(std::string_view path);

// The directory of cgroup `cgroup` (a path as /proc/<pid>/cgroup prints it, relative to the
// hierarchy's root) in `mount`. FailedPrecondition when the mount does not show that cgroup (it
// shows a sub-tree elsewhere, as inside a cgroup namespace).
absl::StatusOr<std::string> CgroupDir(const CgroupMount& mount, const std::string& cgroup);

// The container's directory in `mount` for linux.cgroupsPath `inner` (already cleaned): absolute
// paths hang from the mount point, relative ones from the cgroup `own` (the caller's cgroup in
// that hierarchy, as /proc/<pid>/cgroup prints it).
absl::StatusOr<std::string> ContainerDir(const CgroupMount& mount, const std::string& inner, const std::string& own);

// The caller's cgroup in `mount`, from parsed /proc/<pid>/cgroup lines.
absl::StatusOr<std::string> OwnCgroup(const CgroupMount& mount, const std::vector<ProcCgroupEntry>& entries);

}  // namespace liman::cgroups
