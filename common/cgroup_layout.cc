#include "common/cgroup_layout.h"

#include <algorithm>
#include <charconv>

#include "common/file_util.h"
#include "common/status.h"
#include "common/text_split.h"
#include "fmt/format.h"

namespace liman::cgroups {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo (fs/proc_namespace.c, mangle()).
std::string Unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '7' && text[i + 2] >= '0' &&
        text[i + 2] <= '7' && text[i + 3] >= '0' && text[i + 3] <= '7') {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::string StripTrailingSlashes(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Mount options of cgroup v1 that are not controllers (kernel/cgroup/cgroup-v1.c, parse).
bool IsV1NonControllerOption(std::string_view option) {
  static constexpr std::string_view kOptions[] = {
      "rw",  "ro",  "noprefix", "clone_children", "xattr", "cpuset_v2_mode", "favordynmods", "nofavordynmods",
      "all", "none"};
  if (option.substr(0, 14) == "release_agent=") return true;
  return std::find(std::begin(kOptions), std::end(kOptions), option) != std::end(kOptions);
}

}  // namespace

absl::StatusOr<std::vector<MountInfoEntry>> ParseMountInfo(std::string_view text) {
  std::vector<MountInfoEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = SplitFields(line);
    // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
    auto dash = std::find(fields.begin(), fields.end(), std::string_view("-"));
    if (fields.size() < 10 || dash == fields.end() || dash - fields.begin() < 6 || fields.end() - dash < 4)
      return absl::InvalidArgumentError(fmt::format("parse mountinfo: malformed line {}", Quote(line)));
    MountInfoEntry entry;
    entry.root = Unescape(fields[3]);
    entry.mountpoint = Unescape(fields[4]);
    entry.fs_type = std::string(dash[1]);
    entry.source = Unescape(dash[2]);
    entry.super_options = std::string(dash[3]);
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<CgroupMount> CgroupMountsIn(const std::vector<MountInfoEntry>& entries) {
  std::vector<CgroupMount> mounts;
  for (const MountInfoEntry& entry : entries) {
    if (entry.fs_type != "cgroup" && entry.fs_type != "cgroup2") continue;
    CgroupMount mount{StripTrailingSlashes(entry.mountpoint), entry.root, entry.fs_type == "cgroup2", {}};
    if (!mount.v2) {
      for (std::string_view option : SplitView(entry.super_options, ','))
        if (!option.empty() && !IsV1NonControllerOption(option)) mount.controllers.emplace_back(option);
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

absl::StatusOr<CgroupMounts> FindCgroupMountsIn(std::string_view mountinfo, const std::string& mount_root_in) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<MountInfoEntry> entries, ParseMountInfo(mountinfo));
  const std::string mount_root = StripTrailingSlashes(mount_root_in);
  std::optional<CgroupMount> at_root, unified;
  std::vector<CgroupMount> v1;
  for (CgroupMount& mount : CgroupMountsIn(entries)) {
    if (mount.v2) {
      // A later mount on the same point hides the earlier one, so the last entry wins.
      if (mount.mountpoint == mount_root)
        at_root = std::move(mount);
      else if (mount.mountpoint == JoinPath(mount_root, "unified"))
        unified = std::move(mount);
      continue;
    }
    if (Dirname(mount.mountpoint) != mount_root) continue;
    std::erase_if(v1, [&](const CgroupMount& m) { return m.mountpoint == mount.mountpoint; });
    v1.push_back(std::move(mount));
  }
  CgroupMounts mounts;
  if (at_root) {
    mounts.layout = Layout::kUnified;
    mounts.v2 = std::move(at_root);
    return mounts;
  }
  if (v1.empty())
    return absl::NotFoundError(fmt::format("no cgroup hierarchy is mounted at or below {}", Quote(mount_root)));
  mounts.v1 = std::move(v1);
  if (unified) {
    mounts.layout = Layout::kHybrid;
    mounts.v2 = std::move(unified);
  } else {
    mounts.layout = Layout::kLegacy;
  }
  return mounts;
}

absl::StatusOr<CgroupMounts> FindCgroupMounts(const std::string& mount_root, const std::string& proc_root) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(JoinPath(proc_root, "self/mountinfo")));
  return FindCgroupMountsIn(text, mount_root);
}

absl::StatusOr<std::vector<ProcCgroupEntry>> ParseProcCgroup(std::string_view text) {
  std::vector<ProcCgroupEntry> entries;
  for (std::string_view line : SplitLines(text)) {
    // hierarchy-ID:controller-list:cgroup-path (cgroups(7)); the path may itself contain ':'.
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos)
      return absl::InvalidArgumentError(fmt::format("parse cgroup file: malformed line {}", Quote(line)));
    ProcCgroupEntry entry;
    std::string_view id = line.substr(0, first);
    auto [end, error] = std::from_chars(id.data(), id.data() + id.size(), entry.id);
    if (error != std::errc() || end != id.data() + id.size() || entry.id < 0)
      return absl::InvalidArgumentError(fmt::format("parse cgroup file: invalid hierarchy id in {}", Quote(line)));
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    if (!controllers.empty())
      for (std::string_view controller : SplitView(controllers, ',')) entry.controllers.emplace_back(controller);
    entry.path = std::string(line.substr(second + 1));
    entries.push_back(std::move(entry));
  }
  return entries;
}

