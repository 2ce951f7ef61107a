#include <catch2/catch.hpp>
#include <string>

#include "containerd/events/identifiers.h"

using liman::containerd::events::ValidateIdentifier;
using liman::containerd::events::ValidateTopic;

TEST_CASE("identifiers follow containerd's rules", "[identifiers]") {
  for (const char* good : {"a", "default", "k8s.io", "moby", "a-b_c.d", "A1", "0"})
    CHECK(ValidateIdentifier(good).ok());
  for (const char* bad : {"", "-a", "a-", "a..b", "a b", "a/b", "ä", "."}) {
    absl::Status status = ValidateIdentifier(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(ValidateIdentifier(std::string(76, 'a')).ok());
  absl::Status too_long = ValidateIdentifier(std::string(77, 'a'));
  CHECK(too_long.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(too_long.message()).find("maximum length (76 characters)") != std::string::npos);
}

TEST_CASE("topics are slash-separated identifiers", "[identifiers]") {
  for (const char* good : {"/tasks/exit", "/tasks/exec-added", "/containers/create", "/a"})
    CHECK(ValidateTopic(good).ok());
  for (const char* bad : {"", "tasks/exit", "/", "/tasks/", "//exit", "/tasks/ex it"}) {
    absl::Status status = ValidateTopic(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(std::string(ValidateTopic("tasks").message()) == "envelope topic \"tasks\": must start with '/'");
}
