// The in-process event bus (containerd's events/exchange): publishers never block, every
// subscriber sees events in one global order, each through its own bounded queue. A subscriber
// that falls that far behind is dropped: its queue ends with a ResourceExhausted error instead of
// holding up the publishers or growing without bound.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/events/envelope.h"

namespace liman::containerd::events {

// Decides which envelopes a subscriber gets (namespace, topic, event type, or fields of the
// event itself); runs on the publisher's thread, so it must be quick and must not publish.
using Predicate = std::function<bool(const Envelope&)>;

class Subscription;

class Exchange {
 public:
  static constexpr size_t kDefaultQueueLimit = 4096;

  // `queue_limit`: how many undelivered events one subscriber may have before it is dropped.
  explicit Exchange(size_t queue_limit = kDefaultQueueLimit);
  ~Exchange();
  Exchange(const Exchange&) = delete;
  Exchange& operator=(const Exchange&) = delete;

  // Stamps the event with the current time and broadcasts it. InvalidArgument for a namespace
  // that is not an identifier or a malformed topic.
  absl::Status Publish(std::string_view namespace_name, std::string_view topic, google::protobuf::Any event);
  absl::Status Publish(std::string_view namespace_name, std::string_view topic, const google::protobuf::Message& event);
  // Broadcasts an envelope stamped elsewhere (a shim's, through the ttrpc Forward endpoint);
  // validated like containerd's: namespace, topic and a timestamp are required.
  absl::Status Forward(Envelope envelope);

  // A new subscription seeing every later event that `predicate` accepts (all when empty).
  std::unique_ptr<Subscription> Subscribe(Predicate predicate = nullptr);

  size_t subscriber_count() const;

 private:
  friend class Subscription;
  struct Queue;
  struct Registry;
  void Broadcast(Envelope envelope);

  std::shared_ptr<Registry> registry_;
};

// One subscriber's end. Destroying it unsubscribes; Next may be called from one thread while
// Cancel is called from another.
class Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The next event, waiting until `deadline` at most: DeadlineExceeded when none came by then,
  // Cancelled once Cancel() was called (or the exchange is gone), ResourceExhausted after the
  // subscriber was dropped for falling behind (the events queued before that come first).
  absl::StatusOr<Envelope> Next(absl::Time deadline = absl::InfiniteFuture());
  // Ends the subscription: a blocked Next returns Cancelled, later events are not queued.
  void Cancel();

 private:
  friend class Exchange;
  Subscription(std::shared_ptr<Exchange::Queue> queue, std::weak_ptr<Exchange::Registry> registry)
      : queue_(std::move(queue)), registry_(std::move(registry)) {}

  std::shared_ptr<Exchange::Queue> queue_;
  std::weak_ptr<Exchange::Registry> registry_;
};

}  // namespace liman::containerd::events
