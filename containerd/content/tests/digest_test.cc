#include "containerd/content/digest.h"

#include <catch2/catch.hpp>
#include <vector>

#include "containerd/content/ingest_record.h"

using namespace liman::containerd::content;

TEST_CASE("ValidateDigest accepts sha256 with 64 lowercase hex digits only") {
  const std::string hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  CHECK(ValidateDigest("sha256:" + hex).ok());
  CHECK(DigestHex("sha256:" + hex) == hex);
  for (std::string bad : std::vector<std::string>{"", "sha256:", hex, "sha512:" + hex, "sha256:" + hex.substr(2),
                          "sha256:" + hex + "aa", "sha256:E3" + hex.substr(2), "sha256:/" + hex.substr(1)}) {
    absl::Status status = ValidateDigest(bad);
    INFO(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(status.message()).find("invalid digest \"" + bad + "\"") == 0);
  }
  CHECK(ValidateDigest("md5:abc").message() == "invalid digest \"md5:abc\": unsupported digest algorithm \"md5\"");
}

TEST_CASE("Sha256Digester streams and can be read at any point") {
  Sha256Digester digester;
  CHECK(digester.Digest() == Sha256Digest(""));
  CHECK(Sha256Digest("") == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  digester.Update("hello ");
  CHECK(digester.Digest() == Sha256Digest("hello "));
  digester.Update("world");
  CHECK(digester.Digest() == Sha256Digest("hello world"));
  digester.Reset();
  CHECK(digester.Digest() == Sha256Digest(""));
}

TEST_CASE("ingest timestamps are RFC 3339 with nanoseconds, as Go writes them") {
  absl::Time time = absl::FromUnixNanos(1700000000123456789);
  CHECK(FormatTimestamp(time) == "2023-11-14T22:13:20.123456789Z");
  CHECK(*ParseTimestamp(FormatTimestamp(time)) == time);
  CHECK(*ParseTimestamp("2023-11-14T23:13:20.123456789+01:00") == time);
  CHECK(*ParseTimestamp("2023-11-14T22:13:20Z") == absl::FromUnixSeconds(1700000000));
  CHECK(ParseTimestamp("yesterday").status().code() == absl::StatusCode::kDataLoss);
}
