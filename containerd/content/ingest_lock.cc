#include "containerd/content/ingest_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <mutex>
#include <set>
#include <utility>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::content {
namespace {

std::mutex& HeldMutex() {
  static std::mutex mutex;
  return mutex;
}

// Ingest directories locked by writers of this process (keyed by path: the store root is
// canonical, so two LocalStore objects over one root share the keys).
std::set<std::string>& Held() {
  static std::set<std::string> held;
  return held;
}

absl::Status Locked(std::string_view ref) {
  return absl::UnavailableError(fmt::format("ref {} locked", ref));
}

absl::Status NoIngest(std::string_view ref) {
  return absl::NotFoundError(fmt::format("ingest ref {}: not found", Quote(ref)));
}

}  // namespace

absl::StatusOr<IngestLock> IngestLock::Acquire(const std::string& dir, std::string_view ref, bool create) {
  {
    std::lock_guard<std::mutex> guard(HeldMutex());
    if (!Held().insert(dir).second) return Locked(ref);
  }
  auto forget = [&] {
    std::lock_guard<std::mutex> guard(HeldMutex());
    Held().erase(dir);
  };
  // Another process may commit or abort (remove) the directory between our open and our
  // flock; we would then hold a lock on a dead inode. Check that the path still names the
  // locked directory and start over if not (each retry means another process removed it).
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (create && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      int err = errno;
      forget();
      return ErrnoError(err, fmt::format("mkdir {}", Quote(dir)));
    }
    UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      int err = errno;
      if (err == ENOENT && create) continue;
      forget();
      if (err == ENOENT) return NoIngest(ref);
      return ErrnoError(err, fmt::format("open {}", Quote(dir)));
    }
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      forget();
      if (err == EWOULDBLOCK) return absl::UnavailableError(fmt::format("ref {} locked by another process", ref));
      return ErrnoError(err, fmt::format("flock {}", Quote(dir)));
    }
    struct stat locked, current;
    if (fstat(fd.get(), &locked) == 0 && stat(dir.c_str(), &current) == 0 && locked.st_dev == current.st_dev &&
        locked.st_ino == current.st_ino)
      return IngestLock(dir, std::move(fd));
    if (!create) break;
  }
  forget();
  if (!create) return NoIngest(ref);
  return absl::UnavailableError(fmt::format("ref {} locked: ingest directory keeps being removed", ref));
}

IngestLock::IngestLock(IngestLock&& other) noexcept
    : dir_(std::exchange(other.dir_, std::string())), fd_(std::move(other.fd_)) {}

IngestLock& IngestLock::operator=(IngestLock&& other) noexcept {
  if (this != &other) {
    Release();
    dir_ = std::exchange(other.dir_, std::string());
    fd_ = std::move(other.fd_);
  }
  return *this;
}

void IngestLock::Release() {
  if (dir_.empty()) return;
  fd_.reset();  // closing the only descriptor drops the flock
  std::lock_guard<std::mutex> guard(HeldMutex());
  Held().erase(dir_);
  dir_.clear();
}

}  // namespace liman::containerd::content
