#include "common/memory_cgroup.h"

#include <optional>

#include "common/file_util.h"
#include "common/status.h"
#include "common/text_split.h"
#include "fmt/format.h"

namespace liman {
namespace {

struct CgroupMount {
  std::string root;         // the cgroup path mounted there (field 4 of mountinfo)
  std::string mount_point;  // field 5
};

// mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)).
std::string Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = text[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(value));
        i += 3;
        continue;
      }
    }
    out.push_back(text[i]);
  }
  return out;
}

// The v1 hierarchy with the memory controller and the v2 hierarchy, if mounted.
struct CgroupMounts {
  std::optional<CgroupMount> memory_v1;
  std::optional<CgroupMount> unified;
};

absl::StatusOr<CgroupMounts> ReadCgroupMounts(const std::string& proc_root) {
  std::string path = JoinPath(proc_root, "self/mountinfo");
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  CgroupMounts mounts;
  for (std::string_view line : SplitLines(text)) {
    // id parent major:minor root mount-point options [optional...] - fstype source super-options
    std::vector<std::string_view> fields = SplitView(line, ' ');
    size_t dash = 0;
    while (dash < fields.size() && fields[dash] != "-") ++dash;
    if (dash < 5 || dash + 3 >= fields.size()) continue;
    std::string_view fs_type = fields[dash + 1];
    CgroupMount mount{Unescape(fields[3]), Unescape(fields[4])};
    if (fs_type == "cgroup2") {
      if (!mounts.unified) mounts.unified = mount;
    } else if (fs_type == "cgroup") {
      for (std::string_view option : SplitView(fields[dash + 3], ',')) {
        if (option == "memory" && !mounts.memory_v1) mounts.memory_v1 = mount;
      }
    }
  }
  return mounts;
}

// The directory of cgroup `cgroup_path` (as /proc/<pid>/cgroup shows it) under `mount`.
std::optional<std::string> DirUnder(const CgroupMount& mount, std::string_view cgroup_path) {
  std::string_view root = mount.root;
  if (root != "/") {
    if (!cgroup_path.starts_with(root) ||
        (cgroup_path.size() > root.size() && cgroup_path[root.size()] != '/'))
      return std::nullopt;  // outside what this mount shows
    cgroup_path.remove_prefix(root.size());
  }
  return cgroup_path.empty() ? mount.mount_point : JoinPath(mount.mount_point, cgroup_path);
}

}  // namespace

absl::StatusOr<MemoryCgroup> FindMemoryCgroup(pid_t pid, const std::string& proc_root) {
  LIMAN_ASSIGN_OR_RETURN(CgroupMounts mounts, ReadCgroupMounts(proc_root));
  std::string path = JoinPath(proc_root, fmt::format("{}/cgroup", pid));
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::optional<std::string> unified_path;
  for (std::string_view line : SplitLines(text)) {
    // hierarchy-id:controller-list:cgroup-path (cgroups(7)); the path may itself contain ':'.
    std::vector<std::string_view> parts = SplitView(line, ':', 3);
    if (parts.size() != 3) continue;
    if (parts[0] == "0" && parts[1].empty()) {
      unified_path = std::string(parts[2]);
      continue;
    }
    if (!mounts.memory_v1) continue;
    for (std::string_view controller : SplitView(parts[1], ',')) {
      if (controller != "memory") continue;
      if (std::optional<std::string> dir = DirUnder(*mounts.memory_v1, parts[2])) return MemoryCgroup{1, *dir};
    }
  }
  if (unified_path && mounts.unified) {
    std::optional<std::string> dir = DirUnder(*mounts.unified, *unified_path);
    if (dir && PathExists(JoinPath(*dir, "memory.events"))) return MemoryCgroup{2, *dir};
  }
  return absl::NotFoundError(fmt::format("pid {}: no memory cgroup (from {})", pid, Quote(path)));
}

}  // namespace liman