absl::StatusOr<std::string> CleanCgroupPath(std::string_view path) {
  bool absolute = !path.empty() && path.front() == '/';
  std::vector<std::string> parts;
  for (std::string_view part : SplitView(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty())
        return absl::InvalidArgumentError(
            fmt::format("cgroupsPath {}: \"..\" would leave the cgroup hierarchy", Quote(path)));
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  if (parts.empty())
    return absl::InvalidArgumentError(
        fmt::format("cgroupsPath {}: resolves to the parent cgroup itself, not a cgroup of its own", Quote(path)));
  std::string cleaned = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) cleaned += '/';
    cleaned += parts[i];
  }
  return cleaned;
}

absl::StatusOr<std::string> OwnCgroup(const CgroupMount& mount, const std::vector<ProcCgroupEntry>& entries) {
  for (const ProcCgroupEntry& entry : entries) {
    if (mount.v2) {
      if (entry.id == 0 && entry.controllers.empty()) return entry.path;
      continue;
    }
    for (const std::string& controller : entry.controllers)
      if (std::find(mount.controllers.begin(), mount.controllers.end(), controller) != mount.controllers.end())
        return entry.path;
  }
  return absl::NotFoundError(fmt::format("no {} entry in the process's cgroup file for the hierarchy at {}",
                                         mount.v2 ? "cgroup2" : "cgroup v1", Quote(mount.mountpoint)));
}

absl::StatusOr<std::string> CgroupDir(const CgroupMount& mount, const std::string& cgroup) {
  // /proc/<pid>/cgroup paths are relative to the hierarchy's root; the mount shows `mount.root`
  // of it (not "/" when a sub-tree was bind-mounted), so strip that prefix first.
  std::string relative = cgroup;
  if (mount.root != "/") {
    if (cgroup != mount.root && cgroup.rfind(mount.root + "/", 0) != 0)
      return absl::FailedPreconditionError(fmt::format("cgroup {} is not visible under {} (mounted from {})",
                                                       Quote(cgroup), Quote(mount.mountpoint), Quote(mount.root)));
    relative = cgroup.substr(mount.root.size());
  }
  return JoinPath(mount.mountpoint, relative);
}

absl::StatusOr<std::string> ContainerDir(const CgroupMount& mount, const std::string& inner, const std::string& own) {
  if (!inner.empty() && inner.front() == '/') return JoinPath(mount.mountpoint, inner);
  LIMAN_ASSIGN_OR_RETURN(std::string own_dir, CgroupDir(mount, own));
  return JoinPath(own_dir, inner);
}

}  // namespace liman::cgroups
