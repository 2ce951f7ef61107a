// Image archives, as `ctr images import` / `ctr images export` (containerd's images/archive)
// read and write them: an OCI image layout in a tar (oci-layout, index.json, blobs/sha256/<hex>),
// and for import also `docker save` archives (manifest.json with Config/RepoTags/Layers).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/archive/byte_source.h"
#include "containerd/core/content.h"
#include "containerd/remotes/image_spec.h"

namespace liman::containerd::remotes {

// Annotations naming an image in an index (containerd's and OCI's).
inline constexpr char kImageNameAnnotation[] = "io.containerd.image.name";
inline constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

struct NamedImage {
  std::string name;  // "docker.io/library/busybox:latest"
  Descriptor target;
};

struct ImportOptions {
  // Turns an org.opencontainers.image.ref.name annotation (OCI: often just a tag) into an image
  // name; "" skips the entry. Unset: the annotation is used as it is. (io.containerd.image.name
  // always wins.)
  std::function<std::string(const std::string& ref_name)> ref_name_translator;
};

struct ImportResult {
  // The archive's index: index.json of an OCI layout, or an OCI index written for a docker
  // archive (one docker schema 2 manifest per manifest.json entry and repo tag).
  Descriptor index;
  // The index's named entries, in index order (containerd's Import naming).
  std::vector<NamedImage> images;
};

// Reads an uncompressed, gzip or zstd tar stream, storing every file in it as a blob (files
// named blobs/sha256/<hex> must match their name), and labels what the index reaches with
// containerd's GC labels. Unpacking is the caller's (UnpackImage). kInvalidArgument for an
// archive that is neither format, naming what is missing.
absl::StatusOr<ImportResult> ImportArchive(archive::ByteSource& tar, ContentStore& content,
                                           const ImportOptions& options);

struct ExportOptions {
  // Manifests of indexes kept: those for this platform (and those without platform); unset:
  // every platform.
  std::optional<Platform> platform;
  // No docker-compatible manifest.json (for `docker load`).
  bool skip_docker_manifest = false;
};

// Writes an OCI layout tar of `images` to `sink`: index.json lists each target annotated with
// its name, blobs/sha256 holds everything they reach (filtered by platform), and manifest.json
// maps each image's (platform) manifest to docker's form with familiar repo tags. Entries are
// sorted by name as containerd writes them. Blobs are streamed from the store and re-verified.
absl::Status ExportArchive(const std::vector<NamedImage>& images, ContentStore& content, const ExportOptions& options,
                           const std::function<absl::Status(std::string_view)>& sink);

}  // namespace liman::containerd::remotes
