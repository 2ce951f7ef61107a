// Docker's restart policies (`--restart no|always|unless-stopped|on-failure[:N]`) and moby's
// restart manager: which exits bring a container back, and after what delay. The delay starts
// at 100 ms and doubles at each restart up to one minute; a run of 10 s or more resets it, so a
// crash-looping container backs off while one that fails rarely comes back at once.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct RestartPolicy {
  enum class Kind { kNo, kAlways, kUnlessStopped, kOnFailure };
  Kind kind = Kind::kNo;
  int64_t max_retries = 0;  // on-failure only; 0 is no limit
};

// HostConfig.RestartPolicy as the API sends it ({"Name":"on-failure","MaximumRetryCount":3});
// absent or an empty name is "no". kInvalidArgument with moby's messages for a bad one.
absl::StatusOr<RestartPolicy> ParseRestartPolicy(const nlohmann::json& host_config);

// Whether an exit is one the policy restarts, before any delay: `manually_stopped` is Docker's
// HasBeenManuallyStopped (set by stop and kill, cleared by start); `restart_count` the restarts
// so far (on-failure's limit).
bool PolicyRestarts(const RestartPolicy& policy, int64_t exit_code, bool manually_stopped, int64_t restart_count);

// One container's backoff, in memory as moby keeps it (a new limand starts again at 100 ms).
class RestartBackoff {
 public:
  static constexpr absl::Duration kFirstDelay = absl::Milliseconds(100);
  static constexpr absl::Duration kMaxDelay = absl::Minutes(1);
  static constexpr absl::Duration kResetAfterRun = absl::Seconds(10);

  // The delay before restarting after an exit that `ran` this long, or nullopt when the policy
  // does not restart it. The delay advances at every exit, as moby's ShouldRestart.
  std::optional<absl::Duration> AfterExit(const RestartPolicy& policy, int64_t exit_code, bool manually_stopped,
                                          int64_t restart_count, absl::Duration ran);
  // `docker start` and `docker restart` begin again from the first delay.
  void Reset() { delay_ = absl::ZeroDuration(); }

 private:
  absl::Duration delay_ = absl::ZeroDuration();
};

}  // namespace liman::engine
