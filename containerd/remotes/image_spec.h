// The OCI image-spec and Docker schema 2 documents a pull walks: descriptors, indexes (manifest
// lists), manifests and image configs, plus the media types that tell them apart and the
// garbage-collection labels containerd links them with.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"

namespace liman::containerd::remotes {

namespace media_type {
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayerPrefix = "application/vnd.oci.image.layer.";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerSchema1Manifest = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1SignedManifest =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar";
inline constexpr std::string_view kDockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media_type

// Largest manifest or index accepted (containerd's limit).
inline constexpr int64_t kMaxManifestSize = 4 << 20;
// Nested indexes followed before giving up (an index naming itself would otherwise never end).
inline constexpr int kMaxIndexDepth = 4;
// containerd.io/distribution.source.<host>: the repositories of <host> a blob came from,
// comma-separated (containerd's appendDistributionSourceLabel).
inline constexpr char kDistributionSourcePrefix[] = "containerd.io/distribution.source.";

bool IsIndexType(std::string_view media_type);
bool IsManifestType(std::string_view media_type);  // schema 2 / OCI (not schema 1)
bool IsSchema1Type(std::string_view media_type);
bool IsConfigType(std::string_view media_type);
bool IsLayerType(std::string_view media_type);

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Index {
  std::vector<Descriptor> manifests;
};

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

// The parts of an image config a pull needs.
struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string variant;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, bottom layer first
};

// A descriptor as JSON with Go's field order (mediaType, digest, size, urls, annotations,
// platform), so that documents we write hash like the ones containerd writes.
nlohmann::ordered_json DescriptorToJson(const Descriptor& desc);

// Parse documents fetched as `desc` (its media type must be an index / manifest). A document
// whose own "mediaType" contradicts the descriptor's is refused, as containerd does.
// kInvalidArgument naming the digest on malformed JSON or invalid descriptors.
absl::StatusOr<Index> ParseIndex(std::string_view json, const Descriptor& desc);
absl::StatusOr<Manifest> ParseManifest(std::string_view json, const Descriptor& desc);
absl::StatusOr<ImageConfig> ParseImageConfig(std::string_view json, const Descriptor& desc);

// The media type of a manifest document served without a useful Content-Type: its
// "mediaType" field, else guessed from its shape ("manifests" → OCI index, "config" → OCI
// manifest, schemaVersion 1 → Docker schema 1). Empty when unrecognizable.
std::string DetectManifestMediaType(std::string_view json);

// containerd's GC reference labels for a parent's children (images.ChildGCLabels with
// SetChildrenMappedLabels' numbering): config → "containerd.io/gc.ref.content.config",
// manifests → "containerd.io/gc.ref.content.m.<i>", layers → "containerd.io/gc.ref.content.l.<i>",
// anything else "containerd.io/gc.ref.content.<i>"; values are the children's digests.
Labels ChildGcLabels(const std::vector<Descriptor>& children);

// Descriptor annotations starting with "containerd.io/snapshot/" (containerd passes these on
// to the snapshot a layer is unpacked into).
Labels InheritedSnapshotLabels(const Descriptor& layer);

}  // namespace liman::containerd::remotes
