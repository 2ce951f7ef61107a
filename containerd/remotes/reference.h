// Image references as Docker and containerd spell them: `busybox` is docker.io/library/busybox:latest,
// `127.0.0.1:5000/x/y:tag` names a private registry, `name@sha256:<hex>` pins a digest. Parsing
// follows distribution's reference grammar and containerd's ParseDockerRef normalization.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace liman::containerd::remotes {

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000", "[::1]:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when the reference is pinned by digest
  std::string digest;  // "sha256:<64 hex>" or empty

  // domain/path: "docker.io/library/busybox".
  std::string Name() const;
  // The full normalized reference: Name() then ":tag" or "@digest".
  std::string String() const;
  // What /v2/<path>/manifests/<object> takes: the digest when pinned, else the tag.
  std::string Object() const;
  // The host[:port] to contact: docker.io is served by registry-1.docker.io.
  std::string RegistryHost() const;
  // The domain without its port (and without IPv6 brackets): what containerd keys
  // distribution-source labels with.
  std::string Hostname() const;
};

// The short form Docker shows: "busybox:latest" for docker.io/library/busybox:latest,
// "user/app:v1" for docker.io/user/app:v1, other registries in full.
std::string FamiliarString(const Reference& ref);

// Parses and normalizes like containerd's ParseDockerRef: a missing domain is docker.io (with
// "library/" for one-component names), index.docker.io is docker.io, a missing tag and digest
// is ":latest", and a reference with both tag and digest keeps only the digest.
// kInvalidArgument naming `ref` and the rule it breaks.
absl::StatusOr<Reference> ParseReference(std::string_view ref);

// "sha256:" followed by 64 lower-case hex digits (the only algorithm Liman verifies).
bool IsValidSha256Digest(std::string_view digest);

}  // namespace liman::containerd::remotes
