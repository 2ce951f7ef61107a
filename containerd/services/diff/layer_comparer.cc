#include "containerd/services/diff/layer_comparer.h"


#include <algorithm>
#include <functional>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/random_bytes.h"
#include "common/status.h"
#include "containerd/archive/compression.h"
#include "containerd/archive/diff.h"
#include "containerd/services/diff/layer_mounts.h"

namespace liman::containerd::services::diff {
namespace {

absl::StatusOr<archive::Compression> CompressionForDiff(const std::string& media_type) {
  if (media_type == kMediaTypeLayerTar) return archive::Compression::kNone;
  if (media_type == kMediaTypeLayerGzip) return archive::Compression::kGzip;
  if (media_type == kMediaTypeLayerZstd) return archive::Compression::kZstd;
  return absl::UnimplementedError(fmt::format("unsupported diff media type: {}", media_type));
}

// containerd's walking differ's uniqueRef: "<unix nanoseconds>-<3 random bytes, base64url>".
std::string UniqueRef() {
  std::string random = RandomBytes(3);
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(random.data(), random.size()), &encoded);
  return fmt::format("{}-{}", absl::ToUnixNanos(absl::Now()), encoded);
}

using LayerProducer = std::function<absl::StatusOr<archive::LayerWritten>(
    archive::Compression, const std::function<absl::Status(std::string_view)>&)>;

// Writes the layer `produce` makes through the ingest `ref` and commits it with `labels`
// (kAlreadyExists from the commit is success: the same layer was written before).
absl::StatusOr<archive::LayerWritten> WriteLayerBlob(ContentStore& content, const LayerProducer& produce,
                                                     archive::Compression compression, const std::string& ref,
                                                     bool new_ref, Labels labels) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, content.Writer(ref, 0, ""));
  auto fail = [&](const absl::Status& status) {
    writer.reset();
    // As containerd: an ingest the caller named stays (resumable); our own is removed.
    if (new_ref) {
      if (absl::Status aborted = content.Abort(ref); !aborted.ok() && !absl::IsNotFound(aborted))
        LogWarn("diff: abort ingest {}: {}", Quote(ref), aborted);
    }
    return status;
  };
  if (!new_ref) {
    if (absl::Status truncated = writer->Truncate(0); !truncated.ok()) return fail(truncated);
  }
  absl::StatusOr<archive::LayerWritten> written =
      produce(compression, [&](std::string_view bytes) { return writer->Write(bytes); });
  if (!written.ok()) return fail(Annotate(written.status(), "write diff"));
  labels[kUncompressedLabel] = written->diff_id;
  absl::Status committed = writer->Commit(written->size, written->digest, labels);
  if (!committed.ok() && !absl::IsAlreadyExists(committed)) return fail(Annotate(committed, "commit diff"));
  return written;
}

}  // namespace

absl::StatusOr<std::string> ChangeDirectory(const std::vector<MountDescriptor>& lower,
                                            const std::vector<MountDescriptor>& upper) {
  std::optional<std::vector<std::string>> lower_stack = LayerStack(lower);
  std::optional<std::vector<std::string>> upper_stack = LayerStack(upper);
  if (!lower_stack || !upper_stack)
    return absl::UnimplementedError(
        "diff: only snapshot mounts (one overlay or bind mount, or none) can be compared");
  if (upper_stack->size() != lower_stack->size() + 1 ||
      !std::equal(lower_stack->begin(), lower_stack->end(), upper_stack->begin() + 1))
    return absl::UnimplementedError(
        "diff: the upper mounts are not the lower mounts with one layer on top (only a snapshot and its parent "
        "can be compared)");
  return upper_stack->front();
}

absl::StatusOr<LayerDescriptor> CompareMounts(ContentStore& content, const std::vector<MountDescriptor>& lower,
                                              const std::vector<MountDescriptor>& upper,
                                              const CompareOptions& options, const std::string& temp_dir) {
  std::string media_type = options.media_type.empty() ? kMediaTypeLayerGzip : options.media_type;
  LIMAN_ASSIGN_OR_RETURN(archive::Compression compression, CompressionForDiff(media_type));
  bool new_ref = options.ref.empty();
  std::string ref = new_ref ? UniqueRef() : options.ref;

  absl::StatusOr<std::string> change_dir = ChangeDirectory(lower, upper);
  absl::StatusOr<archive::LayerWritten> written;
  if (change_dir.ok()) {
    written = WriteLayerBlob(
        content,
        [&](archive::Compression c, const std::function<absl::Status(std::string_view)>& sink) {
          return archive::WriteLayerFromUpper(*change_dir, c, sink);
        },
        compression, ref, new_ref, options.labels);
  } else {
    // Both trees mounted and walked side by side.
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<TempMount> lower_tree, TempMount::Mount(ReadOnlyMounts(lower), temp_dir));
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<TempMount> upper_tree, TempMount::Mount(ReadOnlyMounts(upper), temp_dir));
    written = WriteLayerBlob(
        content,
        [&](archive::Compression c, const std::function<absl::Status(std::string_view)>& sink) {
          return archive::WriteLayerFromTrees(lower_tree->dir(), upper_tree->dir(), c, sink);
        },
        compression, ref, new_ref, options.labels);
  }
  if (!written.ok()) return written.status();

  // A blob that was already there keeps its labels; make sure it names its diff id.
  LIMAN_ASSIGN_OR_RETURN(ContentInfo info, content.Info(written->digest));
  if (!info.labels.contains(kUncompressedLabel)) {
    info.labels[kUncompressedLabel] = written->diff_id;
    LIMAN_RETURN_IF_ERROR(Annotate(content.Update(info, {std::string("labels.") + kUncompressedLabel}).status(),
                                   "set uncompressed label"));
  }
  return LayerDescriptor{.media_type = media_type, .digest = info.digest, .size = info.size};
}

}  // namespace liman::containerd::services::diff
