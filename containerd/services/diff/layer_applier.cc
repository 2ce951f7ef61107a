#include "containerd/services/diff/layer_applier.h"

#include <memory>
#include <utility>

#include "common/status.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/digester.h"
#include "containerd/services/diff/layer_mounts.h"

namespace liman::containerd::services::diff {
namespace {

// A committed blob read front to back and hashed on the way, so that what was unpacked is
// known to be the blob the descriptor names (containerd trusts its store here; a blob damaged
// on disk would otherwise unpack silently).
class VerifiedBlobSource final : public archive::ByteSource {
 public:
  explicit VerifiedBlobSource(std::unique_ptr<ContentReader> reader) : reader_(std::move(reader)) {}

  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    int64_t left = reader_->Size() - offset_;
    if (left <= 0 || capacity == 0) return 0;
    int64_t length = std::min<int64_t>(left, static_cast<int64_t>(capacity));
    LIMAN_ASSIGN_OR_RETURN(std::string bytes, reader_->ReadAt(offset_, length));
    if (bytes.empty()) return absl::DataLossError(fmt::format("blob ends at {} of {} bytes", offset_, reader_->Size()));
    std::copy(bytes.begin(), bytes.end(), buffer);
    digester_.Update(bytes);
    offset_ += static_cast<int64_t>(bytes.size());
    return bytes.size();
  }

  // Reads what the unpacker left (nothing, normally), then checks the digest of all of it.
  absl::Status Verify(const std::string& expected) {
    char buffer[64 * 1024];
    for (;;) {
      LIMAN_ASSIGN_OR_RETURN(size_t read, Read(buffer, sizeof buffer));
      if (read == 0) break;
    }
    std::string actual = digester_.Digest();
    if (actual != expected)
      return absl::DataLossError(fmt::format("blob {} has digest {}: content is corrupt", expected, actual));
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<ContentReader> reader_;
  int64_t offset_ = 0;
  archive::Sha256Digester digester_;
};

// Where and how the layer is unpacked when no mount is needed.
struct DirectTarget {
  std::string root;
  archive::ApplyOptions options;
};

// containerd's fast paths: a single overlay with an upper directory, or a single writable bind.
std::optional<DirectTarget> DirectTargetOf(const std::vector<MountDescriptor>& mounts) {
  if (mounts.size() != 1 || !mounts[0].target.empty()) return std::nullopt;
  const MountDescriptor& mount = mounts[0];
  if (mount.type == "overlay") {
    absl::StatusOr<OverlayDirs> dirs = ParseOverlay(mount);
    if (!dirs.ok() || dirs->upper.empty()) return std::nullopt;
    return DirectTarget{.root = dirs->upper,
                        .options = {.overlay_whiteouts = true, .lower_dirs = std::move(dirs->lowers)}};
  }
  if (IsWritableBind(mount)) return DirectTarget{.root = mount.source, .options = {.overlay_whiteouts = false}};
  return std::nullopt;
}

}  // namespace

absl::StatusOr<LayerDescriptor> ApplyLayerToMounts(ContentStore& content, const LayerDescriptor& layer,
                                                   const std::vector<MountDescriptor>& mounts,
                                                   const std::string& temp_dir, bool sync_fs) {
  if (layer.digest.empty()) return absl::InvalidArgumentError("apply layer: descriptor has no digest");
  if (mounts.empty()) return absl::InvalidArgumentError(fmt::format("apply layer {}: no mounts given", layer.digest));
  std::string context = fmt::format("apply layer {}", layer.digest);
  absl::StatusOr<archive::Compression> compression = archive::CompressionForMediaType(layer.media_type);
  if (!compression.ok()) return Annotate(compression.status(), context);
  absl::StatusOr<std::unique_ptr<ContentReader>> reader = content.ReaderAt(layer.digest);
  if (!reader.ok()) return Annotate(reader.status(), fmt::format("{}: get reader from content store", context));
  if (layer.size > 0 && (*reader)->Size() != layer.size)
    return absl::FailedPreconditionError(fmt::format("{}: blob has {} bytes, the descriptor says {}", context,
                                                     (*reader)->Size(), layer.size));
  VerifiedBlobSource source(*std::move(reader));

  std::optional<DirectTarget> direct = DirectTargetOf(mounts);
  std::unique_ptr<TempMount> mounted;
  if (!direct) {
    absl::StatusOr<std::unique_ptr<TempMount>> temp = TempMount::Mount(mounts, temp_dir);
    if (!temp.ok()) return Annotate(temp.status(), context);
    mounted = *std::move(temp);
    // A mounted tree: whiteouts delete through the mount.
    direct = DirectTarget{.root = mounted->dir(), .options = {.overlay_whiteouts = false}};
  }
  absl::StatusOr<archive::ApplyResult> applied = archive::ApplyLayer(source, *compression, direct->root, direct->options);
  if (!applied.ok()) return Annotate(applied.status(), context);
  if (absl::Status verified = source.Verify(layer.digest); !verified.ok()) return Annotate(verified, context);
  if (sync_fs) {
    if (absl::Status synced = archive::SyncFilesystem(direct->root); !synced.ok()) return Annotate(synced, context);
  }
  return LayerDescriptor{.media_type = kMediaTypeLayerTar, .digest = applied->diff_id, .size = applied->tar_size};
}

}  // namespace liman::containerd::services::diff
