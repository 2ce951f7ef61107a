// ExportArchive (image_archive.h): containerd's images/archive Export.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <map>
#include <memory>

#include "common/status.h"
#include "containerd/archive/digester.h"
#include "containerd/archive/libarchive_handles.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/image_archive.h"
#include "containerd/remotes/platforms.h"
#include "containerd/remotes/reference.h"

namespace liman::containerd::remotes {
namespace {

using nlohmann::ordered_json;

constexpr int64_t kCopyChunk = 1 << 20;

// One tar member: a directory, in-memory bytes, or a blob streamed from the store.
struct Record {
  enum class Kind { kDir, kBytes, kBlob } kind = Kind::kBytes;
  int mode = 0444;
  std::string bytes;
  Descriptor blob;
};

std::string BlobName(const std::string& digest) { return "blobs/sha256/" + digest.substr(7); }

struct SinkContext {
  const std::function<absl::Status(std::string_view)>* sink;
  absl::Status status;
};

la_ssize_t WriteSink(::archive* writer, void* opaque, const void* data, size_t size) {
  auto* context = static_cast<SinkContext*>(opaque);
  context->status = (*context->sink)(std::string_view(static_cast<const char*>(data), size));
  if (!context->status.ok()) {
    archive_set_error(writer, EIO, "%s", std::string(context->status.message()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(size);
}

class Exporter {
 public:
  Exporter(ContentStore& content, const ExportOptions& options) : content_(content), options_(options) {}

  absl::Status Run(const std::vector<NamedImage>& images, const std::function<absl::Status(std::string_view)>& sink);

 private:
  // Records for `desc` and everything it reaches (all platforms below an index).
  absl::Status AddTree(const Descriptor& desc, int depth);
  absl::Status AddImage(const NamedImage& image);
  absl::StatusOr<std::string> DockerManifests();
  absl::Status WriteTar(const std::function<absl::Status(std::string_view)>& sink);

  ContentStore& content_;
  const ExportOptions& options_;
  std::map<std::string, Record> records_;  // sorted by name, one per name (as containerd writes)
  std::vector<Descriptor> index_manifests_;
  // Docker's manifest.json: manifests in first-seen order with their names.
  std::vector<std::pair<Descriptor, std::vector<std::string>>> docker_manifests_;
};

absl::Status Exporter::AddTree(const Descriptor& desc, int depth) {
  if (!IsValidSha256Digest(desc.digest))
    return absl::InvalidArgumentError(fmt::format("invalid digest {}", Quote(desc.digest)));
  records_[BlobName(desc.digest)] = Record{.kind = Record::Kind::kBlob, .blob = desc};
  if (IsManifestType(desc.media_type)) {
    LIMAN_ASSIGN_OR_RETURN(std::string body, ReadBlob(content_, desc.digest, kMaxManifestSize));
    LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(body, desc));
    LIMAN_RETURN_IF_ERROR(AddTree(manifest.config, depth + 1));
    for (const Descriptor& layer : manifest.layers) LIMAN_RETURN_IF_ERROR(AddTree(layer, depth + 1));
  } else if (IsIndexType(desc.media_type)) {
    if (depth >= kMaxIndexDepth)
      return absl::InvalidArgumentError(fmt::format("{}: indexes nested too deep", desc.digest));
    LIMAN_ASSIGN_OR_RETURN(std::string body, ReadBlob(content_, desc.digest, kMaxManifestSize));
    LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, desc));
    for (const Descriptor& child : index.manifests) LIMAN_RETURN_IF_ERROR(AddTree(child, depth + 1));
  }
  return absl::OkStatus();
}

absl::Status Exporter::AddImage(const NamedImage& image) {
  LIMAN_ASSIGN_OR_RETURN(Reference ref, ParseReference(image.name));
  Descriptor desc = image.target;
  desc.annotations[kImageNameAnnotation] = image.name;
  desc.annotations[kRefNameAnnotation] = ref.Object();
  index_manifests_.push_back(desc);

  auto add_docker_name = [&](const Descriptor& manifest) {
    if (options_.skip_docker_manifest) return;
    for (auto& [known, names] : docker_manifests_) {
      if (known.digest == manifest.digest) {
        names.push_back(image.name);
        return;
      }
    }
    docker_manifests_.push_back({manifest, {image.name}});
  };

  if (IsManifestType(desc.media_type)) {
    LIMAN_RETURN_IF_ERROR(AddTree(desc, 0));
    add_docker_name(desc);
    return absl::OkStatus();
  }
  if (!IsIndexType(desc.media_type)) {
    return absl::InvalidArgumentError(fmt::format("image {}: only manifests and indexes may be exported, not {}",
                                                  image.name, Quote(desc.media_type)));
  }
  records_[BlobName(desc.digest)] = Record{.kind = Record::Kind::kBlob, .blob = desc};
  LIMAN_ASSIGN_OR_RETURN(std::string body, ReadBlob(content_, desc.digest, kMaxManifestSize));
  LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, desc));
  std::vector<Descriptor> matching;
  for (const Descriptor& child : index.manifests) {
    if (options_.platform) {
      if (child.platform && !PlatformMatcher(*options_.platform).Match(*child.platform)) continue;
      matching.push_back(child);
    }
    LIMAN_RETURN_IF_ERROR(AddTree(child, 1));
  }
  if (!options_.platform) return absl::OkStatus();  // all platforms: no single docker manifest
  absl::StatusOr<Descriptor> chosen = SelectManifest(Index{.manifests = matching}, *options_.platform);
  if (!chosen.ok()) {
    return absl::NotFoundError(
        fmt::format("image {}: no manifest for platform {}", image.name, FormatPlatform(*options_.platform)));
  }
  if (IsManifestType(chosen->media_type)) add_docker_name(*chosen);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Exporter::DockerManifests() {
  ordered_json entries = ordered_json::array();
  for (const auto& [desc, names] : docker_manifests_) {
    LIMAN_ASSIGN_OR_RETURN(std::string body, ReadBlob(content_, desc.digest, kMaxManifestSize));
    LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(body, desc));
    ordered_json entry;
    entry["Config"] = BlobName(manifest.config.digest);
    ordered_json tags = ordered_json::array();
    for (const std::string& name : names) {
      LIMAN_ASSIGN_OR_RETURN(Reference ref, ParseReference(name));
      tags.push_back(FamiliarString(ref));
    }
    entry["RepoTags"] = tags;
    ordered_json layers = ordered_json::array();
    for (const Descriptor& layer : manifest.layers) layers.push_back(BlobName(layer.digest));
    entry["Layers"] = layers;
    entries.push_back(entry);
  }
  return entries.dump();
}

