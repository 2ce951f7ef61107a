// Delivers task events to the manager over ttrpc (containerd.services.events.ttrpc.v1.Events/
// Forward at $TTRPC_ADDRESS), in order, without ever losing one to a manager restart: events
// queue while the manager is away and a timer retries with backoff until it is back.
#pragma once

#include <deque>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "common/event_loop.h"
#include "common/ttrpc/client.h"
#include "google/protobuf/message.h"

namespace liman::shim {

class Publisher {
 public:
  // An empty `address` disables publishing (events are dropped, as with no manager at all).
  Publisher(EventLoop* loop, std::string address, std::string namespace_name);

  // Queues `event` under `topic` ("/tasks/exit"…) and schedules delivery.
  void Publish(std::string_view topic, const google::protobuf::Message& event);

  size_t pending() const { return queue_.size(); }

 private:
  void Deliver();
  void ScheduleDelivery(absl::Duration after);

  EventLoop* loop_;
  std::string address_;
  std::string namespace_;
  std::deque<std::string> queue_;  // serialized ForwardRequests
  std::optional<ttrpc::Client> client_;
  bool scheduled_ = false;
  absl::Duration backoff_ = absl::ZeroDuration();
};

}  // namespace liman::shim
