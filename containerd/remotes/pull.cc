#include "containerd/remotes/pull.h"

#include <mutex>
#include <set>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/platforms.h"
#include "containerd/remotes/reference.h"
#include "containerd/remotes/registry.h"

namespace liman::containerd::remotes {
namespace {

constexpr size_t kMaxLabelSize = 4096;  // containerd's labels.Validate: key plus value

// containerd's appendDistributionSourceLabel: the repositories, sorted, without duplicates.
std::string MergeSourceRepos(std::string_view existing, const std::string& repo) {
  std::set<std::string> repos;
  for (absl::string_view part : absl::StrSplit(absl::string_view(existing.data(), existing.size()), ',')) {
    if (!part.empty()) repos.insert(std::string(part));
  }
  repos.insert(repo);
  return absl::StrJoin(repos, ",");
}

class Puller final : public LayerFetcher {
 public:
  Puller(const PullOptions& options, ContentStore& content, Snapshotter& snapshotter, StagingSnapshotter* staging,
         std::string_view snapshotter_name)
      : options_(options),
        content_(content),
        snapshotter_(snapshotter),
        staging_(staging),
        snapshotter_name_(snapshotter_name),
        progress_(options.progress) {}

  absl::StatusOr<PullResult> Run(const Reference& ref);

  // LayerFetcher: layer blobs from the registry, labelled with where they came from.
  absl::Status Found(const Descriptor& layer) override { return AddSourceLabel(layer.digest); }
  absl::Status Fetch(const Descriptor& layer, std::unique_ptr<ContentWriter> writer, BytePipe* pipe,
                     const std::atomic<bool>& cancelled) override;

 private:
  void Report(PullProgress progress) { progress_.Report(progress); }

  // The distribution source label for a blob that has `existing` as its value; empty when the
  // value would be too long (containerd skips it then too).
  Labels SourceLabel(std::string_view existing = "") const;
  absl::Status AddSourceLabel(std::string_view digest);
  // An index, manifest or config: from the content store when it has it, else fetched and
  // verified.
  absl::StatusOr<std::string> FetchDocument(const Descriptor& desc, int64_t limit);
  // Stores a fetched document with `labels` and the source label.
  absl::Status StoreDocument(const Descriptor& desc, std::string_view data, const Labels& labels);
  // Follows `root` (index or manifest) down to the platform's manifest, storing every document
  // on the way with its GC labels. Returns the manifest's descriptor and body.
  absl::StatusOr<std::pair<Descriptor, std::string>> ResolveManifest(const Descriptor& root, std::string root_body);

  const PullOptions& options_;
  ContentStore& content_;
  Snapshotter& snapshotter_;
  StagingSnapshotter* staging_;
  std::string snapshotter_name_;
  ProgressReporter progress_;
  std::unique_ptr<RegistryClient> client_;
  std::string source_key_;   // containerd.io/distribution.source.<host>
  std::string source_repo_;  // the repository path
  std::mutex label_mutex_;   // source labels are read, merged and written back
};

Labels Puller::SourceLabel(std::string_view existing) const {
  std::string value = MergeSourceRepos(existing, source_repo_);
  if (source_key_.size() + value.size() > kMaxLabelSize) return {};
  return {{source_key_, value}};
}

absl::Status Puller::AddSourceLabel(std::string_view digest) {
  std::lock_guard lock(label_mutex_);
  LIMAN_ASSIGN_OR_RETURN(ContentInfo info, content_.Info(digest));
  auto existing = info.labels.find(source_key_);
  return AddBlobLabels(content_, digest, SourceLabel(existing == info.labels.end() ? "" : existing->second));
}

absl::Status Puller::StoreDocument(const Descriptor& desc, std::string_view data, const Labels& labels) {
  Labels all = labels;
  Labels source = SourceLabel();
  all.insert(source.begin(), source.end());
  if (!content_.Info(desc.digest).ok()) return WriteBlob(content_, desc, data, all);
  LIMAN_RETURN_IF_ERROR(AddBlobLabels(content_, desc.digest, labels));
  return AddSourceLabel(desc.digest);
}

absl::StatusOr<std::string> Puller::FetchDocument(const Descriptor& desc, int64_t limit) {
  absl::StatusOr<std::string> stored = ReadBlob(content_, desc.digest, limit);
  if (!absl::IsNotFound(stored.status())) return stored;
  return client_->FetchVerified(desc, limit);
}

absl::StatusOr<std::pair<Descriptor, std::string>> Puller::ResolveManifest(const Descriptor& root,
                                                                           std::string root_body) {
  Descriptor desc = root;
  std::string body = std::move(root_body);
  Platform platform = options_.platform.value_or(DefaultPlatform());
  for (int depth = 0;; ++depth) {
    if (IsSchema1Type(desc.media_type)) {
      return absl::UnimplementedError(
          fmt::format("manifest {} is Docker schema 1 ({}), which is not supported; push the image again with a "
                      "current Docker (schema 2) or as OCI",
                      desc.digest, desc.media_type));
    }
    if (IsManifestType(desc.media_type)) {
      LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(body, desc));
      std::vector<Descriptor> children = {manifest.config};
      children.insert(children.end(), manifest.layers.begin(), manifest.layers.end());
      LIMAN_RETURN_IF_ERROR(StoreDocument(desc, body, ChildGcLabels(children)));
      return std::make_pair(std::move(desc), std::move(body));
    }
    if (!IsIndexType(desc.media_type)) {
      return absl::InvalidArgumentError(fmt::format("{}: media type {} is neither an image index nor a manifest",
                                                    desc.digest, Quote(desc.media_type)));
    }
    if (depth >= kMaxIndexDepth)
      return absl::InvalidArgumentError(fmt::format("{}: indexes nested too deep", desc.digest));
    LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, desc));
    LIMAN_RETURN_IF_ERROR(StoreDocument(desc, body, ChildGcLabels(index.manifests)));
    LIMAN_ASSIGN_OR_RETURN(desc, SelectManifest(index, platform));
    LIMAN_ASSIGN_OR_RETURN(body, FetchDocument(desc, kMaxManifestSize));
  }
}