absl::Status Exporter::WriteTar(const std::function<absl::Status(std::string_view)>& sink) {
  archive::ArchiveWriter writer(archive_write_new());
  if (writer == nullptr) return absl::ResourceExhaustedError("libarchive: out of memory");
  SinkContext context{.sink = &sink};
  auto failure = [&](std::string_view what) {
    if (!context.status.ok()) return context.status;
    const char* message = archive_error_string(writer.get());
    return absl::InternalError(fmt::format("{}: {}", what, message ? message : "libarchive error"));
  };
  archive_write_set_format_pax_restricted(writer.get());   // ustar, pax headers only when needed
  archive_write_set_bytes_in_last_block(writer.get(), 1);  // no padding beyond the end blocks
  if (archive_write_open(writer.get(), &context, nullptr, WriteSink, nullptr) != ARCHIVE_OK) return failure("open tar");

  std::unique_ptr<char[]> buffer;
  for (const auto& [name, record] : records_) {
    archive::ArchiveEntry entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_perm(entry.get(), static_cast<mode_t>(record.mode));
    archive_entry_set_mtime(entry.get(), 0, 0);
    if (record.kind == Record::Kind::kDir) {
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
    } else {
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_size(entry.get(), record.kind == Record::Kind::kBytes
                                              ? static_cast<la_int64_t>(record.bytes.size())
                                              : static_cast<la_int64_t>(record.blob.size));
    }
    if (archive_write_header(writer.get(), entry.get()) != ARCHIVE_OK) return failure(fmt::format("write {}", name));
    if (record.kind == Record::Kind::kBytes) {
      if (archive_write_data(writer.get(), record.bytes.data(), record.bytes.size()) < 0) {
        return failure(fmt::format("write {}", name));
      }
    } else if (record.kind == Record::Kind::kBlob) {
      // Streamed from the store and hashed again: the archive gets exactly the blob.
      LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, content_.ReaderAt(record.blob.digest));
      if (reader->Size() != record.blob.size) {
        return absl::DataLossError(fmt::format("export {}: the store has {} bytes, the descriptor says {}",
                                               record.blob.digest, reader->Size(), record.blob.size));
      }
      archive::Sha256Digester digester;
      for (int64_t offset = 0; offset < reader->Size();) {
        LIMAN_ASSIGN_OR_RETURN(std::string chunk,
                               reader->ReadAt(offset, std::min(kCopyChunk, reader->Size() - offset)));
        if (chunk.empty()) return absl::DataLossError(fmt::format("export {}: blob ended early", record.blob.digest));
        digester.Update(chunk);
        if (archive_write_data(writer.get(), chunk.data(), chunk.size()) < 0)
          return failure(fmt::format("write {}", name));
        offset += static_cast<int64_t>(chunk.size());
      }
      if (digester.Digest() != record.blob.digest) {
        return absl::DataLossError(
            fmt::format("export {}: the store holds content with digest {}", record.blob.digest, digester.Digest()));
      }
    }
  }
  if (archive_write_close(writer.get()) != ARCHIVE_OK) return failure("close tar");
  return absl::OkStatus();
}

absl::Status Exporter::Run(const std::vector<NamedImage>& images,
                           const std::function<absl::Status(std::string_view)>& sink) {
  for (const NamedImage& image : images) LIMAN_RETURN_IF_ERROR(AddImage(image));
  records_["blobs/"] = Record{.kind = Record::Kind::kDir, .mode = 0755};
  records_["blobs/sha256/"] = Record{.kind = Record::Kind::kDir, .mode = 0755};
  records_["oci-layout"] =
      Record{.kind = Record::Kind::kBytes, .mode = 0444, .bytes = R"({"imageLayoutVersion":"1.0.0"})"};
  ordered_json index;
  index["schemaVersion"] = 2;
  index["manifests"] = ordered_json::array();
  for (const Descriptor& desc : index_manifests_) index["manifests"].push_back(DescriptorToJson(desc));
  records_["index.json"] = Record{.kind = Record::Kind::kBytes, .mode = 0644, .bytes = index.dump()};
  if (!docker_manifests_.empty()) {
    LIMAN_ASSIGN_OR_RETURN(std::string manifests, DockerManifests());
    records_["manifest.json"] = Record{.kind = Record::Kind::kBytes, .mode = 0644, .bytes = std::move(manifests)};
  }
  return WriteTar(sink);
}

}  // namespace

absl::Status ExportArchive(const std::vector<NamedImage>& images, ContentStore& content, const ExportOptions& options,
                           const std::function<absl::Status(std::string_view)>& sink) {
  Exporter exporter(content, options);
  return Annotate(exporter.Run(images, sink), "export");
}

}  // namespace liman::containerd::remotes
