#include "engine/daemon/health_check.h"

#include <catch2/catch.hpp>

namespace liman::engine {
namespace {

using nlohmann::json;

constexpr int64_t kSecond = 1000000000;

TEST_CASE("healthcheck config: CMD, CMD-SHELL through the config's shell, NONE, moby's defaults") {
  auto parsed = ParseHealthConfig(json{{"Healthcheck", {{"Test", {"CMD", "cat", "/ok"}}, {"Interval", 2 * kSecond}, {"Retries", 5}}}});
  REQUIRE(parsed);
  CHECK(parsed->command == std::vector<std::string>{"cat", "/ok"});
  CHECK(parsed->interval == absl::Seconds(2));
  CHECK(parsed->timeout == absl::Seconds(30));
  CHECK(parsed->start_period == absl::ZeroDuration());
  CHECK(parsed->retries == 5);
  parsed = ParseHealthConfig(json{{"Healthcheck", {{"Test", {"CMD-SHELL", "test -e /ok || exit 1"}}}}});
  REQUIRE(parsed);
  CHECK(parsed->command == std::vector<std::string>{"/bin/sh", "-c", "test -e /ok || exit 1"});
  CHECK(parsed->retries == 3);
  parsed = ParseHealthConfig(json{{"Shell", {"/bin/bash", "-ec"}}, {"Healthcheck", {{"Test", {"CMD-SHELL", "true"}}}}});
  REQUIRE(parsed);
  CHECK(parsed->command == std::vector<std::string>{"/bin/bash", "-ec", "true"});
  CHECK_FALSE(ParseHealthConfig(json{{"Healthcheck", {{"Test", {"NONE"}}}}}));
  CHECK_FALSE(ParseHealthConfig(json{{"Healthcheck", {{"Test", json::array()}}}}));
  CHECK_FALSE(ParseHealthConfig(json{{"Healthcheck", {{"Test", {"BOGUS", "x"}}}}}));
  CHECK_FALSE(ParseHealthConfig(json{{"Cmd", {"sh"}}}));
}

TEST_CASE("healthcheck merge: the image's under the container's, as moby merges at create") {
  json image = {{"Test", {"CMD", "img"}}, {"Interval", 5 * kSecond}, {"Retries", 2}};
  json none = json::object();
  MergeHealthcheck(image, none);
  CHECK(none["Healthcheck"] == image);
  json own = {{"Healthcheck", {{"Test", {"CMD", "mine"}}}}};
  MergeHealthcheck(image, own);
  CHECK(own["Healthcheck"] == json{{"Test", {"CMD", "mine"}}});
  json intervals_only = {{"Healthcheck", {{"Interval", kSecond}}}};
  MergeHealthcheck(image, intervals_only);
  CHECK(intervals_only["Healthcheck"] == json{{"Test", {"CMD", "img"}}, {"Interval", kSecond}, {"Retries", 2}});
  json disabled = {{"Healthcheck", {{"Test", {"NONE"}}}}};
  MergeHealthcheck(image, disabled);
  CHECK_FALSE(ParseHealthConfig(disabled));
}

TEST_CASE("probe results: healthy at once, unhealthy after the retries, the start period, five log entries") {
  HealthConfig config;
  config.retries = 2;
  config.start_period = absl::Seconds(10);
  absl::Time started = absl::FromUnixSeconds(1000);
  auto probe = [&](absl::Duration after, int64_t code) {
    return ProbeResult{.start = started + after, .end = started + after + absl::Milliseconds(5), .exit_code = code,
                       .output = "out"};
  };
  json health = StartingHealth(json());
  CHECK(HealthSuffix(json{{"Health", health}}) == "health: starting");
  // Failures within the start period do not count.
  CHECK_FALSE(RecordProbe(health, config, probe(absl::Seconds(1), 1), started));
  CHECK_FALSE(RecordProbe(health, config, probe(absl::Seconds(2), 1), started));
  CHECK(health["FailingStreak"] == 0);
  CHECK(health["Status"] == "starting");
  // After it they do: unhealthy at the second.
  CHECK_FALSE(RecordProbe(health, config, probe(absl::Seconds(11), 1), started));
  CHECK(health["FailingStreak"] == 1);
  CHECK(RecordProbe(health, config, probe(absl::Seconds(12), 1), started) == std::optional<std::string>("unhealthy"));
  CHECK(RecordProbe(health, config, probe(absl::Seconds(13), 0), started) == std::optional<std::string>("healthy"));
  CHECK(health["FailingStreak"] == 0);
  CHECK(HealthSuffix(json{{"Health", health}}) == "healthy");
  CHECK(health["Log"].size() == kMaxHealthLog);
  CHECK(health["Log"].back()["ExitCode"] == 0);
  CHECK(health["Log"].back()["Output"] == "out");
  // A failure after being healthy counts even within the start period; one is not enough here.
  CHECK_FALSE(RecordProbe(health, config, probe(absl::Seconds(14), -1), started));
  CHECK(health["Status"] == "healthy");
  // A new run starts over but keeps the log.
  json restarted = StartingHealth(health);
  CHECK(restarted["Status"] == "starting");
  CHECK(restarted["FailingStreak"] == 0);
  CHECK(restarted["Log"].size() == kMaxHealthLog);
  CHECK(HealthSuffix(json{{"Status", "running"}}).empty());
}

}  // namespace
}  // namespace liman::engine
