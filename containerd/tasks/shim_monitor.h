// Notices shims dying while the daemon runs, as containerd 1.6 does through its ttrpc client's
// on-close callback: each watched shim gets one extra connection that is never used for calls;
// when the shim process goes, the kernel closes the socket and the connection reads end of file.
// It also copies each shim's `log` FIFO into the daemon's log (containerd copies it to its
// stderr): containerd-shim-runc-v2 logs there and blocks if nobody reads.
// Everything runs on one LoopThread; callbacks run there too and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "containerd/events/loop_thread.h"

namespace liman::containerd::tasks {

// Creates (if needed) and opens the bundle's `log` FIFO for reading, before the shim starts: the
// descriptor is opened read-write so that the FIFO always has a reader (the shim's open never
// blocks, its writes never fail) and never reads end of file between shim restarts.
absl::StatusOr<UniqueFd> OpenShimLog(const std::string& bundle);

class ShimMonitor {
 public:
  using WatchId = uint64_t;

  static absl::StatusOr<std::unique_ptr<ShimMonitor>> Start();
  ~ShimMonitor();

  // Starts watching the shim at `address`; `on_death` runs once (on the monitor's thread) when it
  // goes away. `log` (may be invalid) is the shim's log FIFO, taken over and copied to the log
  // with `label` ("namespace/id") in front of each line. Unavailable when the shim cannot be
  // reached at all (then nothing is watched and on_death is not called).
  absl::StatusOr<WatchId> Watch(const std::string& address, UniqueFd log, std::string label,
                                std::function<void()> on_death);
  // Stops watching; once it returns, `on_death` is not running and will not run.
  void Unwatch(WatchId id);

 private:
  struct Watched;
  explicit ShimMonitor(std::unique_ptr<events::LoopThread> thread);
  void Forget(WatchId id);  // on the loop thread
  void CopyLog(Watched& watched);

  std::unique_ptr<events::LoopThread> thread_;
  // Loop-thread state.
  std::map<WatchId, std::unique_ptr<Watched>> watched_;
  WatchId next_id_ = 1;
};

}  // namespace liman::containerd::tasks
