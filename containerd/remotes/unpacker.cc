#include "containerd/remotes/unpacker.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <thread>

#include "absl/strings/escaping.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/mount.h"
#include "common/sha256.h"
#include "common/random_bytes.h"
#include "common/status.h"
#include "containerd/archive/apply.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/platforms.h"

namespace liman::containerd::remotes {
namespace {

// Bytes a layer's download may run ahead of its extraction.
constexpr size_t kLayerPipeCapacity = 8 << 20;

constexpr char kSnapshotRefLabel[] = "containerd.io/snapshot.ref";
constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";

// containerd's unpack key: "extract-<nanoseconds>-<3 random bytes, base64url> <chainid>".
std::string UnpackKey(const std::string& chain_id) {
  std::string random = RandomBytes(3);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
                   .count() %
               1000000000;
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(random.data(), random.size()), &encoded);
  return fmt::format("extract-{}-{} {}", nanos, encoded, chain_id);
}

std::string ParentDir(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

absl::Status DiffIdMismatch(const std::string& actual, const std::string& expected) {
  return absl::DataLossError(
      fmt::format("unpacked content has diff id {}, the image config says {}", actual, expected));
}

// A directory of our own that a snapshot is mounted on while a layer is applied through it.
class MountedSnapshot {
 public:
  static absl::StatusOr<std::unique_ptr<MountedSnapshot>> Mount(const std::vector<MountDescriptor>& mounts,
                                                                const std::string& temp_dir) {
    std::string pattern = JoinPath(temp_dir, "liman-unpack-XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) return ErrnoError(fmt::format("mkdtemp {}", Quote(pattern)));
    auto mounted = std::unique_ptr<MountedSnapshot>(new MountedSnapshot(pattern));
    LIMAN_RETURN_IF_ERROR(MountAll(mounts, pattern));
    mounted->mounted_ = true;
    return mounted;
  }
  ~MountedSnapshot() {
    if (mounted_) {
      if (absl::Status status = UnmountAll(dir_); !status.ok()) LogWarn("unpack: {}", status);
    }
    rmdir(dir_.c_str());
  }
  const std::string& dir() const { return dir_; }

 private:
  explicit MountedSnapshot(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  bool mounted_ = false;
};

// One layer to fetch and unpack; written by its worker until `done`, then read by the
// committer (both under Unpacker::mutex_).
struct LayerJob {
  size_t index = 0;
  Descriptor desc;
  std::string diff_id;
  std::string chain_id;
  std::string parent;       // the chain id below, "" for the bottom layer
  std::string staging_dir;  // the unpacked layer (staging mode), until adopted
  bool done = false;
  bool synced = false;  // flushed by a syncfs that started after the job was done
  absl::Status status;
};

class Unpacker {
 public:
  Unpacker(ContentStore& content, Snapshotter& snapshotter, StagingSnapshotter* staging, const UnpackOptions& options,
           LayerFetcher* fetcher)
      : content_(content), snapshotter_(snapshotter), staging_(staging), options_(options), fetcher_(fetcher) {}

  absl::StatusOr<std::string> Run(const std::vector<Descriptor>& layers, const std::vector<std::string>& diff_ids);

 private:
  void Report(PullProgress progress) {
    if (options_.progress != nullptr) options_.progress->Report(progress);
  }
  // Worker side: gets (and in staging mode unpacks) one layer.
  absl::Status ProcessLayer(LayerJob& job);
  // Committer side: makes the snapshot of a finished job.
  absl::Status CommitLayer(LayerJob& job);
  absl::Status ApplyMounted(LayerJob& job, const std::vector<MountDescriptor>& mounts);
  // One syncfs covering every job finished so far (unless `job` is already covered).
  absl::Status SyncFor(LayerJob& job, const std::string& any_dir);

  ContentStore& content_;
  Snapshotter& snapshotter_;
  StagingSnapshotter* staging_;
  const UnpackOptions& options_;
  LayerFetcher* fetcher_;

  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  std::condition_variable job_done_;
  std::vector<LayerJob> jobs_;
};

absl::Status Unpacker::ProcessLayer(LayerJob& job) {
  const Descriptor& desc = job.desc;
  if (cancelled_.load()) return absl::CancelledError("unpack cancelled");
  LIMAN_ASSIGN_OR_RETURN(archive::Compression compression, archive::CompressionForMediaType(desc.media_type));

  // The blob's source: the content store when it has the blob (or gets it from a concurrent
  // writer while we wait for the ingest), else the fetcher, writing it into the store.
  bool in_store = content_.Info(desc.digest).ok();
  std::unique_ptr<ContentWriter> writer;
  if (!in_store && fetcher_ == nullptr) {
    return absl::NotFoundError(fmt::format("blob {} is not in the content store", desc.digest));
  }
  if (!in_store) {
    absl::StatusOr<std::unique_ptr<ContentWriter>> opened = OpenIngest(content_, desc, &cancelled_);
    if (absl::IsAlreadyExists(opened.status())) {
      in_store = true;
    } else if (!opened.ok()) {
      return opened.status();
    } else {
      writer = std::move(*opened);
    }
  }
  if (in_store && fetcher_ != nullptr) LIMAN_RETURN_IF_ERROR(fetcher_->Found(desc));

  if (staging_ == nullptr) {
    // Applied by the committer, from the store.
    if (!in_store) return fetcher_->Fetch(desc, std::move(writer), nullptr, cancelled_);
    return absl::OkStatus();
  }

  std::unique_ptr<archive::ByteSource> source;
  ProducerSource* producer = nullptr;
  if (in_store) {
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, content_.ReaderAt(desc.digest));
    source = std::make_unique<ContentSource>(std::move(reader));
  } else {
    // The fetch runs on a thread of its own; the ingest moves there.
    auto ingest = std::make_shared<std::unique_ptr<ContentWriter>>(std::move(writer));
    auto owned = std::make_unique<ProducerSource>(kLayerPipeCapacity, [this, &desc, ingest](BytePipe& pipe) {
      return fetcher_->Fetch(desc, std::move(*ingest), &pipe, cancelled_);
    });
    producer = owned.get();
    source = std::move(owned);
  }

  LIMAN_ASSIGN_OR_RETURN(std::string dir, staging_->NewStagingDir());
  {
    std::lock_guard lock(mutex_);
    job.staging_dir = dir;  // removed at the end unless adopted
  }
  absl::StatusOr<archive::ApplyResult> applied =
      archive::ApplyLayer(*source, compression, dir, archive::ApplyOptions{.overlay_whiteouts = true});
  absl::Status status = applied.status();
  if (status.ok()) status = DrainSource(*source);
  if (producer != nullptr) {
    // The fetch's own failure (digest, network, content store) explains whatever the
    // extraction saw; the extraction's failure merely cancels the fetch.
    absl::Status fetched = producer->Finish();
    if (!fetched.ok() && !(absl::IsCancelled(fetched) && !status.ok())) status = fetched;
  }
  if (!status.ok()) return status;
  if (applied->diff_id != job.diff_id) return DiffIdMismatch(applied->diff_id, job.diff_id);
  LIMAN_RETURN_IF_ERROR(AddBlobLabels(content_, desc.digest, {{kUncompressedLabel, job.diff_id}}));
  Report({.stage = PullProgress::Stage::kUnpacked, .digest = desc.digest, .offset = desc.size, .total = desc.size});
  return absl::OkStatus();
}

absl::Status Unpacker::ApplyMounted(LayerJob& job, const std::vector<MountDescriptor>& mounts) {
  LIMAN_ASSIGN_OR_RETURN(archive::Compression compression, archive::CompressionForMediaType(job.desc.media_type));
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, content_.ReaderAt(job.desc.digest));
  ContentSource source(std::move(reader));
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<MountedSnapshot> mounted, MountedSnapshot::Mount(mounts, options_.temp_dir));
  // A mounted tree: whiteouts delete through the overlay instead of being written as devices.
  LIMAN_ASSIGN_OR_RETURN(
      archive::ApplyResult applied,
      archive::ApplyLayer(source, compression, mounted->dir(), archive::ApplyOptions{.overlay_whiteouts = false}));
  if (applied.diff_id != job.diff_id) return DiffIdMismatch(applied.diff_id, job.diff_id);
  if (options_.sync_fs) LIMAN_RETURN_IF_ERROR(archive::SyncFilesystem(mounted->dir()));
  LIMAN_RETURN_IF_ERROR(AddBlobLabels(content_, job.desc.digest, {{kUncompressedLabel, job.diff_id}}));
  Report({.stage = PullProgress::Stage::kUnpacked,
          .digest = job.desc.digest,
          .offset = job.desc.size,
          .total = job.desc.size});
  return absl::OkStatus();
}

absl::Status Unpacker::SyncFor(LayerJob& job, const std::string& any_dir) {
  std::vector<LayerJob*> covered;
  {
    std::lock_guard lock(mutex_);
    if (job.synced) return absl::OkStatus();
    // Every layer finished before the syncfs starts is flushed by it: mark them all.
    for (LayerJob& other : jobs_) {
      if (other.done && other.status.ok() && !other.synced) covered.push_back(&other);
    }
  }
  LIMAN_RETURN_IF_ERROR(archive::SyncFilesystem(any_dir));
  std::lock_guard lock(mutex_);
  for (LayerJob* other : covered) other->synced = true;
  return absl::OkStatus();
}

absl::Status Unpacker::CommitLayer(LayerJob& job) {
  Labels labels = InheritedSnapshotLabels(job.desc);
  labels[kSnapshotRefLabel] = job.chain_id;

  std::string key;
  absl::StatusOr<std::vector<MountDescriptor>> mounts;
  for (int attempt = 0; attempt < 3; ++attempt) {
    key = UnpackKey(job.chain_id);
    mounts = snapshotter_.Prepare(key, job.parent, labels);
    if (!absl::IsAlreadyExists(mounts.status())) break;
    // A concurrent unpack may have made the snapshot meanwhile.
    if (snapshotter_.Stat(job.chain_id).ok()) return absl::OkStatus();
  }
  if (!mounts.ok()) return Annotate(mounts.status(), fmt::format("prepare snapshot {}", Quote(key)));

  absl::Status status;
  if (staging_ != nullptr) {
    std::string dir;
    {
      std::lock_guard lock(mutex_);
      dir = job.staging_dir;
    }
    status = staging_->AdoptStagingDir(key, dir);
    if (status.ok()) {
      std::lock_guard lock(mutex_);
      job.staging_dir.clear();  // the snapshot's now
    }
    // The staging directories' parent stays, on the same filesystem. (The adoption's rename is
    // metadata the snapshotter's own commit makes durable.)
    if (status.ok() && options_.sync_fs) status = SyncFor(job, ParentDir(dir));
  } else {
    status = ApplyMounted(job, *mounts);
  }
  if (status.ok()) {
    status = snapshotter_.Commit(job.chain_id, key, labels);
    if (status.ok()) {
      key.clear();
    } else if (absl::IsAlreadyExists(status)) {
      status = absl::OkStatus();  // a concurrent unpack won; ours goes
    }
  }
  if (!key.empty()) {
    if (absl::Status removed = snapshotter_.Remove(key); !removed.ok() && !absl::IsNotFound(removed)) {
      LogWarn("unpack: remove extraction snapshot {}: {}", Quote(key), removed);
    }
  }
  if (!status.ok()) return status;
  Report({.stage = PullProgress::Stage::kCommitted,
          .digest = job.desc.digest,
          .offset = job.desc.size,
          .total = job.desc.size});
  return absl::OkStatus();
}

absl::StatusOr<std::string> Unpacker::Run(const std::vector<Descriptor>& layers,
                                          const std::vector<std::string>& diff_ids) {
  if (layers.size() != diff_ids.size()) {
    return absl::InvalidArgumentError(fmt::format("{} layers but {} diff ids", layers.size(), diff_ids.size()));
  }
  std::vector<std::string> chain_ids = ChainIds(diff_ids);
  if (chain_ids.empty()) return std::string();

  // Layers up to the highest existing snapshot are done: neither fetched nor unpacked.
  size_t first = 0;
  for (size_t i = chain_ids.size(); i > 0; --i) {
    absl::StatusOr<SnapshotInfo> info = snapshotter_.Stat(chain_ids[i - 1]);
    if (info.ok()) {
      first = i;
      break;
    }
    if (!absl::IsNotFound(info.status()))
      return Annotate(info.status(), fmt::format("stat snapshot {}", chain_ids[i - 1]));
  }
  for (size_t i = 0; i < first; ++i) Report({.stage = PullProgress::Stage::kExists, .digest = layers[i].digest});

  jobs_.resize(layers.size() - first);
  for (size_t i = first; i < layers.size(); ++i) {
    LayerJob& job = jobs_[i - first];
    job.index = i;
    job.desc = layers[i];
    job.diff_id = diff_ids[i];
    job.chain_id = chain_ids[i];
    job.parent = i == 0 ? "" : chain_ids[i - 1];
  }

  // Workers take layers bottom first, so that the chain can be committed while upper layers
  // are still arriving.
  size_t workers = options_.max_concurrent > 0
                       ? std::min<size_t>(jobs_.size(), static_cast<size_t>(options_.max_concurrent))
                       : jobs_.size();
  std::atomic<size_t> next_job{0};
  std::vector<std::thread> threads;
  for (size_t w = 0; w < workers; ++w) {
    threads.emplace_back([&] {
      while (true) {
        size_t i = next_job.fetch_add(1);
        if (i >= jobs_.size()) return;
        absl::Status status = ProcessLayer(jobs_[i]);
        if (!status.ok()) cancelled_.store(true);
        std::lock_guard lock(mutex_);
        jobs_[i].status = std::move(status);
        jobs_[i].done = true;
        job_done_.notify_all();
      }
    });
  }

  // The committer: snapshots in chain order as layers become ready.
  auto first_failure = [&]() -> const LayerJob* {
    const LayerJob* cancelled = nullptr;
    for (const LayerJob& job : jobs_) {
      if (!job.done || job.status.ok()) continue;
      if (!absl::IsCancelled(job.status)) return &job;  // a cause rather than a consequence
      if (cancelled == nullptr) cancelled = &job;
    }
    return cancelled;
  };
  absl::Status status;
  const LayerJob* failed = nullptr;
  for (LayerJob& job : jobs_) {
    {
      std::unique_lock lock(mutex_);
      job_done_.wait(lock, [&] { return job.done || first_failure() != nullptr; });
      if (const LayerJob* failure = first_failure(); failure != nullptr) {
        failed = failure;
        status = failure->status;
        break;
      }
    }
    status = CommitLayer(job);
    if (!status.ok()) {
      failed = &job;
      break;
    }
  }
  if (!status.ok()) cancelled_.store(true);
  for (std::thread& thread : threads) thread.join();
  // A worker may have failed for a better reason after the committer gave up.
  if (failed != nullptr && absl::IsCancelled(status)) {
    if (const LayerJob* failure = first_failure(); failure != nullptr && !absl::IsCancelled(failure->status)) {
      failed = failure;
      status = failure->status;
    }
  }

  // Unpacked layers that never became snapshots.
  for (LayerJob& job : jobs_) {
    if (job.staging_dir.empty()) continue;
    if (absl::Status removed = RemoveAll(job.staging_dir); !removed.ok()) {
      LogWarn("unpack: remove staging directory {}: {}", Quote(job.staging_dir), removed);
    }
  }
  if (!status.ok()) return Annotate(status, fmt::format("layer {}", failed->desc.digest));
  return chain_ids.back();
}

}  // namespace

