// Unpacking an image's layers into a snapshotter, as containerd's unpacker does: one snapshot per
// layer, named by its chain id, parent the one below; layers whose snapshot exists are skipped.
//
// Layers are processed concurrently. With a StagingSnapshotter each layer is unpacked into a
// staging directory as soon as its bytes are available (from the content store, or streamed by a
// LayerFetcher while they are written into it), and the snapshots are then made in chain order:
// Prepare("extract-<unique> <chainid>", parent) → AdoptStagingDir → one syncfs for everything
// unpacked so far → Commit(chainid), labelled containerd.io/snapshot.ref=<chainid>. Without one,
// blobs are fetched concurrently and applied one after the other through mounted snapshots. Each
// unpacked blob gets the label containerd.io/uncompressed=<diff id>.
//
// On failure, staging directories and prepared snapshots are removed (committed snapshots stay:
// they are complete) and the error names the layer's digest.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/core/snapshots.h"
#include "containerd/remotes/byte_pipe.h"
#include "containerd/remotes/image_spec.h"

namespace liman::containerd::remotes {

// What a pull (or unpack) reports as it goes.
struct PullProgress {
  enum class Stage {
    kResolved,     // digest: the root manifest (index or manifest)
    kExists,       // pull: a layer whose snapshot exists already (skipped); push: a blob the registry has
    kDownloading,  // a layer's bytes so far: offset of total
    kDownloaded,   // a layer's blob is complete and committed to the content store
    kUnpacked,     // a layer is unpacked (its diff id verified)
    kCommitted,    // a layer's snapshot is committed
    kDone,         // pull: digest is the config; push: the manifest pushed
    kUploading,    // push: a blob's bytes sent so far, offset of total
    kUploaded,     // push: the registry has verified and stored the blob
    kMounted,      // push: the registry mounted the blob from the repository `source`
  };
  Stage stage;
  std::string digest;
  int64_t offset = 0;
  int64_t total = 0;
  std::string source;  // kMounted
};

// Calls a progress callback from any thread, one call at a time. No callback: nothing.
class ProgressReporter {
 public:
  explicit ProgressReporter(std::function<void(const PullProgress&)> callback) : callback_(std::move(callback)) {}
  void Report(const PullProgress& progress);

 private:
  std::function<void(const PullProgress&)> callback_;
  std::mutex mutex_;
};

// Where layer blobs missing from the content store come from (a registry).
class LayerFetcher {
 public:
  virtual ~LayerFetcher() = default;
  // A layer blob the content store already has is about to be used (a pull labels it).
  virtual absl::Status Found(const Descriptor& layer) { return absl::OkStatus(); }
  // Streams `layer` into the open ingest `writer` and, if not null, into `pipe` as it arrives;
  // commits the ingest once size and digest check out, aborts it otherwise. `cancelled` turns
  // true when the unpack fails elsewhere.
  virtual absl::Status Fetch(const Descriptor& layer, std::unique_ptr<ContentWriter> writer, BytePipe* pipe,
                             const std::atomic<bool>& cancelled) = 0;
};

struct UnpackOptions {
  int max_concurrent = 3;         // layers fetched and unpacked at the same time (<= 0: all)
  std::string temp_dir = "/tmp";  // mount points when there is no StagingSnapshotter
  ProgressReporter* progress = nullptr;
  // syncfs(2) on each unpacked layer before its snapshot is committed (containerd and dockerd
  // do not: only a power cut, not a crash of the daemon, can lose unflushed files).
  bool sync_fs = false;
};

// Unpacks `layers`, whose uncompressed digests are `diff_ids` (the config's rootfs, same
// length), and returns the top chain id ("" for no layers). Missing blobs come from `fetcher`;
// without one they must be in the content store.
absl::StatusOr<std::string> UnpackLayers(const std::vector<Descriptor>& layers,
                                         const std::vector<std::string>& diff_ids, ContentStore& content,
                                         Snapshotter& snapshotter, StagingSnapshotter* staging,
                                         const UnpackOptions& options, LayerFetcher* fetcher);

struct UnpackResult {
  Descriptor manifest;  // the platform's manifest
  std::string config_digest;
  std::string chain_id;
};

// Unpacks an image whose content is in the store: `target` (index or manifest) → the
// platform's manifest → config → layers; labels the config
// containerd.io/gc.ref.snapshot.<snapshotter_name>=<chain id> as containerd does.
absl::StatusOr<UnpackResult> UnpackImage(const Descriptor& target, const Platform& platform, ContentStore& content,
                                         Snapshotter& snapshotter, StagingSnapshotter* staging,
                                         std::string_view snapshotter_name, const UnpackOptions& options);

// The image config of `manifest` read from `config_body`, its diff ids checked against the
// manifest's layers (kInvalidArgument when their counts differ).
absl::StatusOr<ImageConfig> ConfigForManifest(std::string_view config_body, const Manifest& manifest,
                                              const Descriptor& manifest_desc);

// The OCI identity ChainID of a stack of diff ids (bottom first): chain(1) = diff(1),
// chain(n) = sha256(chain(n-1) + " " + diff(n)). Empty for no layers.
std::string ChainId(const std::vector<std::string>& diff_ids);
// All chain ids of the stack, bottom first.
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

inline constexpr int64_t kMaxConfigSize = 32 << 20;
inline constexpr char kGcSnapshotLabelPrefix[] = "containerd.io/gc.ref.snapshot.";

}  // namespace liman::containerd::remotes
