#include <catch2/catch.hpp>

#include "common/status.h"

using liman::Annotate;
using liman::ErrnoError;
using liman::StatusErrno;

TEST_CASE("ErrnoError words the error like Go tools and keeps the errno") {
  absl::Status status = ErrnoError(ENOENT, "open \"/x/config.json\"");
  CHECK(status.message() == "open \"/x/config.json\": no such file or directory");
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(StatusErrno(status) == ENOENT);
}

TEST_CASE("Annotate prefixes context and keeps the errno") {
  absl::Status status = Annotate(ErrnoError(EACCES, "mount \"proc\""), "create container \"a\"");
  CHECK(status.message() == "create container \"a\": mount \"proc\": permission denied");
  CHECK(StatusErrno(status) == EACCES);
  CHECK(Annotate(absl::OkStatus(), "x").ok());
}

TEST_CASE("Quote escapes quotes and backslashes") {
  CHECK(liman::Quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
}

TEST_CASE("LIMAN_ASSIGN_OR_RETURN passes values and returns errors") {
  auto half = [](int v) -> absl::StatusOr<int> {
    if (v % 2) return absl::InvalidArgumentError("odd");
    return v / 2;
  };
  auto quarter = [&](int v) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(int h, half(v));
    LIMAN_ASSIGN_OR_RETURN(int q, half(h));
    return q;
  };
  CHECK(*quarter(8) == 2);
  CHECK(quarter(6).status().message() == "odd");
}
