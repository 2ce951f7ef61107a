#include "containerd/remotes/push.h"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/platforms.h"
#include "containerd/remotes/reference.h"
#include "containerd/remotes/registry.h"

namespace liman::containerd::remotes {
namespace {

// Blob bytes read from the content store per write to the connection.
constexpr int64_t kUploadChunk = 1 << 20;

class Pusher {
 public:
  Pusher(const PushOptions& options, ContentStore& content, Reference ref)
      : options_(options), content_(content), ref_(std::move(ref)), progress_(options.progress) {}

  absl::StatusOr<PushResult> Run(const Descriptor& target);

 private:
  void Report(PullProgress progress) { progress_.Report(progress); }
  // `desc` (a manifest or index whose document is `body`) after everything it names, as
  // `object` (the tag for the root, the digest below it).
  absl::Status PushDocumentTree(const Descriptor& desc, const std::string& body, const std::string& object,
                                int depth);
  // A layer or config, unless the registry has it.
  absl::Status PushBlobIfMissing(const Descriptor& desc);
  // PushBlobIfMissing for each, max_concurrent_uploads at a time; the first failure is the
  // answer, and the uploads still running stop at their next chunk.
  absl::Status PushBlobs(const std::vector<Descriptor>& blobs);
  // Another repository of this registry the blob came from (its distribution-source label), if any.
  std::string MountSource(const std::string& digest);
  absl::Status WriteBlobBody(const Descriptor& desc, const std::function<absl::Status(std::string_view)>& write);

  const PushOptions& options_;
  ContentStore& content_;
  const Reference ref_;
  ProgressReporter progress_;
  std::unique_ptr<RegistryClient> client_;
  std::mutex done_mutex_;
  std::set<std::string> done_;  // blobs pushed or found (manifests of an index share layers)
  std::atomic<bool> failed_{false};  // a blob failed: the others stop
};

std::string Pusher::MountSource(const std::string& digest) {
  absl::StatusOr<ContentInfo> info = content_.Info(digest);
  if (!info.ok()) return "";
  auto label = info->labels.find(kDistributionSourcePrefix + ref_.Hostname());
  if (label == info->labels.end()) return "";
  for (absl::string_view repo : absl::StrSplit(label->second, ',', absl::SkipEmpty()))
    if (repo != ref_.path) return std::string(repo);
  return "";
}

absl::Status Pusher::WriteBlobBody(const Descriptor& desc,
                                   const std::function<absl::Status(std::string_view)>& write) {
  // Opened per call: a PUT that goes again starts from the first byte.
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, content_.ReaderAt(desc.digest));
  if (reader->Size() != desc.size)
    return absl::DataLossError(
        fmt::format("blob {} is {} bytes in the content store, the manifest says {}", desc.digest, reader->Size(), desc.size));
  Report({.stage = PullProgress::Stage::kUploading, .digest = desc.digest, .offset = 0, .total = desc.size});
  for (int64_t offset = 0; offset < desc.size;) {
    LIMAN_ASSIGN_OR_RETURN(std::string chunk, reader->ReadAt(offset, std::min(kUploadChunk, desc.size - offset)));
    if (chunk.empty()) return absl::DataLossError(fmt::format("blob {} ended at {} of {} bytes", desc.digest, offset, desc.size));
    if ((options_.cancelled && *options_.cancelled) || failed_)
      return absl::CancelledError(fmt::format("push blob {}: cancelled", desc.digest));
    LIMAN_RETURN_IF_ERROR(write(chunk));
    offset += static_cast<int64_t>(chunk.size());
    Report({.stage = PullProgress::Stage::kUploading, .digest = desc.digest, .offset = offset, .total = desc.size});
  }
  return absl::OkStatus();
}

absl::Status Pusher::PushBlobIfMissing(const Descriptor& desc) {
  {
    std::lock_guard lock(done_mutex_);
    if (!done_.insert(desc.digest).second) return absl::OkStatus();
  }
  auto annotate = [&](const absl::Status& status) { return Annotate(status, fmt::format("blob {}", desc.digest)); };
  // Absent here, it cannot be pushed: say so before asking the registry anything.
  if (absl::Status present = content_.Info(desc.digest).status(); !present.ok()) return annotate(present);
  absl::StatusOr<bool> exists = client_->HasBlob(desc);
  if (!exists.ok()) return annotate(exists.status());
  if (*exists) {
    Report({.stage = PullProgress::Stage::kExists, .digest = desc.digest, .total = desc.size});
    return absl::OkStatus();
  }
  std::string source = MountSource(desc.digest);
  absl::StatusOr<RegistryClient::BlobPush> pushed = client_->PushBlob(
      desc, [&](const auto& write) { return WriteBlobBody(desc, write); }, source);
  if (!pushed.ok()) return annotate(pushed.status());
  if (*pushed == RegistryClient::BlobPush::kMounted) {
    Report({.stage = PullProgress::Stage::kMounted, .digest = desc.digest, .total = desc.size, .source = source});
  } else {
    Report({.stage = PullProgress::Stage::kUploaded, .digest = desc.digest, .offset = desc.size, .total = desc.size});
  }
  return absl::OkStatus();
}

absl::Status Pusher::PushBlobs(const std::vector<Descriptor>& blobs) {
  size_t workers = std::min(blobs.size(), static_cast<size_t>(std::max(1, options_.max_concurrent_uploads)));
  std::atomic<size_t> next{0};
  std::mutex first_mutex;
  absl::Status first;
  auto work = [&] {
    for (size_t i = next++; i < blobs.size() && !failed_; i = next++) {
      absl::Status pushed = PushBlobIfMissing(blobs[i]);
      if (pushed.ok()) continue;
      std::lock_guard lock(first_mutex);
      if (first.ok()) first = pushed;  // before failed_: what the others then answer comes after
      failed_ = true;
    }
  };
  std::vector<std::thread> threads;
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();
  return first;
}

absl::Status Pusher::PushDocumentTree(const Descriptor& desc, const std::string& body, const std::string& object,
                                      int depth) {
  if (IsManifestType(desc.media_type)) {
    LIMAN_ASSIGN_OR_RETURN(Manifest manifest, ParseManifest(body, desc));
    std::vector<Descriptor> blobs = manifest.layers;
    blobs.push_back(manifest.config);
    LIMAN_RETURN_IF_ERROR(PushBlobs(blobs));
  } else if (IsIndexType(desc.media_type)) {
    if (depth >= kMaxIndexDepth) return absl::InvalidArgumentError(fmt::format("{}: indexes nested too deep", desc.digest));
    LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, desc));
    for (const Descriptor& child : index.manifests) {
      absl::StatusOr<std::string> child_body = ReadBlob(content_, child.digest, kMaxManifestSize);
      if (absl::IsNotFound(child_body.status())) {
        return absl::NotFoundError(fmt::format(
            "manifest {}{} of index {} is not in the content store (never pulled): push one platform", child.digest,
            child.platform ? fmt::format(" ({})", FormatPlatform(*child.platform)) : "", desc.digest));
      }
      if (!child_body.ok()) return child_body.status();
      LIMAN_RETURN_IF_ERROR(PushDocumentTree(child, *child_body, child.digest, depth + 1));
    }
  } else {
    return absl::InvalidArgumentError(
        fmt::format("{}: media type {} is neither an image index nor a manifest", desc.digest, Quote(desc.media_type)));
  }
  return client_->PushManifest(object, desc, body);
}

