#include "engine/daemon/event_log.h"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "absl/time/clock.h"

using namespace liman::engine;
using nlohmann::json;

namespace {

EngineEvent Container(std::string action, std::string id, std::string name, std::map<std::string, std::string> extra = {}) {
  EngineEvent event{"container", std::move(action), std::move(id), std::move(extra), {}};
  event.attributes["name"] = std::move(name);
  event.attributes.emplace("image", "busybox:latest");
  return event;
}

// What Follow gives from the beginning of the log until now, through `filters`.
std::vector<std::string> Replay(EventLog& log, const json& filters) {
  absl::StatusOr<EventFilter> filter = EventFilter::Parse(filters);
  REQUIRE(filter.ok());
  std::vector<std::string> seen;
  log.Follow(absl::InfinitePast(), absl::Now(), *filter,
             [&](const EngineEvent& event) {
               seen.push_back(event.action + " " + event.id);
               return true;
             },
             [] { return false; });
  return seen;
}

}  // namespace

TEST_CASE("events: replayed from since, cut at until, filtered as moby filters them") {
  EventLog log;
  log.Publish(Container("create", "aaaa1111", "web", {{"tier", "front"}}));
  log.Publish(Container("start", "aaaa1111", "web", {{"tier", "front"}}));
  log.Publish(Container("exec_start: sh -c true", "aaaa1111", "web"));
  log.Publish(EngineEvent{"network", "connect", "net0", {{"container", "aaaa1111"}, {"name", "bridge"}}, {}});
  log.Publish(Container("die", "bbbb2222", "db", {{"exitCode", "3"}}));
  log.Publish(EngineEvent{"image", "pull", "busybox:latest", {{"name", "busybox"}}, {}});
  log.Publish(EngineEvent{"volume", "create", "data", {{"driver", "local"}}, {}});

  CHECK(Replay(log, nullptr).size() == 7);
  CHECK(Replay(log, json{{"type", {"network", "volume"}}}) == std::vector<std::string>{"connect net0", "create data"});
  CHECK(Replay(log, json{{"event", {"exec_start"}}}) == std::vector<std::string>{"exec_start: sh -c true aaaa1111"});
  CHECK(Replay(log, json{{"container", {"db"}}}) == std::vector<std::string>{"die bbbb2222"});
  CHECK(Replay(log, json{{"container", {"d"}}}) == std::vector<std::string>{"die bbbb2222"});  // a prefix, as moby
  CHECK(Replay(log, json{{"container", {"aaaa"}}, {"event", {"start", "die"}}}) == std::vector<std::string>{"start aaaa1111"});
  CHECK(Replay(log, json{{"label", {"tier=front"}}}).size() == 2);
  CHECK(Replay(log, json{{"label", {"tier=back"}}}).empty());
  CHECK(Replay(log, json{{"image", {"busybox"}}, {"type", {"image"}}}) == std::vector<std::string>{"pull busybox:latest"});
  // The older form of filters: {"key":{"value":true}}.
  CHECK(Replay(log, json{{"volume", {{"data", true}}}}) == std::vector<std::string>{"create data"});
  CHECK(EventFilter::Parse(json{{"colour", {"red"}}}).status().message() == "invalid filter 'colour'");

  // until in the past of some: only what came before it.
  absl::Time cut = absl::Now();
  log.Publish(Container("destroy", "bbbb2222", "db"));
  std::vector<std::string> before;
  log.Follow(absl::InfinitePast(), cut, *EventFilter::Parse(nullptr),
             [&](const EngineEvent& event) {
               before.push_back(event.action);
               return true;
             },
             [] { return false; });
  CHECK(before.size() == 7);
}

TEST_CASE("events: a follower without since sees only new events, as they come") {
  EventLog log;
  log.Publish(Container("create", "old", "old"));
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log.Publish(Container("start", "new", "new"));
  });
  std::vector<std::string> seen;
  absl::Time started = absl::Now();
  log.Follow(std::nullopt, absl::Now() + absl::Seconds(10), *EventFilter::Parse(nullptr),
             [&](const EngineEvent& event) {
               seen.push_back(event.id);
               return false;  // the first one is enough
             },
             [] { return false; });
  later.join();
  CHECK(seen == std::vector<std::string>{"new"});
  CHECK(absl::Now() - started < absl::Seconds(10));

  // A follower whose client went away stops although nothing comes.
  bool asked = false;
  log.Follow(std::nullopt, std::nullopt, *EventFilter::Parse(nullptr), [](const EngineEvent&) { return true; },
             [&] { return std::exchange(asked, true); });
  CHECK(asked);
}

TEST_CASE("events: the last 1024 are kept; messages carry Docker's fields") {
  EventLog log;
  for (int i = 0; i < 1030; ++i) log.Publish(EngineEvent{"volume", "create", std::to_string(i), {}, {}});
  std::vector<std::string> kept = Replay(log, nullptr);
  REQUIRE(kept.size() == EventLog::kKept);
  CHECK(kept.front() == "create 6");
  CHECK(kept.back() == "create 1029");

  EngineEvent die = Container("die", "cid", "web", {{"exitCode", "3"}});
  die.time = absl::FromUnixNanos(1700000000123456789);
  json message = die.ToJson();
  CHECK(message["status"] == "die");
  CHECK(message["id"] == "cid");
  CHECK(message["from"] == "busybox:latest");
  CHECK(message["Type"] == "container");
  CHECK(message["Action"] == "die");
  CHECK(message["Actor"]["ID"] == "cid");
  CHECK(message["Actor"]["Attributes"]["exitCode"] == "3");
  CHECK(message["scope"] == "local");
  CHECK(message["time"] == 1700000000);
  CHECK(message["timeNano"] == 1700000000123456789);
  json network = EngineEvent{"network", "connect", "n", {}, die.time}.ToJson();
  CHECK_FALSE(network.contains("status"));
  CHECK_FALSE(network.contains("from"));
}
