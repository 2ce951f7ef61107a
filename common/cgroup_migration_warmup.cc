#include "common/cgroup_migration_warmup.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/memory_cgroup.h"

namespace liman {
namespace {

std::atomic<bool> warming{false};

// cgroup.procs of this process's memory cgroup (any hierarchy will do: the rwsem is one for all);
// empty when there is none.
const std::string& OwnProcsFile() {
  static const std::string path = [] {
    absl::StatusOr<MemoryCgroup> own = FindMemoryCgroup(getpid());
    if (!own.ok()) {
      LogDebug("no cgroup migration warm-up: {}", own.status().message());
      return std::string();
    }
    return JoinPath(own->path, "cgroup.procs");
  }();
  return path;
}

// System calls only: no allocation, no lock, so a fork(2) of another thread meanwhile copies
// nothing half-done.
void* Warm(void* procs_file) {
  int fd = open(static_cast<const char*>(procs_file), O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    // "0" is the writer itself; cgroup.procs moves its whole thread group (cgroups(7)).
    (void)!write(fd, "0", 1);
    close(fd);
  }
  warming.store(false, std::memory_order_release);
  return nullptr;
}

}  // namespace

void WarmCgroupMigrationLock() {
  const std::string& procs_file = OwnProcsFile();
  if (procs_file.empty() || warming.exchange(true, std::memory_order_acq_rel)) return;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int error = pthread_create(&thread, &attributes, &Warm, const_cast<char*>(procs_file.c_str()));
  pthread_attr_destroy(&attributes);
  if (error != 0) {
    warming.store(false, std::memory_order_release);
    LogDebug("no cgroup migration warm-up: pthread_create: {}", strerror(error));
  }
}

}  // namespace liman
