#include "engine/network/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman::engine::network {

namespace {
// Runs `fn` on a fresh thread and returns its status: the namespace changes die with it.
absl::Status OnOwnThread(const std::function<absl::Status()>& fn) {
  absl::Status result;
  std::thread thread([&] { result = fn(); });
  thread.join();
  return result;
}
}  // namespace

absl::Status CreateNetns(const std::string& path) {
  UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!file.valid()) return ErrnoError(fmt::format("create {}", Quote(path)));
  absl::Status made = OnOwnThread([&]() -> absl::Status {
    // unshare(2): CLONE_NEWNET moves only this thread into a new namespace.
    if (::unshare(CLONE_NEWNET) != 0) return ErrnoError("unshare(CLONE_NEWNET)");
    std::string self = fmt::format("/proc/self/task/{}/ns/net", ::syscall(SYS_gettid));
    if (::mount(self.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0)
      return ErrnoError(fmt::format("bind {} to {}", self, Quote(path)));
    return absl::OkStatus();
  });
  if (!made.ok()) ::unlink(path.c_str());
  return made;
}

absl::Status RemoveNetns(const std::string& path) {
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return ErrnoError(fmt::format("unmount {}", Quote(path)));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(fmt::format("remove {}", Quote(path)));
  return absl::OkStatus();
}

absl::Status RunInNetns(const std::string& path, const std::function<absl::Status()>& fn) {
  UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) return ErrnoError(fmt::format("open {}", Quote(path)));
  return OnOwnThread([&]() -> absl::Status {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) return ErrnoError(fmt::format("setns {}", Quote(path)));
    return fn();
  });
}

}  // namespace liman::engine::network