absl::StatusOr<PushResult> Pusher::Run(const Descriptor& target) {
  RegistryOptions registry_options = options_.registry;
  registry_options.push = true;
  LIMAN_ASSIGN_OR_RETURN(client_, RegistryClient::Create(ref_, registry_options));
  Descriptor root = target;
  LIMAN_ASSIGN_OR_RETURN(std::string body, ReadBlob(content_, root.digest, kMaxManifestSize));
  if (options_.platform && IsIndexType(root.media_type)) {
    LIMAN_ASSIGN_OR_RETURN(Index index, ParseIndex(body, root));
    LIMAN_ASSIGN_OR_RETURN(root, SelectManifest(index, *options_.platform));
    LIMAN_ASSIGN_OR_RETURN(body, ReadBlob(content_, root.digest, kMaxManifestSize));
    root.platform.reset();  // the platform was the index's word for it
  }
  LIMAN_RETURN_IF_ERROR(PushDocumentTree(root, body, ref_.Object(), 0));
  Report({.stage = PullProgress::Stage::kDone, .digest = root.digest, .total = root.size});
  return PushResult{.name = ref_.String(), .manifest = root};
}

}  // namespace

absl::StatusOr<PushResult> Push(std::string_view ref, const Descriptor& target, const PushOptions& options,
                                ContentStore& content) {
  LIMAN_ASSIGN_OR_RETURN(Reference parsed, ParseReference(ref));
  Pusher pusher(options, content, parsed);
  absl::StatusOr<PushResult> result = pusher.Run(target);
  if (!result.ok()) return Annotate(result.status(), fmt::format("push {}", parsed.String()));
  return result;
}

}  // namespace liman::containerd::remotes
