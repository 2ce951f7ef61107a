#include "containerd/events/exchange.h"

#include <algorithm>
#include <vector>

#include "common/status.h"
#include "common/wall_clock.h"
#include "containerd/events/identifiers.h"
#include "fmt/format.h"

namespace liman::containerd::events {

struct Exchange::Queue {
  Predicate predicate;
  size_t limit;
  std::mutex mu;
  std::condition_variable ready;
  std::deque<Envelope> events;
  bool cancelled = false;
  bool dropped = false;
};

struct Exchange::Registry {
  size_t queue_limit;
  // Held across a whole broadcast: every subscriber sees concurrent publishers in one order.
  mutable std::mutex mu;
  std::vector<std::shared_ptr<Queue>> queues;
};

Exchange::Exchange(size_t queue_limit) : registry_(std::make_shared<Registry>()) {
  registry_->queue_limit = std::max<size_t>(queue_limit, 1);
}

Exchange::~Exchange() {
  std::lock_guard lock(registry_->mu);
  for (const std::shared_ptr<Queue>& queue : registry_->queues) {
    std::lock_guard queue_lock(queue->mu);
    queue->cancelled = true;
    queue->ready.notify_all();
  }
}

absl::Status Exchange::Publish(std::string_view namespace_name, std::string_view topic,
                               google::protobuf::Any event) {
  if (absl::Status status = ValidateIdentifier(namespace_name); !status.ok())
    return Annotate(status, "publish event: invalid namespace");
  LIMAN_RETURN_IF_ERROR(Annotate(ValidateTopic(topic), "publish event"));
  Envelope envelope;
  envelope.timestamp = WallClockNow();
  envelope.namespace_name = std::string(namespace_name);
  envelope.topic = std::string(topic);
  envelope.event = std::move(event);
  Broadcast(std::move(envelope));
  return absl::OkStatus();
}

absl::Status Exchange::Publish(std::string_view namespace_name, std::string_view topic,
                               const google::protobuf::Message& event) {
  return Publish(namespace_name, topic, PackEvent(event));
}

absl::Status Exchange::Forward(Envelope envelope) {
  if (absl::Status status = ValidateIdentifier(envelope.namespace_name); !status.ok())
    return Annotate(status, "forward event: event envelope has invalid namespace");
  LIMAN_RETURN_IF_ERROR(Annotate(ValidateTopic(envelope.topic), "forward event"));
  if (envelope.timestamp == absl::UnixEpoch() || envelope.timestamp == absl::InfinitePast())
    return absl::InvalidArgumentError("forward event: timestamp must be set on forwarded event");
  Broadcast(std::move(envelope));
  return absl::OkStatus();
}

void Exchange::Broadcast(Envelope envelope) {
  std::lock_guard lock(registry_->mu);
  bool any_dropped = false;
  for (const std::shared_ptr<Queue>& queue : registry_->queues) {
    if (queue->predicate && !queue->predicate(envelope)) continue;
    std::lock_guard queue_lock(queue->mu);
    if (queue->cancelled || queue->dropped) continue;
    if (queue->events.size() >= queue->limit) {
      queue->dropped = true;
      any_dropped = true;
    } else {
      queue->events.push_back(envelope);
    }
    queue->ready.notify_all();
  }
  if (any_dropped) {
    std::erase_if(registry_->queues, [](const std::shared_ptr<Queue>& queue) {
      std::lock_guard queue_lock(queue->mu);
      return queue->dropped;
    });
  }
}

std::unique_ptr<Subscription> Exchange::Subscribe(Predicate predicate) {
  auto queue = std::make_shared<Queue>();
  queue->predicate = std::move(predicate);
  std::lock_guard lock(registry_->mu);
  queue->limit = registry_->queue_limit;
  registry_->queues.push_back(queue);
  return std::unique_ptr<Subscription>(new Subscription(std::move(queue), registry_));
}

size_t Exchange::subscriber_count() const {
  std::lock_guard lock(registry_->mu);
  return registry_->queues.size();
}

Subscription::~Subscription() {
  Cancel();
  if (std::shared_ptr<Exchange::Registry> registry = registry_.lock()) {
    std::lock_guard lock(registry->mu);
    std::erase(registry->queues, queue_);
  }
}

absl::StatusOr<Envelope> Subscription::Next(absl::Time deadline) {
  std::unique_lock lock(queue_->mu);
  auto ready = [this] { return queue_->cancelled || !queue_->events.empty() || queue_->dropped; };
  if (deadline == absl::InfiniteFuture()) {
    queue_->ready.wait(lock, ready);
  } else {
    queue_->ready.wait_for(lock, absl::ToChronoNanoseconds(std::max(deadline - absl::Now(), absl::ZeroDuration())),
                           ready);
  }
  if (queue_->cancelled) return absl::CancelledError("event subscription cancelled");
  if (!queue_->events.empty()) {
    Envelope envelope = std::move(queue_->events.front());
    queue_->events.pop_front();
    return envelope;
  }
  if (queue_->dropped)
    return absl::ResourceExhaustedError(fmt::format(
        "event subscriber dropped: it fell {} events behind", queue_->limit));
  return absl::DeadlineExceededError("no event before the deadline");
}

void Subscription::Cancel() {
  std::lock_guard lock(queue_->mu);
  queue_->cancelled = true;
  queue_->events.clear();
  queue_->ready.notify_all();
}

}  // namespace liman::containerd::events
