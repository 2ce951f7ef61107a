#include "shim/publisher.h"

#include "common/logging.h"
#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "shim/proto_time.h"

namespace liman::shim {
namespace {

constexpr std::string_view kEventsService = "containerd.services.events.ttrpc.v1.Events";
// Beyond this many undelivered events the oldest are dropped: a manager gone for that long
// rebuilds task state from the shims (State, Wait) rather than from the event stream.
constexpr size_t kMaxQueuedEvents = 10000;
constexpr absl::Duration kCallTimeout = absl::Seconds(5);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);

}  // namespace

Publisher::Publisher(EventLoop* loop, std::string address, std::string namespace_name)
    : loop_(loop), address_(std::move(address)), namespace_(std::move(namespace_name)) {}

void Publisher::Publish(std::string_view topic, const google::protobuf::Message& event) {
  if (address_.empty()) return;
  containerd::services::events::ttrpc::v1::ForwardRequest request;
  auto* envelope = request.mutable_envelope();
  *envelope->mutable_timestamp() = ToProtoTimestamp(absl::Now());
  envelope->set_namespace_(namespace_);
  envelope->set_topic(std::string(topic));
  // containerd's typeurl names gogo-registered messages by their full proto name, no prefix.
  envelope->mutable_event()->set_type_url(event.GetDescriptor()->full_name());
  envelope->mutable_event()->set_value(event.SerializeAsString());
  if (queue_.size() >= kMaxQueuedEvents) {
    LogWarn("events queue full ({} undelivered): dropping the oldest", queue_.size());
    queue_.pop_front();
  }
  queue_.push_back(request.SerializeAsString());
  if (backoff_ == absl::ZeroDuration()) ScheduleDelivery(absl::ZeroDuration());
}

void Publisher::ScheduleDelivery(absl::Duration after) {
  if (scheduled_) return;
  scheduled_ = true;
  loop_->AddTimer(after, [this] {
    scheduled_ = false;
    Deliver();
  });
}

void Publisher::Deliver() {
  while (!queue_.empty()) {
    if (!client_) {
      absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect(address_);
      if (!client.ok()) break;
      client_.emplace(std::move(*client));
    }
    absl::StatusOr<std::string> reply = client_->Call(kEventsService, "Forward", queue_.front(), kCallTimeout);
    if (!reply.ok()) {
      LogDebug("forward event to {}: {}", address_, reply.status());
      client_.reset();
      // A transport failure is retried; an answer (even an error) means the manager saw it.
      if (reply.status().code() == absl::StatusCode::kUnavailable ||
          reply.status().code() == absl::StatusCode::kDeadlineExceeded)
        break;
    }
    queue_.pop_front();
  }
  if (queue_.empty()) {
    backoff_ = absl::ZeroDuration();
    return;
  }
  backoff_ = std::min(kMaxBackoff, backoff_ == absl::ZeroDuration() ? absl::Milliseconds(50) : 2 * backoff_);
  ScheduleDelivery(backoff_);
}

}  // namespace liman::shim
