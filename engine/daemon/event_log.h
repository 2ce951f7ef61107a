// Docker's events (GET /events, `docker events`): what happened to containers, images, volumes
// and networks, kept as moby's daemon/events keeps them: the last 1024 in memory for `since`, every
// follower woken for each new one.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct EngineEvent {
  std::string type;    // "container", "image", "volume", "network"
  std::string action;  // "create", "die", "exec_start: sh -c true", …
  std::string id;      // Actor.ID: a container's or image's id, a volume's name, a network's id
  std::map<std::string, std::string> attributes;
  absl::Time time;

  // Docker's message; container events keep the old "status", "id" and "from" fields too.
  nlohmann::json ToJson() const;
};

// moby's events filter (daemon/events/filter.go) over the request's `filters`: type, event,
// container, image, volume, network, label, scope. Keys it does not know are refused.
class EventFilter {
 public:
  static absl::StatusOr<EventFilter> Parse(const nlohmann::json& filters);
  bool Includes(const EngineEvent& event) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

class EventLog {
 public:
  static constexpr size_t kKept = 1024;

  // Records `event`, stamped now (never before the one published last).
  void Publish(EngineEvent event);

  // Gives `emit` the events `filter` takes, in order: those kept from `since` on (none without
  // `since`), then each new one as it comes, until the time `until` (if any) has passed, `emit`
  // returns false, or `cancelled` (asked at least every 200 ms) returns true. A follower that falls
  // more than kKept events behind misses the oldest.
  void Follow(std::optional<absl::Time> since, std::optional<absl::Time> until, const EventFilter& filter,
              const std::function<bool(const EngineEvent&)>& emit, const std::function<bool()>& cancelled);

 private:
  std::mutex mu_;
  std::condition_variable published_;
  std::deque<EngineEvent> kept_;
  uint64_t next_sequence_ = 0;  // of the next event published; kept_.front() is next - size
};

}  // namespace liman::engine
