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
#include "common/status.h"

namespace liman {
namespace {

std::atomic<bool> warming{false};

void* Warm(void*) {
  // The cgroup the process is in now (any hierarchy will do: the rwsem is one for all), looked
  // up each time: one found at start-up would move the daemon back if it was moved since. The
  // hierarchies' mounts are found once: mountinfo grows with every container (reading it was 4%
  // of limand's CPU in 50 starts). Only one warm-up runs at a time (`warming`), so the cache
  // needs no lock of its own.
  static absl::StatusOr<MemoryCgroupMounts> mounts = FindMemoryCgroupMounts();
  absl::StatusOr<MemoryCgroup> own =
      mounts.ok() ? FindMemoryCgroupIn(*mounts, getpid()) : absl::StatusOr<MemoryCgroup>(mounts.status());
  if (own.ok()) {
    std::string procs_file = JoinPath(own->path, "cgroup.procs");
    int fd = open(procs_file.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      // "0" is the writer itself; cgroup.procs moves its whole thread group (cgroups(7)).
      if (write(fd, "0", 1) != 1) LogDebug("cgroup migration warm-up: write {}: {}", Quote(procs_file), strerror(errno));
      close(fd);
    } else {
      LogDebug("cgroup migration warm-up: open {}: {}", Quote(procs_file), strerror(errno));
    }
  } else {
    LogDebug("no cgroup migration warm-up: {}", own.status().message());
  }
  warming.store(false, std::memory_order_release);
  return nullptr;
}

}  // namespace

void WarmCgroupMigrationLock() {
  if (warming.exchange(true, std::memory_order_acq_rel)) return;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int error = pthread_create(&thread, &attributes, &Warm, nullptr);
  pthread_attr_destroy(&attributes);
  if (error != 0) {
    warming.store(false, std::memory_order_release);
    LogDebug("no cgroup migration warm-up: pthread_create: {}", strerror(error));
  }
}

void WaitForCgroupMigrationWarmup() {
  while (warming.load(std::memory_order_acquire)) usleep(1000);
}

}  // namespace liman
