// The parts of a running liman-containerd, built in dependency order from its configuration and
// taken down in reverse: the content store, the overlay snapshotter, the metadata database over
// them, the event exchange and the ttrpc endpoint shims publish to, the task manager (which
// adopts the shims that outlived the previous daemon), and the garbage collector's schedule.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "containerd/events/exchange.h"
#include "containerd/events/ttrpc_endpoint.h"
#include "containerd/metadata/db.h"
#include "containerd/server/config.h"
#include "containerd/services/service_deps.h"
#include "containerd/tasks/task_manager.h"

namespace liman::containerd {

class Manager {
 public:
  // Opens the stores under config.root, starts the ttrpc events endpoint, adopts live shims and
  // cleans up after dead ones. `daemon` is for the services' shutdown hooks.
  static absl::StatusOr<std::unique_ptr<Manager>> Open(const server::DaemonConfig& config, server::Daemon* daemon);
  // Stops the collector; lets go of the shims (their containers keep running).
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  const services::ServiceDeps& deps() const { return deps_; }

 private:
  Manager() = default;
  // containerd's GC scheduler in short: collect when something was deleted since the last
  // collection (a removed image, lease, container...), at most once per `interval`.
  void CollectGarbageLoop(absl::Duration interval);

  std::unique_ptr<metadata::DB> db_;
  std::unique_ptr<events::Exchange> events_;
  std::unique_ptr<events::TtrpcEndpoint> ttrpc_;
  std::unique_ptr<tasks::TaskManager> tasks_;
  services::ServiceDeps deps_;

  absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::thread collector_;
};

}  // namespace liman::containerd
