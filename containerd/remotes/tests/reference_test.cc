#include "containerd/remotes/reference.h"

#include <catch2/catch.hpp>

namespace liman::containerd::remotes {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

std::string Normalize(std::string_view ref) {
  absl::StatusOr<Reference> parsed = ParseReference(ref);
  REQUIRE(parsed.ok());
  return parsed->String();
}

std::string ErrorOf(std::string_view ref) {
  absl::StatusOr<Reference> parsed = ParseReference(ref);
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST_CASE("references normalize like docker pull") {
  CHECK(Normalize("busybox") == "docker.io/library/busybox:latest");
  CHECK(Normalize("busybox:1.36") == "docker.io/library/busybox:1.36");
  CHECK(Normalize("library/busybox") == "docker.io/library/busybox:latest");
  CHECK(Normalize("docker.io/busybox") == "docker.io/library/busybox:latest");
  CHECK(Normalize("index.docker.io/library/busybox:x") == "docker.io/library/busybox:x");
  CHECK(Normalize("user/app") == "docker.io/user/app:latest");
  CHECK(Normalize("127.0.0.1:5000/x/y:tag") == "127.0.0.1:5000/x/y:tag");
  CHECK(Normalize("localhost/app") == "localhost/app:latest");
  CHECK(Normalize("localhost:5000/app") == "localhost:5000/app:latest");
  CHECK(Normalize("quay.io/a/b/c") == "quay.io/a/b/c:latest");
  CHECK(Normalize("[::1]:5000/app:v1") == "[::1]:5000/app:v1");
  // A one-component name with a "port" is a tag on Docker Hub, as in Docker.
  CHECK(Normalize("localhost:5000") == "docker.io/library/localhost:5000");
  CHECK(Normalize("a__b-c---d/e_f.g") == "docker.io/a__b-c---d/e_f.g:latest");
}

TEST_CASE("digests pin a reference and win over a tag") {
  CHECK(Normalize("busybox@" + kDigest) == "docker.io/library/busybox@" + kDigest);
  CHECK(Normalize("busybox:1.36@" + kDigest) == "docker.io/library/busybox@" + kDigest);
  absl::StatusOr<Reference> ref = ParseReference("127.0.0.1:5000/x@" + kDigest);
  REQUIRE(ref.ok());
  CHECK(ref->domain == "127.0.0.1:5000");
  CHECK(ref->path == "x");
  CHECK(ref->tag.empty());
  CHECK(ref->digest == kDigest);
  CHECK(ref->Object() == kDigest);
}

TEST_CASE("reference parts, registry host and hostname") {
  absl::StatusOr<Reference> hub = ParseReference("busybox");
  REQUIRE(hub.ok());
  CHECK(hub->RegistryHost() == "registry-1.docker.io");
  CHECK(hub->Hostname() == "docker.io");
  CHECK(hub->Object() == "latest");
  CHECK(hub->Name() == "docker.io/library/busybox");

  absl::StatusOr<Reference> local = ParseReference("127.0.0.1:5000/x/y:tag");
  REQUIRE(local.ok());
  CHECK(local->RegistryHost() == "127.0.0.1:5000");
  CHECK(local->Hostname() == "127.0.0.1");
  CHECK(local->path == "x/y");
  CHECK(local->tag == "tag");

  absl::StatusOr<Reference> v6 = ParseReference("[::1]:5000/app");
  REQUIRE(v6.ok());
  CHECK(v6->Hostname() == "::1");
  CHECK(v6->RegistryHost() == "[::1]:5000");
}

TEST_CASE("invalid references are refused with the reference and the rule") {
  CHECK_THAT(ErrorOf("Busybox"), Catch::Contains("\"Busybox\"") && Catch::Contains("must be lowercase"));
  CHECK_THAT(ErrorOf("example.com/Foo/bar"), Catch::Contains("must be lowercase"));
  CHECK_THAT(ErrorOf(""), Catch::Contains("at least one component"));
  CHECK_THAT(ErrorOf(std::string(64, 'a')), Catch::Contains("64-byte hexadecimal"));
  CHECK_THAT(ErrorOf("busybox:"), Catch::Contains("invalid tag"));
  CHECK_THAT(ErrorOf("busybox:-x"), Catch::Contains("invalid tag"));
  CHECK_THAT(ErrorOf("busybox:" + std::string(129, 'a')), Catch::Contains("invalid tag"));
  CHECK_THAT(ErrorOf("busybox@sha256:abc"), Catch::Contains("invalid digest"));
  CHECK_THAT(ErrorOf("busybox@sha256:" + std::string(64, 'A')), Catch::Contains("invalid checksum"));
  CHECK_THAT(ErrorOf("busybox@sha512:" + std::string(128, 'a')), Catch::Contains("unsupported digest"));
  CHECK_THAT(ErrorOf("a//b"), Catch::Contains("invalid repository name"));
  CHECK_THAT(ErrorOf("a/b/"), Catch::Contains("invalid repository name"));
  CHECK_THAT(ErrorOf("-a/b"), Catch::Contains("invalid repository name"));
  CHECK_THAT(ErrorOf("a..b"), Catch::Contains("invalid repository name"));
  CHECK_THAT(ErrorOf("a___b"), Catch::Contains("invalid repository name"));
  CHECK_THAT(ErrorOf("exa_mple.com:5000/x"), Catch::Contains("invalid registry domain"));
  CHECK_THAT(ErrorOf("example.com:port/x"), Catch::Contains("invalid registry domain"));
  CHECK_THAT(ErrorOf("x y"), Catch::Contains("invalid"));
  CHECK_THAT(ErrorOf("example.com/" + std::string(250, 'a')), Catch::Contains("not be more than 255"));
}

TEST_CASE("sha256 digest validation") {
  CHECK(IsValidSha256Digest(kDigest));
  CHECK_FALSE(IsValidSha256Digest("sha256:" + std::string(63, 'a')));
  CHECK_FALSE(IsValidSha256Digest("sha256:" + std::string(64, 'g')));
  CHECK_FALSE(IsValidSha256Digest("sha512:" + std::string(64, 'a')));
  CHECK_FALSE(IsValidSha256Digest(""));
}

}  // namespace
}  // namespace liman::containerd::remotes
