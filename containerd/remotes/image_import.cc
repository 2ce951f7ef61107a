// ImportArchive (image_archive.h): containerd's images/archive ImportIndex and Client.Import.
#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/status.h"
#include "containerd/archive/libarchive_handles.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/image_archive.h"
#include "containerd/remotes/reference.h"

namespace liman::containerd::remotes {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int64_t kJsonLimit = 20 << 20;  // oci-layout and manifest.json, as containerd
constexpr size_t kReadChunk = 1 << 20;

// libarchive's read callback over a ByteSource.
struct SourceContext {
  archive::ByteSource* source;
  std::unique_ptr<char[]> buffer{new char[kReadChunk]};
  absl::Status status;
};

la_ssize_t ReadSource(::archive* reader, void* opaque, const void** buffer) {
  auto* context = static_cast<SourceContext*>(opaque);
  absl::StatusOr<size_t> n = context->source->Read(context->buffer.get(), kReadChunk);
  if (!n.ok()) {
    context->status = n.status();
    archive_set_error(reader, EIO, "%s", std::string(n.status().message()).c_str());
    return -1;
  }
  *buffer = context->buffer.get();
  return static_cast<la_ssize_t>(*n);
}

// path.Clean for tar member names, relative: "./a//b/../c/" → "a/c".
std::string CleanName(std::string_view name) { return CleanAbsolutePath(name).substr(1); }

// "blobs/sha256/<hex>" → "sha256:<hex>"; "" for other names.
std::string DigestOfBlobName(const std::string& name) {
  constexpr std::string_view kPrefix = "blobs/sha256/";
  if (name.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string digest = "sha256:" + name.substr(kPrefix.size());
  return IsValidSha256Digest(digest) ? digest : std::string();
}

struct DockerEntry {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

class Importer {
 public:
  Importer(ContentStore& content, const ImportOptions& options) : content_(content), options_(options) {}

  absl::StatusOr<ImportResult> Run(archive::ByteSource& tar);

 private:
  absl::Status ReadEntries(archive::ByteSource& tar);
  absl::StatusOr<std::string> ReadSmallFile(::archive* reader, const std::string& name, int64_t size);
  absl::Status IngestFile(::archive* reader, const std::string& name, int64_t size);
  absl::StatusOr<Descriptor> WriteDockerIndex();
  absl::StatusOr<std::string> LayerMediaType(const Descriptor& layer);
  // containerd's SetChildrenLabels over what the index reaches (and is in the store).
  absl::Status LabelChildren(const Descriptor& desc, int depth);

  ContentStore& content_;
  const ImportOptions& options_;
  std::optional<std::string> layout_version_;
  std::optional<std::vector<DockerEntry>> docker_entries_;
  std::map<std::string, std::string> symlinks_;  // member → target (both cleaned)
  std::map<std::string, Descriptor> blobs_;      // member → digest and size
};

absl::StatusOr<std::string> Importer::ReadSmallFile(::archive* reader, const std::string& name, int64_t size) {
  if (size > kJsonLimit) {
    return absl::InvalidArgumentError(fmt::format("{}: {} bytes is more than the {} allowed", name, size, kJsonLimit));
  }
  std::string data(static_cast<size_t>(size), '\0');
  size_t offset = 0;
  while (offset < data.size()) {
    la_ssize_t n = archive_read_data(reader, data.data() + offset, data.size() - offset);
    if (n < 0) return absl::DataLossError(fmt::format("read {}: {}", name, archive_error_string(reader)));
    if (n == 0) return absl::DataLossError(fmt::format("read {}: archive ends early", name));
    offset += static_cast<size_t>(n);
  }
  return data;
}

absl::Status Importer::IngestFile(::archive* reader, const std::string& name, int64_t size) {
  std::string expected = DigestOfBlobName(name);
  std::string ref = "tar-" + name;
  absl::StatusOr<std::unique_ptr<ContentWriter>> writer = content_.Writer(ref, size, expected);
  if (absl::IsAlreadyExists(writer.status())) {  // a blob we have: no need to read it
    blobs_[name] = Descriptor{.digest = expected, .size = size};
    return absl::OkStatus();
  }
  if (!writer.ok()) return Annotate(writer.status(), fmt::format("ingest {}", name));
  absl::Status status = (*writer)->Truncate(0);
  std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  while (status.ok()) {
    la_ssize_t n = archive_read_data(reader, buffer.get(), kReadChunk);
    if (n < 0) status = absl::DataLossError(fmt::format("read {}: {}", name, archive_error_string(reader)));
    if (n <= 0) break;
    status = (*writer)->Write(std::string_view(buffer.get(), static_cast<size_t>(n)));
  }
  std::string digest = (*writer)->Digest();
  if (status.ok() && !expected.empty() && digest != expected) {
    status = absl::DataLossError(fmt::format("{} holds content with digest {}", name, digest));
  }
  if (status.ok()) {
    status = (*writer)->Commit(size, digest, {});
    if (absl::IsAlreadyExists(status)) status = absl::OkStatus();
  }
  if (!status.ok()) {
    AbortIngest(content_, *writer, ref);
    return Annotate(status, fmt::format("ingest {}", name));
  }
  blobs_[name] = Descriptor{.digest = digest, .size = size};
  return absl::OkStatus();
}

absl::Status Importer::ReadEntries(archive::ByteSource& tar) {
  archive::ArchiveReader reader(archive_read_new());
  if (reader == nullptr) return absl::ResourceExhaustedError("libarchive: out of memory");
  archive_read_support_format_tar(reader.get());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_zstd(reader.get());
  SourceContext context{.source = &tar};
  auto failure = [&](std::string_view what) {
    if (!context.status.ok()) return Annotate(context.status, "read image archive");
    const char* message = archive_error_string(reader.get());
    return absl::InvalidArgumentError(fmt::format("{}: {}", what, message ? message : "not a tar archive"));
  };
  if (archive_read_open(reader.get(), &context, nullptr, ReadSource, nullptr) != ARCHIVE_OK) {
    return failure("open image archive");
  }
  while (true) {
    archive_entry* entry = nullptr;
    int result = archive_read_next_header(reader.get(), &entry);
    if (result == ARCHIVE_EOF) return absl::OkStatus();
    if (result != ARCHIVE_OK && result != ARCHIVE_WARN) return failure("read image archive");
    const char* raw_name = archive_entry_pathname(entry);
    std::string name = CleanName(raw_name != nullptr ? raw_name : "");
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      size_t slash = name.rfind('/');
      std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
      symlinks_[name] = CleanName(dir + (target != nullptr ? target : ""));
      continue;
    }
    if (type != AE_IFREG || name.empty()) continue;
    int64_t size = archive_entry_size(entry);
    if (name == "oci-layout") {
      LIMAN_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(reader.get(), name, size));
      json layout = json::parse(text, nullptr, false);
      if (!layout.is_object() || !layout.contains("imageLayoutVersion") || !layout["imageLayoutVersion"].is_string()) {
        return absl::InvalidArgumentError("oci-layout: no imageLayoutVersion");
      }
      layout_version_ = layout["imageLayoutVersion"].get<std::string>();
    } else if (name == "manifest.json") {
      LIMAN_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(reader.get(), name, size));
      json entries = json::parse(text, nullptr, false);
      if (!entries.is_array()) return absl::InvalidArgumentError("manifest.json: not a JSON array");
      docker_entries_.emplace();
      for (const json& item : entries) {
        DockerEntry parsed;
        if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string()) {
          return absl::InvalidArgumentError("manifest.json: an entry without Config");
        }
        parsed.config = CleanName(item["Config"].get<std::string>());
        for (const char* key : {"RepoTags", "Layers"}) {
          if (!item.contains(key) || item[key].is_null()) continue;
          if (!item[key].is_array())
            return absl::InvalidArgumentError(fmt::format("manifest.json: {} is not an array", key));
          for (const json& value : item[key]) {
            if (!value.is_string())
              return absl::InvalidArgumentError(fmt::format("manifest.json: {} has a non-string", key));
            if (std::string_view(key) == "RepoTags") {
              parsed.repo_tags.push_back(value.get<std::string>());
            } else {
              parsed.layers.push_back(CleanName(value.get<std::string>()));
            }
          }
        }
        docker_entries_->push_back(std::move(parsed));
      }
    } else {
      LIMAN_RETURN_IF_ERROR(IngestFile(reader.get(), name, size));
    }
  }
}

