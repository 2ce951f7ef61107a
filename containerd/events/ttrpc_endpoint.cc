#include "containerd/events/ttrpc_endpoint.h"

#include <unistd.h>

#include "common/logging.h"
#include "common/status.h"
#include "common/ttrpc/server.h"
#include "common/unix_socket.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/empty.pb.h"
#include "shim/proto_time.h"

namespace liman::containerd::events {
namespace {

namespace ttrpc_events = ::containerd::services::events::ttrpc::v1;

constexpr char kEventsService[] = "containerd.services.events.ttrpc.v1.Events";

}  // namespace

// The ttrpc server; lives on (and is destroyed on) the loop's thread.
class TtrpcEndpoint::Service {
 public:
  Service(EventLoop* loop, Exchange* exchange) : server(loop) {
    server.RegisterMethod<ttrpc_events::ForwardRequest, google::protobuf::Empty>(
        kEventsService, "Forward",
        [exchange](const ttrpc_events::ForwardRequest& request) -> absl::StatusOr<google::protobuf::Empty> {
          const ttrpc_events::Envelope& in = request.envelope();
          Envelope envelope;
          if (in.has_timestamp()) envelope.timestamp = shim::FromProtoTimestamp(in.timestamp());
          envelope.namespace_name = in.namespace_();
          envelope.topic = in.topic();
          envelope.event = in.event();
          if (absl::Status status = exchange->Forward(std::move(envelope)); !status.ok()) {
            LogWarn("events endpoint: {}", status);
            return status;
          }
          return google::protobuf::Empty();
        });
  }
  ttrpc::Server server;
};

absl::StatusOr<std::unique_ptr<TtrpcEndpoint>> TtrpcEndpoint::Start(Exchange* exchange, std::string socket_path) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<LoopThread> thread, LoopThread::Create("events-ttrpc"));
  auto service = std::make_unique<Service>(thread->loop(), exchange);
  LIMAN_ASSIGN_OR_RETURN(UniqueFd listener, ListenUnix(socket_path, 0600));
  LIMAN_RETURN_IF_ERROR(Annotate(service->server.Serve(std::move(listener)),
                                 fmt::format("serve events on {}", Quote(socket_path))));
  thread->Start();
  return std::unique_ptr<TtrpcEndpoint>(new TtrpcEndpoint(std::move(socket_path), std::move(thread), std::move(service)));
}

TtrpcEndpoint::TtrpcEndpoint(std::string socket_path, std::unique_ptr<LoopThread> thread,
                             std::unique_ptr<Service> service)
    : socket_path_(std::move(socket_path)), thread_(std::move(thread)), service_(std::move(service)) {}

TtrpcEndpoint::~TtrpcEndpoint() {
  // The server's connections are loop state: tear it down on the loop's thread, then stop it.
  if (!thread_->RunSync([this] { service_.reset(); })) service_.reset();
  thread_.reset();
  if (unlink(socket_path_.c_str()) != 0 && errno != ENOENT)
    LogWarn("remove {}: {}", Quote(socket_path_), ErrnoText(errno));
}

}  // namespace liman::containerd::events
