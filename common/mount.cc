#include "common/mount.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <functional>
#include <string_view>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "common/mount_options.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman {
namespace {

// The directory every one of `paths` lies in ("/a/b/1/fs", "/a/b/2/fs" -> "/a/b/").
std::string CommonDirectory(const std::vector<std::string>& paths) {
  std::string prefix = paths.front();
  for (const std::string& path : paths) {
    size_t length = 0;
    while (length < prefix.size() && length < path.size() && prefix[length] == path[length]) ++length;
    prefix.resize(length);
  }
  return prefix.substr(0, prefix.rfind('/') + 1);
}

// overlay's lowerdir=/x/1:/x/2,upperdir=/x/3,workdir=/x/4 -> (/x/, lowerdir=1:2,upperdir=3,…).
// The kernel takes at most a page of mount data; a snapshot of 100+ layers exceeds it.
std::pair<std::string, std::string> RelativeOverlayData(const std::string& data) {
  std::vector<std::string> options = absl::StrSplit(data, ',');
  std::vector<std::string> paths;
  for (const std::string& option : options) {
    for (std::string_view key : {"lowerdir=", "upperdir=", "workdir="}) {
      if (option.starts_with(key)) {
        for (absl::string_view path : absl::StrSplit(option.substr(key.size()), ':'))
          paths.emplace_back(path);
      }
    }
  }
  if (paths.empty()) return {"", data};
  std::string base = CommonDirectory(paths);
  if (base.size() <= 1) return {"", data};
  for (std::string& option : options) {
    for (std::string_view key : {"lowerdir=", "upperdir=", "workdir="}) {
      if (!option.starts_with(key)) continue;
      std::vector<std::string> relative;
      for (absl::string_view path : absl::StrSplit(option.substr(key.size()), ':'))
        relative.emplace_back(path.substr(base.size()));
      option = fmt::format("{}{}", key, absl::StrJoin(relative, ":"));
    }
  }
  return {base, absl::StrJoin(options, ",")};
}

// Runs `call` (a syscall wrapper: -1 and errno on failure) with `dir` as the current directory,
// in a thread of its own that first unshares CLONE_FS (unshare(2)): the cwd then belongs to that
// thread alone, so the daemons' other threads never resolve a path against `dir`.
absl::Status RunInDirectory(const std::string& dir, const std::function<int()>& call) {
  absl::Status status;
  std::thread worker([&] {
    if (unshare(CLONE_FS) != 0) {
      status = ErrnoError("unshare(CLONE_FS)");
    } else if (chdir(dir.c_str()) != 0) {
      status = ErrnoError(fmt::format("chdir {}", Quote(dir)));
    } else if (call() != 0) {
      status = ErrnoError(fmt::format("relative to {}", Quote(dir)));
    }
  });
  worker.join();
  return status;
}

absl::Status MountOne(const MountDescriptor& mount, const std::string& target) {
  LIMAN_ASSIGN_OR_RETURN(MountOptions options, ParseMountOptions(mount.options));
  std::string data = options.data;
  std::string chdir_to;
  if (mount.type == "overlay" && data.size() >= static_cast<size_t>(getpagesize()))
    std::tie(chdir_to, data) = RelativeOverlayData(data);
  unsigned long flags = options.flags;
  std::string describe = fmt::format("mount {} {} on {}", mount.type, Quote(mount.source), Quote(target));
  if (chdir_to.empty()) {
    if (::mount(mount.source.c_str(), target.c_str(), mount.type.c_str(), flags, data.empty() ? nullptr : data.c_str()) != 0)
      return ErrnoError(describe);
  } else {
    // The target is named through a descriptor: a relative one would otherwise resolve against
    // the layers' directory.
    UniqueFd target_fd(open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!target_fd) return ErrnoError(fmt::format("open {}", Quote(target)));
    std::string target_path = fmt::format("/proc/self/fd/{}", target_fd.get());
    absl::Status mounted = RunInDirectory(chdir_to, [&] {
      return ::mount(mount.source.c_str(), target_path.c_str(), mount.type.c_str(), flags, data.c_str());
    });
    if (!mounted.ok()) return Annotate(mounted, describe);
  }
  // A bind mount ignores MS_RDONLY and friends until remounted (mount(2), "Creating a bind mount").
  if ((flags & MS_BIND) && (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC))) {
    if (::mount("", target.c_str(), "", flags | MS_REMOUNT, nullptr) != 0)
      return ErrnoError(fmt::format("remount {} read-only", Quote(target)));
  }
  for (unsigned long propagation : options.propagation) {
    if (::mount("", target.c_str(), "", propagation, nullptr) != 0)
      return ErrnoError(fmt::format("set propagation of {}", Quote(target)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MountAll(const std::vector<MountDescriptor>& mounts, const std::string& root) {
  std::vector<std::string> mounted;
  for (const MountDescriptor& mount : mounts) {
    std::string target = mount.target.empty() ? root : JoinPath(root, mount.target);
    if (absl::Status status = MountOne(mount, target); !status.ok()) {
      for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) (void)UnmountAll(*it);
      return status;
    }
    mounted.push_back(target);
  }
  return absl::OkStatus();
}

absl::Status UnmountAll(const std::string& target) {
  for (;;) {
    if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    // EINVAL: nothing (more) is mounted there; ENOENT: the directory is gone already.
    if (errno == EINVAL || errno == ENOENT) return absl::OkStatus();
    return ErrnoError(fmt::format("unmount {}", Quote(target)));
  }
}

}  // namespace liman
