// Walking an image's content the way containerd's client does (images.Manifest, Image.Size,
// images.Platforms): index -> the manifest for a platform -> config and layers. The blobs come
// from a BlobReader (the content service; a map in tests).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::ctr {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
};

// The platform containerd's platforms.Default() means on this host (linux/amd64, linux/arm64/v8…).
Platform HostPlatform();
// platforms.Format: "os/arch[/variant]" ("unknown" for an empty os).
std::string FormatPlatform(const Platform& platform);
// platforms.Parse for "os[/arch[/variant]]" and "arch" alone; kInvalidArgument otherwise.
absl::StatusOr<Platform> ParsePlatform(const std::string& text);
// The platform matcher containerd 1.6 uses: same os and architecture (amd64/x86_64,
// arm64/aarch64 normalized), variant only when both name one.
bool PlatformMatches(const Platform& want, const Platform& have);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  bool has_platform = false;
  Platform platform;
};

// Reads a whole blob by digest.
using BlobReader = std::function<absl::StatusOr<std::string>(const std::string& digest)>;

struct ResolvedImage {
  Descriptor manifest;
  Descriptor config;
  std::vector<Descriptor> layers;
};

bool IsIndexType(const std::string& media_type);
bool IsManifestType(const std::string& media_type);

// The manifest for `platform` under `target` (an index or a manifest), with its config and layers.
// kNotFound when no manifest matches.
absl::StatusOr<ResolvedImage> ResolveImage(const BlobReader& read, const Descriptor& target,
                                           const Platform& platform);
// Image.Size: target + the best matching manifest + its config and layers.
absl::StatusOr<int64_t> ImageSize(const BlobReader& read, const Descriptor& target, const Platform& platform);
// images.Platforms, formatted, sorted, without duplicates.
absl::StatusOr<std::vector<std::string>> ImagePlatforms(const BlobReader& read, const Descriptor& target);

}  // namespace liman::ctr