absl::Status Puller::Fetch(const Descriptor& desc, std::unique_ptr<ContentWriter> writer, BytePipe* pipe,
                           const std::atomic<bool>& cancelled) {
  int64_t offset = 0;
  Report({.stage = PullProgress::Stage::kDownloading, .digest = desc.digest, .offset = 0, .total = desc.size});
  absl::Status status = client_->FetchBlob(
      desc,
      [&](std::string_view chunk) -> absl::Status {
        LIMAN_RETURN_IF_ERROR(writer->Write(chunk));  // the writer hashes what it writes
        offset += static_cast<int64_t>(chunk.size());
        Report(
            {.stage = PullProgress::Stage::kDownloading, .digest = desc.digest, .offset = offset, .total = desc.size});
        return pipe != nullptr ? pipe->Write(chunk) : absl::OkStatus();
      },
      &cancelled);
  if (status.ok()) {
    if (std::string actual = writer->Digest(); actual != desc.digest) {
      status = absl::DataLossError(fmt::format("registry sent content with digest {}", actual));
    }
  }
  if (status.ok()) {
    status = writer->Commit(desc.size, desc.digest, SourceLabel());
    if (absl::IsAlreadyExists(status)) status = AddSourceLabel(desc.digest);
  }
  if (!status.ok()) {
    AbortIngest(content_, writer, IngestRef(desc));
    return status;
  }
  Report({.stage = PullProgress::Stage::kDownloaded, .digest = desc.digest, .offset = desc.size, .total = desc.size});
  return absl::OkStatus();
}

absl::StatusOr<PullResult> Puller::Run(const Reference& ref) {
  LIMAN_ASSIGN_OR_RETURN(client_, RegistryClient::Create(ref, options_.registry));
  source_key_ = kDistributionSourcePrefix + ref.Hostname();
  source_repo_ = ref.path;

  LIMAN_ASSIGN_OR_RETURN(RegistryClient::FetchedManifest root, client_->GetManifest(ref.Object()));
  PullResult result{.name = ref.String(), .target = root.descriptor};
  Report({.stage = PullProgress::Stage::kResolved, .digest = root.descriptor.digest, .total = root.descriptor.size});

  LIMAN_ASSIGN_OR_RETURN(auto resolved, ResolveManifest(root.descriptor, std::move(root.body)));
  result.manifest = std::move(resolved.first);
  LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(resolved.second, result.manifest));
  const Descriptor& config_desc = manifest.config;
  if (!IsConfigType(config_desc.media_type)) {
    return absl::InvalidArgumentError(fmt::format("manifest {}: config {} has media type {}, not an image config",
                                                  result.manifest.digest, config_desc.digest,
                                                  Quote(config_desc.media_type)));
  }
  LIMAN_ASSIGN_OR_RETURN(std::string config_body, FetchDocument(config_desc, kMaxConfigSize));
  LIMAN_RETURN_IF_ERROR(StoreDocument(config_desc, config_body, {}));
  LIMAN_ASSIGN_OR_RETURN(ImageConfig config, ConfigForManifest(config_body, manifest, result.manifest));
  result.config_digest = config_desc.digest;

  UnpackOptions unpack_options{
      .max_concurrent = options_.max_concurrent_downloads, .temp_dir = options_.temp_dir, .progress = &progress_,
      .sync_fs = options_.sync_fs};
  LIMAN_ASSIGN_OR_RETURN(result.chain_id, UnpackLayers(manifest.layers, config.diff_ids, content_, snapshotter_,
                                                       staging_, unpack_options, this));
  if (!result.chain_id.empty()) {
    LIMAN_RETURN_IF_ERROR(
        AddBlobLabels(content_, config_desc.digest, {{kGcSnapshotLabelPrefix + snapshotter_name_, result.chain_id}}));
  }
  Report({.stage = PullProgress::Stage::kDone, .digest = config_desc.digest});
  return result;
}

}  // namespace

absl::StatusOr<PullResult> Pull(std::string_view ref, const PullOptions& options, ContentStore& content,
                                Snapshotter& snapshotter, StagingSnapshotter* staging,
                                std::string_view snapshotter_name) {
  LIMAN_ASSIGN_OR_RETURN(Reference parsed, ParseReference(ref));
  Puller puller(options, content, snapshotter, staging, snapshotter_name);
  absl::StatusOr<PullResult> result = puller.Run(parsed);
  if (!result.ok()) return Annotate(result.status(), fmt::format("pull {}", parsed.String()));
  return result;
}

}  // namespace liman::containerd::remotes