void ProgressReporter::Report(const PullProgress& progress) {
  if (!callback_) return;
  std::lock_guard lock(mutex_);
  callback_(progress);
}

absl::StatusOr<std::string> UnpackLayers(const std::vector<Descriptor>& layers,
                                         const std::vector<std::string>& diff_ids, ContentStore& content,
                                         Snapshotter& snapshotter, StagingSnapshotter* staging,
                                         const UnpackOptions& options, LayerFetcher* fetcher) {
  Unpacker unpacker(content, snapshotter, staging, options, fetcher);
  return unpacker.Run(layers, diff_ids);
}

absl::StatusOr<ImageConfig> ConfigForManifest(std::string_view config_body, const Manifest& manifest,
                                              const Descriptor& manifest_desc) {
  LIMAN_ASSIGN_OR_RETURN(ImageConfig config, ParseImageConfig(config_body, manifest.config));
  if (config.diff_ids.size() != manifest.layers.size()) {
    return absl::InvalidArgumentError(fmt::format("image config {} lists {} diff ids for the {} layers of manifest {}",
                                                  manifest.config.digest, config.diff_ids.size(),
                                                  manifest.layers.size(), manifest_desc.digest));
  }
  return config;
}

absl::StatusOr<UnpackResult> UnpackImage(const Descriptor& target, const Platform& platform, ContentStore& content,
                                         Snapshotter& snapshotter, StagingSnapshotter* staging,
                                         std::string_view snapshotter_name, const UnpackOptions& options) {
  UnpackResult result;
  result.manifest = target;
  std::string body;
  for (int depth = 0;; ++depth) {
    LIMAN_ASSIGN_OR_RETURN(body, ReadBlob(content, result.manifest.digest, kMaxManifestSize));
    if (IsManifestType(result.manifest.media_type)) break;
    if (!IsIndexType(result.manifest.media_type) || depth >= kMaxIndexDepth) {
      return absl::InvalidArgumentError(
          fmt::format("{}: cannot unpack media type {}", result.manifest.digest, Quote(result.manifest.media_type)));
    }
    LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, result.manifest));
    LIMAN_ASSIGN_OR_RETURN(result.manifest, SelectManifest(index, platform));
  }
  LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(body, result.manifest));
  LIMAN_ASSIGN_OR_RETURN(std::string config_body, ReadBlob(content, manifest.config.digest, kMaxConfigSize));
  LIMAN_ASSIGN_OR_RETURN(ImageConfig config, ConfigForManifest(config_body, manifest, result.manifest));
  result.config_digest = manifest.config.digest;
  LIMAN_ASSIGN_OR_RETURN(
      result.chain_id, UnpackLayers(manifest.layers, config.diff_ids, content, snapshotter, staging, options, nullptr));
  if (!result.chain_id.empty()) {
    LIMAN_RETURN_IF_ERROR(AddBlobLabels(content, result.config_digest,
                                        {{kGcSnapshotLabelPrefix + std::string(snapshotter_name), result.chain_id}}));
  }
  return result;
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain;
  chain.reserve(diff_ids.size());
  for (const std::string& diff_id : diff_ids) {
    chain.push_back(chain.empty() ? diff_id : "sha256:" + Sha256Hex(chain.back() + " " + diff_id));
  }
  return chain;
}

std::string ChainId(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chain = ChainIds(diff_ids);
  return chain.empty() ? std::string() : chain.back();
}

}  // namespace liman::containerd::remotes
