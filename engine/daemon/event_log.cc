#include "engine/daemon/event_log.h"

#include <vector>

#include "absl/time/clock.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

json EngineEvent::ToJson() const {
  json actor_attributes = json::object();
  for (const auto& [key, value] : attributes) actor_attributes[key] = value;
  int64_t nanos = absl::ToUnixNanos(time);
  json message;
  if (type == "container") {
    message["status"] = action;
    message["id"] = id;
    if (auto image = attributes.find("image"); image != attributes.end()) message["from"] = image->second;
  }
  message["Type"] = type;
  message["Action"] = action;
  message["Actor"] = {{"ID", id}, {"Attributes", actor_attributes}};
  message["scope"] = "local";
  message["time"] = nanos / 1000000000;
  message["timeNano"] = nanos;
  return message;
}

namespace {

// moby's fuzzyMatchName: the value is a prefix of the thing's id or of its name.
bool MatchesName(const std::vector<std::string>& wanted, const EngineEvent& event) {
  auto name = event.attributes.find("name");
  for (const std::string& value : wanted) {
    if (event.id.starts_with(value)) return true;
    if (name != event.attributes.end() && name->second.starts_with(value)) return true;
  }
  return false;
}

// "image=busybox" also matches "busybox:latest" (moby matches the reference without its tag).
bool MatchesImage(const std::vector<std::string>& wanted, const EngineEvent& event) {
  std::vector<std::string> candidates = {event.id};
  if (auto image = event.attributes.find("image"); image != event.attributes.end()) candidates.push_back(image->second);
  if (event.type == "image") {
    if (auto name = event.attributes.find("name"); name != event.attributes.end()) candidates.push_back(name->second);
  }
  for (const std::string& value : wanted) {
    for (const std::string& candidate : candidates) {
      if (candidate == value) return true;
      size_t colon = candidate.rfind(':');
      if (colon != std::string::npos && candidate.find('/', colon) == std::string::npos && candidate.substr(0, colon) == value)
        return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<EventFilter> EventFilter::Parse(const json& filters) {
  EventFilter filter;
  if (filters.is_null()) return filter;
  if (!filters.is_object()) return absl::InvalidArgumentError("invalid filter: filters must be an object");
  static const char* const kKnown[] = {"container", "event", "image", "label", "network", "scope", "type", "volume", "daemon"};
  for (const auto& [key, values] : filters.items()) {
    if (std::find_if(std::begin(kKnown), std::end(kKnown), [&](const char* known) { return key == known; }) == std::end(kKnown))
      return absl::InvalidArgumentError(fmt::format("invalid filter '{}'", key));
    std::vector<std::string>& list = filter.values_[key];
    // Both forms: {"type":["container"]} and the older {"type":{"container":true}}.
    if (values.is_array()) {
      for (const json& value : values)
        if (value.is_string()) list.push_back(value.get<std::string>());
    } else if (values.is_object()) {
      for (const auto& [value, on] : values.items())
        if (!on.is_boolean() || on.get<bool>()) list.push_back(value);
    }
  }
  return filter;
}

bool EventFilter::Includes(const EngineEvent& event) const {
  for (const auto& [key, wanted] : values_) {
    if (wanted.empty()) continue;
    bool match = false;
    if (key == "type") {
      match = std::find(wanted.begin(), wanted.end(), event.type) != wanted.end();
    } else if (key == "event") {
      // As moby (#25798): "exec_start" takes "exec_start: sh -c …" too.
      std::string action = event.action.substr(0, event.action.find(':'));
      match = std::find(wanted.begin(), wanted.end(), event.action) != wanted.end() ||
              std::find(wanted.begin(), wanted.end(), action) != wanted.end();
    } else if (key == "container" || key == "volume" || key == "network") {
      match = event.type == key && MatchesName(wanted, event);
    } else if (key == "image") {
      match = MatchesImage(wanted, event);
    } else if (key == "label") {
      // Every label asked for: "key" present, or "key=value" equal.
      match = std::all_of(wanted.begin(), wanted.end(), [&](const std::string& label) {
        size_t eq = label.find('=');
        auto found = event.attributes.find(label.substr(0, eq));
        return found != event.attributes.end() && (eq == std::string::npos || found->second == label.substr(eq + 1));
      });
    } else if (key == "scope") {
      match = std::find(wanted.begin(), wanted.end(), "local") != wanted.end();
    } else if (key == "daemon") {
      match = false;  // no daemon events here
    }
    if (!match) return false;
  }
  return true;
}

void EventLog::Publish(EngineEvent event) {
  {
    std::lock_guard lock(mu_);
    event.time = absl::Now();
    if (!kept_.empty() && event.time < kept_.back().time) event.time = kept_.back().time;
    kept_.push_back(std::move(event));
    if (kept_.size() > kKept) kept_.pop_front();
    ++next_sequence_;
  }
  published_.notify_all();
}

void EventLog::Follow(std::optional<absl::Time> since, std::optional<absl::Time> until, const EventFilter& filter,
                      const std::function<bool(const EngineEvent&)>& emit, const std::function<bool()>& cancelled) {
  std::vector<EngineEvent> batch;
  std::unique_lock lock(mu_);
  uint64_t next = since ? next_sequence_ - kept_.size() : next_sequence_;
  for (;;) {
    uint64_t first_kept = next_sequence_ - kept_.size();
    if (next < first_kept) next = first_kept;  // fell behind: the oldest are gone
    batch.assign(kept_.begin() + static_cast<ptrdiff_t>(next - first_kept), kept_.end());
    next = next_sequence_;
    lock.unlock();
    for (const EngineEvent& event : batch) {
      if (since && event.time < *since) continue;
      if (until && event.time > *until) return;
      if (filter.Includes(event) && !emit(event)) return;
    }
    if ((until && absl::Now() >= *until) || cancelled()) return;
    lock.lock();
    absl::Duration wait = absl::Milliseconds(200);
    if (until) wait = std::min(wait, std::max(*until - absl::Now(), absl::ZeroDuration()));
    published_.wait_for(lock, absl::ToChronoNanoseconds(wait), [&] { return next_sequence_ != next; });
  }
}

}  // namespace liman::engine
