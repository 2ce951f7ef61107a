// The daemon: one gRPC server on a unix socket carrying every registered service, started once
// and shut down gracefully on SIGTERM/SIGINT (in-flight calls get a grace period, then the
// socket is removed), like containerd's server.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <grpcpp/impl/service_type.h>
#include <grpcpp/server.h>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "containerd/server/config.h"

namespace liman::containerd::server {

class Daemon {
 public:
  explicit Daemon(DaemonConfig config);
  ~Daemon();  // shuts down if still serving
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const DaemonConfig& config() const { return config_; }

  // Services are registered before Start. RegisterService does not take ownership: the service
  // must outlive the Daemon. AddService keeps the service until the Daemon goes away.
  void RegisterService(grpc::Service* service);
  void AddService(std::unique_ptr<grpc::Service> service);
  // Runs at shutdown before the server stops taking calls, in registration order, e.g. to end
  // event subscriptions whose streams would otherwise hold the shutdown until the grace ends.
  void OnShutdown(std::function<void()> hook);

  // Creates root and state (0711), prepares the socket and starts serving. Not restartable.
  absl::Status Start();
  // Stops serving: shutdown hooks, then calls still running after `grace` are cancelled, then the
  // socket is removed. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  // Start, then wait for SIGTERM, SIGINT or RequestStop, then Shutdown. The signals are blocked
  // and read from a signalfd; call BlockShutdownSignals first thing in main so that every thread
  // (gRPC's included) inherits the mask and the signals reach only Run.
  absl::Status Run();
  // Makes Run return; safe from any thread and from a signal handler.
  void RequestStop();

  static void BlockShutdownSignals();

 private:
  DaemonConfig config_;
  std::vector<grpc::Service*> services_;
  std::vector<std::unique_ptr<grpc::Service>> owned_services_;
  std::vector<std::function<void()>> shutdown_hooks_;
  UniqueFd stop_event_;  // eventfd RequestStop writes

  absl::Mutex mutex_;
  std::unique_ptr<grpc::Server> server_ ABSL_GUARDED_BY(mutex_);
  liman::BoundSocket bound_socket_ ABSL_GUARDED_BY(mutex_);  // removed at shutdown if still ours
  bool started_ ABSL_GUARDED_BY(mutex_) = false;
};

}  // namespace liman::containerd::server
