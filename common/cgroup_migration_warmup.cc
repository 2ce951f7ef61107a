#include "common/cgroup_migration_warmup.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <string>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/memory_cgroup.h"
#include "common/status.h"

namespace liman {
namespace {

// A grace period here is 6-20 ms; a write every 3 ms keeps the lock out of its slow mode.
constexpr int64_t kIntervalMicros = 3000;
// How long after the last request the lock is kept warm: a create's start, an exec create's
// start follow within milliseconds; back-to-back `docker run`s keep it warm throughout.
constexpr int64_t kKeepWarmNanos = 100'000'000;

std::atomic<bool> keeping{false};
std::atomic<int64_t> last_request{0};  // CLOCK_MONOTONIC nanoseconds of the latest request

int64_t NowNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

bool Fresh() { return NowNanos() - last_request.load(std::memory_order_acquire) < kKeepWarmNanos; }

// Moves the process into the cgroup it is in now (any hierarchy will do: the rwsem is one for
// all), looked up each time: one found earlier would move the daemon back if it was moved since.
void MigrateIntoOwnCgroup(const absl::StatusOr<MemoryCgroupMounts>& mounts) {
  absl::StatusOr<MemoryCgroup> own =
      mounts.ok() ? FindMemoryCgroupIn(*mounts, getpid()) : absl::StatusOr<MemoryCgroup>(mounts.status());
  if (!own.ok()) {
    LogDebug("no cgroup migration warm-up: {}", own.status().message());
    return;
  }
  std::string procs_file = JoinPath(own->path, "cgroup.procs");
  int fd = open(procs_file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    LogDebug("cgroup migration warm-up: open {}: {}", Quote(procs_file), strerror(errno));
    return;
  }
  // "0" is the writer itself; cgroup.procs moves its whole thread group (cgroups(7)).
  if (write(fd, "0", 1) != 1) LogDebug("cgroup migration warm-up: write {}: {}", Quote(procs_file), strerror(errno));
  close(fd);
}

void* KeepWarm(void*) {
  // The hierarchies' mounts are found once: mountinfo grows with every container (reading it
  // was 4% of limand's CPU in 50 starts), while the hierarchies stay where they are.
  static const absl::StatusOr<MemoryCgroupMounts> mounts = FindMemoryCgroupMounts();
  do {
    while (Fresh()) {
      MigrateIntoOwnCgroup(mounts);
      usleep(kIntervalMicros);
    }
    keeping.store(false, std::memory_order_release);
    // A request between the last check and the store saw `keeping` set and left it to this
    // thread: carry on for it, unless another thread has taken over already.
  } while (Fresh() && !keeping.exchange(true, std::memory_order_acq_rel));
  return nullptr;
}

}  // namespace

void WarmCgroupMigrationLock() {
  last_request.store(NowNanos(), std::memory_order_release);
  if (keeping.exchange(true, std::memory_order_acq_rel)) return;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int error = pthread_create(&thread, &attributes, &KeepWarm, nullptr);
  pthread_attr_destroy(&attributes);
  if (error != 0) {
    keeping.store(false, std::memory_order_release);
    LogDebug("no cgroup migration warm-up: pthread_create: {}", strerror(error));
  }
}

void WaitForCgroupMigrationWarmup() {
  while (keeping.load(std::memory_order_acquire)) usleep(1000);
}

}  // namespace liman
