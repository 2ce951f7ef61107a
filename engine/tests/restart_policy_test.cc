// Docker's restart policies: validation in moby's words, which exits restart, and the backoff.
#include "engine/daemon/restart_policy.h"

#include <catch2/catch.hpp>

namespace liman::engine {
namespace {

using nlohmann::json;

absl::StatusOr<RestartPolicy> Parse(const std::string& name, int64_t count) {
  return ParseRestartPolicy(json{{"RestartPolicy", {{"Name", name}, {"MaximumRetryCount", count}}}});
}

TEST_CASE("restart policy: the four names, absent and empty meaning no") {
  CHECK(ParseRestartPolicy(json::object())->kind == RestartPolicy::Kind::kNo);
  CHECK(Parse("", 0)->kind == RestartPolicy::Kind::kNo);
  CHECK(Parse("no", 0)->kind == RestartPolicy::Kind::kNo);
  CHECK(Parse("always", 0)->kind == RestartPolicy::Kind::kAlways);
  CHECK(Parse("unless-stopped", 0)->kind == RestartPolicy::Kind::kUnlessStopped);
  absl::StatusOr<RestartPolicy> on_failure = Parse("on-failure", 3);
  REQUIRE(on_failure.ok());
  CHECK(on_failure->kind == RestartPolicy::Kind::kOnFailure);
  CHECK(on_failure->max_retries == 3);
}

TEST_CASE("restart policy: bad ones are refused as moby refuses them") {
  CHECK(Parse("sometimes", 0).status().message() ==
        "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  CHECK(Parse("always", 2).status().message() ==
        "invalid restart policy: maximum retry count can only be used with 'on-failure'");
  CHECK(Parse("on-failure", -1).status().message() == "invalid restart policy: maximum retry count cannot be negative");
  CHECK(ParseRestartPolicy(json{{"RestartPolicy", "always"}}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseRestartPolicy(json{{"RestartPolicy", {{"Name", 7}}}}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("restart policy: which exits restart") {
  RestartPolicy always{RestartPolicy::Kind::kAlways, 0};
  RestartPolicy unless_stopped{RestartPolicy::Kind::kUnlessStopped, 0};
  RestartPolicy on_failure{RestartPolicy::Kind::kOnFailure, 2};
  RestartPolicy on_failure_unlimited{RestartPolicy::Kind::kOnFailure, 0};
  CHECK_FALSE(PolicyRestarts({}, 1, false, 0));
  CHECK(PolicyRestarts(always, 0, false, 0));
  CHECK(PolicyRestarts(always, 0, true, 100));  // always ignores the manual stop; docker stop cancels the next one itself
  CHECK(PolicyRestarts(unless_stopped, 0, false, 5));
  CHECK_FALSE(PolicyRestarts(unless_stopped, 1, true, 0));
  CHECK_FALSE(PolicyRestarts(on_failure, 0, false, 0));
  CHECK(PolicyRestarts(on_failure, 3, false, 1));
  CHECK_FALSE(PolicyRestarts(on_failure, 3, false, 2));
  CHECK(PolicyRestarts(on_failure_unlimited, 3, false, 1000));
}

TEST_CASE("restart backoff: 100 ms doubling to a minute, back to 100 ms after a 10 s run") {
  RestartPolicy always{RestartPolicy::Kind::kAlways, 0};
  RestartBackoff backoff;
  absl::Duration expected = absl::Milliseconds(100);
  for (int exit = 0; exit < 12; ++exit) {
    std::optional<absl::Duration> delay = backoff.AfterExit(always, 1, false, exit, absl::Milliseconds(5));
    REQUIRE(delay.has_value());
    CHECK(*delay == expected);
    expected = std::min(expected * 2, absl::Minutes(1));
  }
  CHECK(*backoff.AfterExit(always, 1, false, 12, absl::Seconds(3)) == absl::Minutes(1));
  CHECK(*backoff.AfterExit(always, 1, false, 13, absl::Seconds(10)) == absl::Milliseconds(100));
  CHECK(*backoff.AfterExit(always, 1, false, 14, absl::Seconds(1)) == absl::Milliseconds(200));
  backoff.Reset();
  CHECK(*backoff.AfterExit(always, 1, false, 0, absl::Seconds(1)) == absl::Milliseconds(100));
  // An exit that does not restart still advances the delay, as in moby.
  RestartPolicy on_failure{RestartPolicy::Kind::kOnFailure, 0};
  CHECK_FALSE(backoff.AfterExit(on_failure, 0, false, 0, absl::Seconds(1)).has_value());
  CHECK(*backoff.AfterExit(on_failure, 2, false, 0, absl::Seconds(1)) == absl::Milliseconds(400));
  CHECK_FALSE(RestartBackoff().AfterExit({}, 1, false, 0, absl::Seconds(1)).has_value());
}

}  // namespace
}  // namespace liman::engine