absl::StatusOr<std::string> Importer::LayerMediaType(const Descriptor& layer) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, content_.ReaderAt(layer.digest));
  LIMAN_ASSIGN_OR_RETURN(std::string magic, reader->ReadAt(0, 4));
  if (magic.size() >= 2 && magic[0] == '\x1f' && magic[1] == '\x8b') return std::string(media_type::kDockerLayerGzip);
  if (magic == std::string("\x28\xb5\x2f\xfd", 4)) return std::string("application/vnd.oci.image.layer.v1.tar+zstd");
  return std::string(media_type::kDockerLayer);
}

absl::StatusOr<Descriptor> Importer::WriteDockerIndex() {
  for (const auto& [name, target] : symlinks_) {
    auto it = blobs_.find(target);
    if (it == blobs_.end()) {
      return absl::InvalidArgumentError(
          fmt::format("no target for symlink layer from {} to {}", Quote(name), Quote(target)));
    }
    blobs_[name] = it->second;
  }
  ordered_json index_manifests = ordered_json::array();
  std::vector<Descriptor> index_children;
  for (const DockerEntry& entry : *docker_entries_) {
    auto config_it = blobs_.find(entry.config);
    if (config_it == blobs_.end())
      return absl::InvalidArgumentError(fmt::format("image config {} not found", Quote(entry.config)));
    Descriptor config = config_it->second;
    config.media_type = std::string(media_type::kDockerConfig);
    std::vector<Descriptor> children = {config};
    ordered_json layers = ordered_json::array();
    for (const std::string& file : entry.layers) {
      auto layer_it = blobs_.find(file);
      if (layer_it == blobs_.end()) return absl::InvalidArgumentError(fmt::format("layer {} not found", Quote(file)));
      Descriptor layer = layer_it->second;
      LIMAN_ASSIGN_OR_RETURN(layer.media_type, LayerMediaType(layer));
      layers.push_back(DescriptorToJson(layer));
      children.push_back(layer);
    }
    ordered_json manifest;
    manifest["schemaVersion"] = 2;
    manifest["mediaType"] = media_type::kDockerManifest;
    manifest["config"] = DescriptorToJson(config);
    manifest["layers"] = layers;
    std::string bytes = manifest.dump();
    Descriptor desc{.media_type = std::string(media_type::kDockerManifest),
                    .digest = "sha256:" + Sha256Hex(bytes),
                    .size = static_cast<int64_t>(bytes.size())};
    LIMAN_RETURN_IF_ERROR(WriteBlob(content_, desc, bytes, ChildGcLabels(children)));

    LIMAN_ASSIGN_OR_RETURN(std::string config_body, ReadBlob(content_, config.digest, kJsonLimit));
    if (absl::StatusOr<ImageConfig> image = ParseImageConfig(config_body, config); image.ok() && !image->os.empty()) {
      desc.platform = Platform{.os = image->os, .architecture = image->architecture, .variant = image->variant};
    }
    if (entry.repo_tags.empty()) {
      index_manifests.push_back(DescriptorToJson(desc));
      index_children.push_back(desc);
    }
    for (const std::string& tag : entry.repo_tags) {
      LIMAN_ASSIGN_OR_RETURN(Reference ref, ParseReference(tag));
      Descriptor named = desc;
      named.annotations = {{kImageNameAnnotation, ref.String()}, {kRefNameAnnotation, ref.Object()}};
      index_manifests.push_back(DescriptorToJson(named));
      index_children.push_back(named);
    }
  }
  ordered_json index;
  index["schemaVersion"] = 2;
  index["manifests"] = index_manifests;
  std::string bytes = index.dump();
  Descriptor desc{.media_type = std::string(media_type::kOciIndex),
                  .digest = "sha256:" + Sha256Hex(bytes),
                  .size = static_cast<int64_t>(bytes.size())};
  LIMAN_RETURN_IF_ERROR(WriteBlob(content_, desc, bytes, {}));
  return desc;
}

