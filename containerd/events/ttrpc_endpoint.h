// The events endpoint shims publish to: containerd.services.events.ttrpc.v1.Events/Forward on a
// unix socket beside the daemon's gRPC socket ("<grpc address>.ttrpc", which shims get as
// $TTRPC_ADDRESS), feeding each envelope into the Exchange. It runs on its own LoopThread, so a
// slow or stuck gRPC side never delays a shim's publishing.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "containerd/events/exchange.h"
#include "containerd/events/loop_thread.h"

namespace liman::containerd::events {

class TtrpcEndpoint {
 public:
  // Listens on `socket_path` (mode 0600; a stale socket file is replaced) and starts serving.
  static absl::StatusOr<std::unique_ptr<TtrpcEndpoint>> Start(Exchange* exchange, std::string socket_path);
  // Stops serving, closes every connection and removes the socket file.
  ~TtrpcEndpoint();

  const std::string& socket_path() const { return socket_path_; }

 private:
  class Service;
  TtrpcEndpoint(std::string socket_path, std::unique_ptr<LoopThread> thread, std::unique_ptr<Service> service);

  std::string socket_path_;
  std::unique_ptr<LoopThread> thread_;
  std::unique_ptr<Service> service_;
};

}  // namespace liman::containerd::events
