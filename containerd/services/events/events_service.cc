#include "containerd/services/events/events_service.h"

#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/events/envelope_adaptor.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "shim/proto_time.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::events::v1;

// How often a subscription with nothing to send checks whether its client went away: the
// synchronous gRPC API only lets a handler poll for that (ServerContext::IsCancelled).
constexpr absl::Duration kCancelPollInterval = absl::Milliseconds(200);

// The subscriptions being streamed; the daemon's shutdown hook cancels them all and refuses
// new ones. Shared with the hook, which may outlive the service object.
class LiveSubscriptions {
 public:
  // False once the daemon is shutting down.
  bool Add(events::Subscription* subscription) {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    live_.insert(subscription);
    return true;
  }
  void Remove(events::Subscription* subscription) {
    std::lock_guard lock(mu_);
    live_.erase(subscription);
  }
  void CloseAll() {
    std::lock_guard lock(mu_);
    closed_ = true;
    for (events::Subscription* subscription : live_) subscription->Cancel();
  }
  bool closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  bool closed_ = false;
  std::set<events::Subscription*> live_;
};

api::Envelope ToProtoEnvelope(const events::Envelope& envelope) {
  api::Envelope out;
  *out.mutable_timestamp() = shim::ToProtoTimestamp(envelope.timestamp);
  out.set_namespace_(envelope.namespace_name);
  out.set_topic(envelope.topic);
  *out.mutable_event() = envelope.event;
  return out;
}

events::Envelope FromProtoEnvelope(const api::Envelope& envelope) {
  events::Envelope out;
  // No timestamp stays "unset", which Forward refuses as containerd does.
  out.timestamp = envelope.has_timestamp() ? shim::FromProtoTimestamp(envelope.timestamp()) : absl::InfinitePast();
  out.namespace_name = envelope.namespace_();
  out.topic = envelope.topic();
  out.event = envelope.event();
  return out;
}

const grpc::Status& ShuttingDown() {
  static const grpc::Status status(grpc::StatusCode::UNAVAILABLE, "events: subscription ended: daemon is shutting down");
  return status;
}

class EventsService final : public api::Events::Service {
 public:
  explicit EventsService(const ServiceDeps& deps)
      : exchange_(*deps.events), live_(std::make_shared<LiveSubscriptions>()) {
    if (deps.daemon != nullptr) deps.daemon->OnShutdown([live = live_] { live->CloseAll(); });
  }

  grpc::Status Publish(grpc::ServerContext* context, const api::PublishRequest* request,
                       google::protobuf::Empty*) override {
    absl::StatusOr<std::string> ns = server::RequireNamespace(*context);
    if (!ns.ok()) return server::ToGrpcStatus(Annotate(ns.status(), "failed publishing event"));
    // The event travels as the client packed it (containerd's typeurl keeps an Any as it is).
    return server::ToGrpcStatus(exchange_.Publish(*ns, request->topic(), request->event()));
  }

  grpc::Status Forward(grpc::ServerContext*, const api::ForwardRequest* request, google::protobuf::Empty*) override {
    return server::ToGrpcStatus(exchange_.Forward(FromProtoEnvelope(request->envelope())));
  }

  // Not tied to a namespace: like containerd's, a subscription sees every namespace unless its
  // filters say otherwise.
  grpc::Status Subscribe(grpc::ServerContext* context, const api::SubscribeRequest* request,
                         grpc::ServerWriter<api::Envelope>* writer) override {
    std::vector<std::string> filter_strings(request->filters().begin(), request->filters().end());
    absl::StatusOr<filters::Filter> filter = filters::Parse(filter_strings);
    if (!filter.ok())
      return server::ToGrpcStatus(Annotate(filter.status(), "subscribe: failed parsing subscription filters"));

    events::Predicate predicate;
    if (!filter->MatchesEverything()) {
      predicate = [filter = *std::move(filter)](const events::Envelope& envelope) {
        return filter.Match(AdaptEnvelope(envelope));
      };
    }
    std::unique_ptr<events::Subscription> subscription = exchange_.Subscribe(std::move(predicate));
    if (!live_->Add(subscription.get())) return ShuttingDown();
    absl::Cleanup unregister = [&] { live_->Remove(subscription.get()); };

    // The headers tell the client the subscription is in place: whatever is published after it
    // has them reaches it (clients that must not miss an event wait for them).
    writer->SendInitialMetadata();
    while (!context->IsCancelled()) {
      absl::StatusOr<events::Envelope> envelope = subscription->Next(absl::Now() + kCancelPollInterval);
      if (absl::IsDeadlineExceeded(envelope.status())) continue;
      if (absl::IsCancelled(envelope.status())) {
        if (live_->closed()) return ShuttingDown();
        return grpc::Status::OK;  // the exchange went away
      }
      if (!envelope.ok())  // dropped for falling behind
        return server::ToGrpcStatus(Annotate(envelope.status(), "subscription error"));
      if (!writer->Write(ToProtoEnvelope(*envelope))) return grpc::Status::OK;  // the client is gone
    }
    return grpc::Status(grpc::StatusCode::CANCELLED, "subscribe: cancelled by the client");
  }

 private:
  events::Exchange& exchange_;
  std::shared_ptr<LiveSubscriptions> live_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeEventsService(const ServiceDeps& deps) {
  return std::make_unique<EventsService>(deps);
}

}  // namespace liman::containerd::services