absl::Status Importer::LabelChildren(const Descriptor& desc, int depth) {
  absl::StatusOr<std::string> body = ReadBlob(content_, desc.digest, kMaxManifestSize);
  if (absl::IsNotFound(body.status())) return absl::OkStatus();  // not in this archive (another platform)
  if (!body.ok()) return body.status();
  if (IsManifestType(desc.media_type)) {
    LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(*body, desc));
    std::vector<Descriptor> children = {manifest.config};
    children.insert(children.end(), manifest.layers.begin(), manifest.layers.end());
    return AddBlobLabels(content_, desc.digest, ChildGcLabels(children));
  }
  if (!IsIndexType(desc.media_type) || depth >= kMaxIndexDepth) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(*body, desc));
  LIMAN_RETURN_IF_ERROR(AddBlobLabels(content_, desc.digest, ChildGcLabels(index.manifests)));
  for (const Descriptor& child : index.manifests) LIMAN_RETURN_IF_ERROR(LabelChildren(child, depth + 1));
  return absl::OkStatus();
}

absl::StatusOr<ImportResult> Importer::Run(archive::ByteSource& tar) {
  LIMAN_RETURN_IF_ERROR(ReadEntries(tar));
  ImportResult result;
  if (layout_version_) {
    if (*layout_version_ != "1.0.0") {
      return absl::InvalidArgumentError(fmt::format("unsupported OCI layout version {}", Quote(*layout_version_)));
    }
    auto index = blobs_.find("index.json");
    if (index == blobs_.end()) return absl::InvalidArgumentError("missing index.json in the OCI layout");
    result.index = index->second;
    result.index.media_type = std::string(media_type::kOciIndex);
  } else if (docker_entries_) {
    LIMAN_ASSIGN_OR_RETURN(result.index, WriteDockerIndex());
  } else {
    return absl::InvalidArgumentError(
        "unrecognized image format: neither an OCI layout (oci-layout, index.json) nor a docker archive "
        "(manifest.json)");
  }

  LIMAN_ASSIGN_OR_RETURN(std::string body, ReadBlob(content_, result.index.digest, kMaxManifestSize));
  LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, result.index));
  for (const Descriptor& desc : index.manifests) {
    std::string name;
    if (auto it = desc.annotations.find(kImageNameAnnotation); it != desc.annotations.end()) {
      name = it->second;
    } else if (auto ref = desc.annotations.find(kRefNameAnnotation); ref != desc.annotations.end()) {
      name = options_.ref_name_translator ? options_.ref_name_translator(ref->second) : ref->second;
    }
    if (!name.empty()) result.images.push_back(NamedImage{.name = name, .target = desc});
  }
  LIMAN_RETURN_IF_ERROR(LabelChildren(result.index, 0));
  return result;
}

}  // namespace

absl::StatusOr<ImportResult> ImportArchive(archive::ByteSource& tar, ContentStore& content,
                                           const ImportOptions& options) {
  Importer importer(content, options);
  absl::StatusOr<ImportResult> result = importer.Run(tar);
  if (!result.ok()) return Annotate(result.status(), "import");
  return result;
}

}  // namespace liman::containerd::remotes
