// Container healthchecks as moby runs them (daemon/health.go): what Config.Healthcheck asks for,
// and how each probe's result moves State.Health ("starting", "healthy", "unhealthy").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct HealthConfig {
  std::vector<std::string> command;  // what the probe execs
  absl::Duration interval = absl::Seconds(30);
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration start_period = absl::ZeroDuration();
  int retries = 3;
};

// The probe a container config's Healthcheck asks for: Test ["CMD", args…] execs args,
// ["CMD-SHELL", cmd] the config's Shell (/bin/sh -c by default) with cmd; zero durations and
// retries take moby's defaults. None without a Healthcheck, with ["NONE"] or an empty Test.
std::optional<HealthConfig> ParseHealthConfig(const nlohmann::json& config);

// The image's Healthcheck under the container's (moby's merge at create): none given takes the
// image's whole; one without Test takes the image's Test, and its unset durations and retries.
void MergeHealthcheck(const nlohmann::json& image_healthcheck, nlohmann::json& config);

struct ProbeResult {
  absl::Time start;
  absl::Time end;
  int64_t exit_code = 0;  // -1: the probe timed out or could not run
  std::string output;     // stdout and stderr together, at most kMaxProbeOutput bytes
};

inline constexpr size_t kMaxProbeOutput = 4096;
inline constexpr size_t kMaxHealthLog = 5;

// A fresh State.Health for a container that just started: starting, no failures, the log kept.
nlohmann::json StartingHealth(const nlohmann::json& previous);

// Records `result` in State.Health (`health`) as moby's handleProbeResult: the log keeps the last
// five results; exit 0 makes it healthy; a failure counts towards `retries` (unhealthy at that
// many in a row) unless the container is still starting within its start period (from
// `started_at`). Returns the new status when it changed.
std::optional<std::string> RecordProbe(nlohmann::json& health, const HealthConfig& config, const ProbeResult& result,
                                       absl::Time started_at);

// What `docker ps` adds to "Up …": "healthy", "unhealthy", "health: starting"; empty without one.
std::string HealthSuffix(const nlohmann::json& state);

}  // namespace liman::engine
