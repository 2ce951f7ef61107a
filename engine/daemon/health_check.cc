#include "engine/daemon/health_check.h"

#include <utility>

#include "engine/daemon/json_log_reader.h"

namespace liman::engine {

using nlohmann::json;

namespace {

// A Go time.Duration field (nanoseconds); zero when absent or not a number.
absl::Duration DurationField(const json& healthcheck, const char* key) {
  if (!healthcheck.contains(key) || !healthcheck[key].is_number_integer()) return absl::ZeroDuration();
  return absl::Nanoseconds(healthcheck[key].get<int64_t>());
}

std::vector<std::string> Strings(const json& value) {
  std::vector<std::string> out;
  if (value.is_array())
    for (const json& item : value)
      if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

}  // namespace

std::optional<HealthConfig> ParseHealthConfig(const json& config) {
  if (!config.is_object() || !config.contains("Healthcheck") || !config["Healthcheck"].is_object()) return std::nullopt;
  const json& healthcheck = config["Healthcheck"];
  std::vector<std::string> test = Strings(healthcheck.value("Test", json()));
  if (test.empty() || test.front() == "NONE") return std::nullopt;
  HealthConfig parsed;
  if (test.front() == "CMD") {
    parsed.command.assign(test.begin() + 1, test.end());
  } else if (test.front() == "CMD-SHELL") {
    std::vector<std::string> shell = Strings(config.value("Shell", json()));
    parsed.command = shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : shell;
    std::string command;
    for (size_t i = 1; i < test.size(); ++i) command += (i > 1 ? " " : "") + test[i];
    parsed.command.push_back(command);
  } else {
    return std::nullopt;  // moby: "unknown healthcheck type": no probe runs
  }
  if (parsed.command.empty()) return std::nullopt;
  if (absl::Duration d = DurationField(healthcheck, "Interval"); d > absl::ZeroDuration()) parsed.interval = d;
  if (absl::Duration d = DurationField(healthcheck, "Timeout"); d > absl::ZeroDuration()) parsed.timeout = d;
  if (absl::Duration d = DurationField(healthcheck, "StartPeriod"); d > absl::ZeroDuration()) parsed.start_period = d;
  if (healthcheck.contains("Retries") && healthcheck["Retries"].is_number_integer() &&
      healthcheck["Retries"].get<int64_t>() > 0)
    parsed.retries = static_cast<int>(healthcheck["Retries"].get<int64_t>());
  return parsed;
}

void MergeHealthcheck(const json& image_healthcheck, json& config) {
  if (!image_healthcheck.is_object()) return;
  if (!config.contains("Healthcheck") || !config["Healthcheck"].is_object()) {
    config["Healthcheck"] = image_healthcheck;
    return;
  }
  json& own = config["Healthcheck"];
  if (!Strings(own.value("Test", json())).empty()) return;
  own["Test"] = image_healthcheck.value("Test", json());
  for (const char* key : {"Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"})
    if (own.value(key, int64_t{0}) == 0 && image_healthcheck.contains(key)) own[key] = image_healthcheck[key];
}

json StartingHealth(const json& previous) {
  json log = previous.is_object() && previous.contains("Log") && previous["Log"].is_array() ? previous["Log"]
                                                                                            : json::array();
  return json{{"Status", "starting"}, {"FailingStreak", 0}, {"Log", std::move(log)}};
}

std::optional<std::string> RecordProbe(json& health, const HealthConfig& config, const ProbeResult& result,
                                       absl::Time started_at) {
  if (!health.is_object()) health = StartingHealth(json());
  const std::string before = health.value("Status", "starting");
  json& log = health["Log"];
  if (!log.is_array()) log = json::array();
  log.push_back(json{{"Start", FormatLogTime(result.start)},
                     {"End", FormatLogTime(result.end)},
                     {"ExitCode", result.exit_code},
                     {"Output", result.output}});
  while (log.size() > kMaxHealthLog) log.erase(log.begin());
  if (result.exit_code == 0) {
    health["FailingStreak"] = 0;
    health["Status"] = "healthy";
  } else if (before != "starting" || result.start - started_at >= config.start_period) {
    // Failures while starting within the start period do not count (moby's StartPeriod).
    int64_t streak = health.value("FailingStreak", int64_t{0}) + 1;
    health["FailingStreak"] = streak;
    if (streak >= config.retries) health["Status"] = "unhealthy";
  }
  std::string after = health.value("Status", "starting");
  if (after == before) return std::nullopt;
  return after;
}

std::string HealthSuffix(const json& state) {
  if (!state.contains("Health") || !state["Health"].is_object()) return "";
  std::string status = state["Health"].value("Status", "");
  if (status == "starting") return "health: starting";
  return status;
}

}  // namespace liman::engine
