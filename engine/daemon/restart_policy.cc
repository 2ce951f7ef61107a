#include "engine/daemon/restart_policy.h"

#include <algorithm>

#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

absl::StatusOr<RestartPolicy> ParseRestartPolicy(const json& host_config) {
  RestartPolicy policy;
  if (!host_config.is_object() || !host_config.contains("RestartPolicy") || host_config["RestartPolicy"].is_null())
    return policy;
  const json& requested = host_config["RestartPolicy"];
  if (!requested.is_object())
    return absl::InvalidArgumentError("json: cannot unmarshal HostConfig.RestartPolicy: not an object");
  const json& name = requested.contains("Name") ? requested["Name"] : json("");
  const json& count = requested.contains("MaximumRetryCount") ? requested["MaximumRetryCount"] : json(0);
  if (!name.is_string() && !name.is_null())
    return absl::InvalidArgumentError("json: cannot unmarshal HostConfig.RestartPolicy.Name: not a string");
  if (!count.is_number_integer() && !count.is_null())
    return absl::InvalidArgumentError("json: cannot unmarshal HostConfig.RestartPolicy.MaximumRetryCount: not an integer");
  std::string text = name.is_string() ? name.get<std::string>() : "";
  policy.max_retries = count.is_null() ? 0 : count.get<int64_t>();
  if (text.empty() || text == "no") {
    policy.kind = RestartPolicy::Kind::kNo;
  } else if (text == "always") {
    policy.kind = RestartPolicy::Kind::kAlways;
  } else if (text == "unless-stopped") {
    policy.kind = RestartPolicy::Kind::kUnlessStopped;
  } else if (text == "on-failure") {
    policy.kind = RestartPolicy::Kind::kOnFailure;
  } else {
    return absl::InvalidArgumentError(fmt::format(
        "invalid restart policy: unknown policy '{}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'", text));
  }
  if (policy.kind == RestartPolicy::Kind::kOnFailure) {
    if (policy.max_retries < 0)
      return absl::InvalidArgumentError("invalid restart policy: maximum retry count cannot be negative");
  } else if (policy.max_retries != 0) {
    return absl::InvalidArgumentError("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  return policy;
}

bool PolicyRestarts(const RestartPolicy& policy, int64_t exit_code, bool manually_stopped, int64_t restart_count) {
  switch (policy.kind) {
    case RestartPolicy::Kind::kNo:
      return false;
    case RestartPolicy::Kind::kAlways:
      return true;
    case RestartPolicy::Kind::kUnlessStopped:
      return !manually_stopped;
    case RestartPolicy::Kind::kOnFailure:
      return exit_code != 0 && (policy.max_retries == 0 || restart_count < policy.max_retries);
  }
  return false;
}

std::optional<absl::Duration> RestartBackoff::AfterExit(const RestartPolicy& policy, int64_t exit_code,
                                                        bool manually_stopped, int64_t restart_count,
                                                        absl::Duration ran) {
  if (policy.kind == RestartPolicy::Kind::kNo) return std::nullopt;
  if (ran >= kResetAfterRun) delay_ = absl::ZeroDuration();
  delay_ = delay_ == absl::ZeroDuration() ? kFirstDelay : std::min(delay_ * 2, kMaxDelay);
  if (!PolicyRestarts(policy, exit_code, manually_stopped, restart_count)) return std::nullopt;
  return delay_;
}

}  // namespace liman::engine
