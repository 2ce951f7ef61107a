// Platform specifiers ("linux/arm64/v8") and the choice of a manifest from an index, with
// containerd 1.6's platforms package semantics: names are normalized (x86_64 → amd64,
// aarch64 → arm64, arm defaults to v7) and a platform also accepts what it can run (amd64 → 386,
// arm/v7 → v6, v5; arm64 → arm/v8…v5), preferring the closest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/remotes/image_spec.h"

namespace liman::containerd::remotes {

// The host's platform: "linux" and uname(2)'s machine, normalized.
Platform DefaultPlatform();

// "os", "os/arch", "os/arch/variant" or a bare known architecture ("arm64": os is linux).
// kInvalidArgument naming the specifier.
absl::StatusOr<Platform> ParsePlatform(std::string_view specifier);

Platform NormalizePlatform(Platform platform);

// "os/arch[/variant]".
std::string FormatPlatform(const Platform& platform);

// Accepts `platform` and the platforms it can run, in order of preference.
class PlatformMatcher {
 public:
  explicit PlatformMatcher(const Platform& platform);
  // 0 for the wanted platform itself, higher for less preferred ones; -1 when not accepted.
  int Rank(const Platform& candidate) const;
  bool Match(const Platform& candidate) const { return Rank(candidate) >= 0; }

 private:
  std::vector<Platform> accepted_;  // normalized, best first
};

// The manifest of `index` for `platform` (best rank; the first in index order among equals).
// Entries without a platform are never chosen. kNotFound: "no match for platform in manifest".
absl::StatusOr<Descriptor> SelectManifest(const Index& index, const Platform& platform);

}  // namespace liman::containerd::remotes
