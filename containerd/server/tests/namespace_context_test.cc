#include "containerd/server/namespace_context.h"

#include <string>

#include <catch2/catch.hpp>

namespace liman::containerd::server {
namespace {

TEST_CASE("ValidateNamespaceName accepts containerd's identifiers", "[namespace]") {
  for (const char* name : {"default", "k8s.io", "moby", "a", "A-b_c.d", "x1-2-3", "0"}) {
    INFO(name);
    CHECK(ValidateNamespaceName(name).ok());
  }
  CHECK(ValidateNamespaceName(std::string(76, 'a')).ok());
}

TEST_CASE("ValidateNamespaceName rejects what containerd rejects", "[namespace]") {
  for (const char* name : {"", "-a", "a-", "a..b", "a._b", "with space", "a/b", "ümlaut", ".", "a\n"}) {
    INFO(name);
    absl::Status status = ValidateNamespaceName(name);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }
  absl::Status too_long = ValidateNamespaceName(std::string(77, 'a'));
  CHECK(too_long.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(too_long.message()), Catch::Contains("greater than maximum length (76 characters)"));
  CHECK(ValidateNamespaceName("a/b").message() ==
        "namespace validation: identifier \"a/b\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");
}

}  // namespace
}  // namespace liman::containerd::server
