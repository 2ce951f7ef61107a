#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/wall_clock.h"
#include "containerd/events/exchange.h"
#include "containerd/events/task.pb.h"
#include "fmt/format.h"

using namespace liman::containerd::events;

namespace {

::containerd::events::TaskExit ExitEvent(const std::string& id, uint32_t status) {
  ::containerd::events::TaskExit event;
  event.set_container_id(id);
  event.set_id(id);
  event.set_exit_status(status);
  return event;
}

absl::Time Soon() { return absl::Now() + absl::Seconds(10); }

}  // namespace

TEST_CASE("a subscriber receives published events in order with their envelope", "[exchange]") {
  Exchange exchange;
  auto subscription = exchange.Subscribe();
  absl::Time before = liman::WallClockNow();  // the clock envelopes are stamped with
  REQUIRE(exchange.Publish("default", "/tasks/exit", ExitEvent("a", 3)).ok());
  REQUIRE(exchange.Publish("other", "/tasks/exit", ExitEvent("b", 4)).ok());

  absl::StatusOr<Envelope> first = subscription->Next(Soon());
  REQUIRE(first.ok());
  CHECK(first->namespace_name == "default");
  CHECK(first->topic == "/tasks/exit");
  CHECK(first->event.type_url() == "containerd.events.TaskExit");
  CHECK(first->event_type() == "containerd.events.TaskExit");
  CHECK(first->timestamp >= before);
  ::containerd::events::TaskExit decoded;
  REQUIRE(UnpackEvent(first->event, &decoded));
  CHECK(decoded.container_id() == "a");
  CHECK(decoded.exit_status() == 3);

  absl::StatusOr<Envelope> second = subscription->Next(Soon());
  REQUIRE(second.ok());
  CHECK(second->namespace_name == "other");

  absl::StatusOr<Envelope> none = subscription->Next(absl::Now());
  CHECK(none.status().code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("predicates select by namespace, topic and event type", "[exchange]") {
  Exchange exchange;
  auto exits = exchange.Subscribe([](const Envelope& e) { return e.topic == "/tasks/exit"; });
  auto in_ns = exchange.Subscribe([](const Envelope& e) { return e.namespace_name == "ns1"; });
  auto by_type = exchange.Subscribe([](const Envelope& e) { return e.event_type() == "containerd.events.TaskStart"; });

  ::containerd::events::TaskStart start;
  start.set_container_id("c");
  REQUIRE(exchange.Publish("ns1", "/tasks/start", start).ok());
  REQUIRE(exchange.Publish("ns2", "/tasks/exit", ExitEvent("c", 0)).ok());

  CHECK(exits->Next(Soon())->namespace_name == "ns2");
  CHECK(exits->Next(absl::Now()).status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(in_ns->Next(Soon())->topic == "/tasks/start");
  CHECK(in_ns->Next(absl::Now()).status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(by_type->Next(Soon())->topic == "/tasks/start");
  CHECK(by_type->Next(absl::Now()).status().code() == absl::StatusCode::kDeadlineExceeded);
}

TEST_CASE("invalid namespaces, topics and envelopes are refused", "[exchange]") {
  Exchange exchange;
  auto subscription = exchange.Subscribe();
  CHECK(exchange.Publish("", "/tasks/exit", ExitEvent("a", 0)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(exchange.Publish("bad ns", "/tasks/exit", ExitEvent("a", 0)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(exchange.Publish("default", "tasks/exit", ExitEvent("a", 0)).code() == absl::StatusCode::kInvalidArgument);
  Envelope unstamped;
  unstamped.namespace_name = "default";
  unstamped.topic = "/tasks/exit";
  absl::Status status = exchange.Forward(unstamped);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()).find("timestamp") != std::string::npos);
  CHECK(subscription->Next(absl::Now()).status().code() == absl::StatusCode::kDeadlineExceeded);

  Envelope stamped = unstamped;
  stamped.timestamp = absl::FromUnixSeconds(1700000000);
  REQUIRE(exchange.Forward(stamped).ok());
  absl::StatusOr<Envelope> got = subscription->Next(Soon());
  REQUIRE(got.ok());
  CHECK(got->timestamp == absl::FromUnixSeconds(1700000000));  // kept, not restamped
}

TEST_CASE("a slow subscriber is dropped without blocking the publisher or others", "[exchange]") {
  Exchange exchange(/*queue_limit=*/3);
  auto slow = exchange.Subscribe();
  auto fast = exchange.Subscribe();
  for (uint32_t i = 0; i < 5; ++i) {
    REQUIRE(exchange.Publish("default", "/tasks/exit", ExitEvent("c", i)).ok());
    absl::StatusOr<Envelope> got = fast->Next(Soon());
    REQUIRE(got.ok());
  }
  CHECK(exchange.subscriber_count() == 1);
  // What was queued before the drop still arrives, then the error.
  for (uint32_t i = 0; i < 3; ++i) {
    absl::StatusOr<Envelope> got = slow->Next(Soon());
    REQUIRE(got.ok());
    ::containerd::events::TaskExit decoded;
    REQUIRE(UnpackEvent(got->event, &decoded));
    CHECK(decoded.exit_status() == i);
  }
  absl::StatusOr<Envelope> dropped = slow->Next(Soon());
  CHECK(dropped.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(exchange.Publish("default", "/tasks/exit", ExitEvent("c", 9)).ok());
  CHECK(fast->Next(Soon()).ok());
}

TEST_CASE("Cancel wakes a blocked Next; destroying a subscription unsubscribes", "[exchange]") {
  Exchange exchange;
  auto subscription = exchange.Subscribe();
  absl::Status result;
  std::thread waiter([&] { result = subscription->Next().status(); });
  subscription->Cancel();
  waiter.join();
  CHECK(result.code() == absl::StatusCode::kCancelled);
  CHECK(subscription->Next(absl::Now()).status().code() == absl::StatusCode::kCancelled);
  subscription.reset();
  CHECK(exchange.subscriber_count() == 0);
}

TEST_CASE("concurrent publishers: every subscriber sees the same order", "[exchange]") {
  Exchange exchange;
  auto a = exchange.Subscribe();
  auto b = exchange.Subscribe();
  std::vector<std::thread> publishers;
  for (int t = 0; t < 4; ++t) {
    publishers.emplace_back([&exchange, t] {
      for (uint32_t i = 0; i < 200; ++i)
        (void)exchange.Publish("default", "/tasks/exit", ExitEvent(fmt::format("c{}", t), i));
    });
  }
  for (std::thread& publisher : publishers) publisher.join();
  for (int i = 0; i < 800; ++i) {
    absl::StatusOr<Envelope> from_a = a->Next(Soon());
    absl::StatusOr<Envelope> from_b = b->Next(Soon());
    REQUIRE(from_a.ok());
    REQUIRE(from_b.ok());
    REQUIRE(from_a->event.value() == from_b->event.value());
  }
}

TEST_CASE("a subscription outliving its exchange reports cancellation", "[exchange]") {
  auto exchange = std::make_unique<Exchange>();
  auto subscription = exchange->Subscribe();
  exchange.reset();
  CHECK(subscription->Next(Soon()).status().code() == absl::StatusCode::kCancelled);
}
