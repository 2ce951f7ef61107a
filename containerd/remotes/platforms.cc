#include "containerd/remotes/platforms.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "absl/strings/str_split.h"
#include "common/ascii.h"
#include "common/status.h"

namespace liman::containerd::remotes {
namespace {

bool IsKnownArch(std::string_view arch) {
  static constexpr std::string_view kKnown[] = {"386",      "amd64",   "arm",     "arm64",  "ppc64le", "s390x",
                                                "mips64le", "riscv64", "loong64", "x86_64", "aarch64", "i386",
                                                "armhf",    "armel",   "ppc64",   "mips",   "mipsle",  "mips64"};
  return std::find(std::begin(kKnown), std::end(kKnown), arch) != std::end(kKnown);
}

// Variant number of "vN" (or "N"); -1 when there is none.
int VariantNumber(std::string_view variant) {
  if (!variant.empty() && variant.front() == 'v') variant.remove_prefix(1);
  if (variant.empty() || variant.size() > 3) return -1;
  int n = 0;
  for (char c : variant) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

// containerd's platformVector: the platform first, then what it can also run.
void AppendVector(const Platform& platform, std::vector<Platform>& out) {
  out.push_back(platform);
  auto with = [&](std::string arch, std::string variant) {
    Platform p = platform;
    p.architecture = std::move(arch);
    p.variant = std::move(variant);
    return p;
  };
  if (platform.architecture == "amd64") {
    if (int version = VariantNumber(platform.variant); version > 1) {
      for (int v = version - 1; v >= 1; --v) out.push_back(NormalizePlatform(with("amd64", fmt::format("v{}", v))));
    }
    out.push_back(with("386", ""));
  } else if (platform.architecture == "arm") {
    for (int v = VariantNumber(platform.variant) - 1; v >= 5; --v) out.push_back(with("arm", fmt::format("v{}", v)));
  } else if (platform.architecture == "arm64") {
    AppendVector(with("arm", platform.variant.empty() ? "v8" : platform.variant), out);
  }
}

bool SamePlatform(const Platform& a, const Platform& b) {
  return a.os == b.os && a.architecture == b.architecture && a.variant == b.variant;
}

}  // namespace

Platform NormalizePlatform(Platform p) {
  p.os = AsciiLower(p.os);
  if (p.os == "macos") p.os = "darwin";
  std::string arch = AsciiLower(p.architecture), variant = AsciiLower(p.variant);
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") {
      variant = "v7";
    } else if (variant == "5" || variant == "6" || variant == "8") {
      variant = "v" + variant;
    }
  }
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

Platform DefaultPlatform() {
  Platform platform{.os = "linux", .architecture = "amd64"};
  struct utsname name;
  if (uname(&name) == 0) platform.architecture = name.machine;
  std::string machine = AsciiLower(platform.architecture);
  // uname reports arm CPUs as armv6l, armv7l, armv8l…: the digit is the variant.
  if (machine.size() >= 5 && machine.substr(0, 4) == "armv" && std::isdigit(static_cast<unsigned char>(machine[4]))) {
    platform.architecture = "arm";
    platform.variant = std::string("v") + machine[4];
  }
  return NormalizePlatform(platform);
}

absl::StatusOr<Platform> ParsePlatform(std::string_view specifier) {
  auto invalid = [&](std::string_view cause) {
    return absl::InvalidArgumentError(fmt::format("parse platform {}: {}", Quote(specifier), cause));
  };
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(specifier.data(), specifier.size()), '/');
  for (const std::string& part : parts) {
    if (part.empty()) return invalid("empty component");
    if (!std::all_of(part.begin(), part.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.'; })) {
      return invalid("invalid character");
    }
  }
  Platform platform;
  switch (parts.size()) {
    case 1:
      // A bare component is an OS unless it is an architecture ("arm64" means linux/arm64).
      if (IsKnownArch(AsciiLower(parts[0]))) {
        platform.os = "linux";
        platform.architecture = parts[0];
      } else {
        platform.os = parts[0];
        platform.architecture = DefaultPlatform().architecture;
        if (AsciiLower(platform.os) == "linux") platform.variant = DefaultPlatform().variant;
      }
      break;
    case 2:
      platform.os = parts[0];
      platform.architecture = parts[1];
      break;
    case 3:
      platform.os = parts[0];
      platform.architecture = parts[1];
      platform.variant = parts[2];
      break;
    default:
      return invalid("want os[/arch[/variant]]");
  }
  return NormalizePlatform(std::move(platform));
}

std::string FormatPlatform(const Platform& p) {
  std::string text =
      fmt::format("{}/{}", p.os.empty() ? "unknown" : p.os, p.architecture.empty() ? "unknown" : p.architecture);
  if (!p.variant.empty()) text += "/" + p.variant;
  return text;
}

PlatformMatcher::PlatformMatcher(const Platform& platform) { AppendVector(NormalizePlatform(platform), accepted_); }

int PlatformMatcher::Rank(const Platform& candidate) const {
  Platform normalized = NormalizePlatform(candidate);
  for (size_t i = 0; i < accepted_.size(); ++i) {
    if (SamePlatform(accepted_[i], normalized)) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<Descriptor> SelectManifest(const Index& index, const Platform& platform) {
  PlatformMatcher matcher(platform);
  const Descriptor* best = nullptr;
  int best_rank = std::numeric_limits<int>::max();
  for (const Descriptor& desc : index.manifests) {
    // containerd's FilterPlatforms keeps entries without a platform, and LimitManifests sorts
    // them after every entry that has one.
    int rank = desc.platform ? matcher.Rank(*desc.platform) : std::numeric_limits<int>::max() - 1;
    if (rank >= 0 && rank < best_rank) {
      best = &desc;
      best_rank = rank;
    }
  }
  if (best == nullptr) {
    return absl::NotFoundError(
        fmt::format("no match for platform {} in manifest: not found", FormatPlatform(platform)));
  }
  return *best;
}

}  // namespace liman::containerd::remotes
