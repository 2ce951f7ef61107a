#include "containerd/remotes/content_util.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/logging.h"
#include "common/status.h"

namespace liman::containerd::remotes {

std::string IngestRef(const Descriptor& desc) {
  std::string_view kind = "unknown";
  if (IsManifestType(desc.media_type)) {
    kind = "manifest";
  } else if (IsIndexType(desc.media_type)) {
    kind = "index";
  } else if (IsLayerType(desc.media_type)) {
    kind = "layer";
  } else if (IsConfigType(desc.media_type)) {
    kind = "config";
  }
  return fmt::format("{}-{}", kind, desc.digest);
}

absl::StatusOr<std::unique_ptr<ContentWriter>> OpenIngest(ContentStore& content, const Descriptor& desc,
                                                          const std::atomic<bool>* cancelled) {
  std::string ref = IngestRef(desc);
  for (int attempt = 0;; ++attempt) {
    absl::StatusOr<std::unique_ptr<ContentWriter>> writer = content.Writer(ref, desc.size, desc.digest);
    if (!absl::IsUnavailable(writer.status())) {
      if (writer.ok() && (*writer)->Offset() > 0) {
        // An earlier attempt left part of the blob; our stream starts over, so does the ingest.
        LIMAN_RETURN_IF_ERROR((*writer)->Truncate(0));
      }
      return writer;
    }
    // Another writer (another pull) holds the ref: its commit turns this into kAlreadyExists.
    if (cancelled != nullptr && cancelled->load()) return absl::CancelledError("cancelled");
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(1000, 20 << std::min(attempt, 6))));
  }
}

void AbortIngest(ContentStore& content, std::unique_ptr<ContentWriter>& writer, const std::string& ref) {
  if (writer == nullptr) return;
  writer.reset();  // releases the ingest's lock, which Abort needs
  if (absl::Status status = content.Abort(ref); !status.ok() && !absl::IsNotFound(status)) {
    LogWarn("abort ingest {}: {}", Quote(ref), status);
  }
}

absl::Status WriteBlob(ContentStore& content, const Descriptor& desc, std::string_view data, const Labels& labels) {
  absl::StatusOr<std::unique_ptr<ContentWriter>> writer = OpenIngest(content, desc);
  if (absl::IsAlreadyExists(writer.status())) return AddBlobLabels(content, desc.digest, labels);
  if (!writer.ok()) return Annotate(writer.status(), fmt::format("write {}", desc.digest));
  absl::Status status = (*writer)->Write(data);
  if (status.ok()) status = (*writer)->Commit(desc.size, desc.digest, labels);
  if (absl::IsAlreadyExists(status)) return AddBlobLabels(content, desc.digest, labels);
  if (!status.ok()) {
    AbortIngest(content, *writer, IngestRef(desc));
    return Annotate(status, fmt::format("write {}", desc.digest));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadBlob(ContentStore& content, std::string_view digest, int64_t limit) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, content.ReaderAt(digest));
  if (reader->Size() > limit) {
    return absl::OutOfRangeError(
        fmt::format("blob {}: {} bytes is more than the {} allowed", digest, reader->Size(), limit));
  }
  return reader->ReadAt(0, reader->Size());
}

absl::Status AddBlobLabels(ContentStore& content, std::string_view digest, const Labels& labels) {
  if (labels.empty()) return absl::OkStatus();
  ContentInfo update{.digest = std::string(digest), .labels = labels};
  FieldPaths paths;
  for (const auto& [key, value] : labels) paths.push_back("labels." + key);
  return content.Update(update, paths).status();
}

}  // namespace liman::containerd::remotes
