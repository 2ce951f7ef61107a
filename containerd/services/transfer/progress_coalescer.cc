#include "containerd/services/transfer/progress_coalescer.h"

#include <chrono>
#include <utility>

namespace liman::containerd::services {

namespace transfer_api = liman::services::transfer::v1;
using Stage = remotes::PullProgress::Stage;

std::string ProgressStatusName(Stage stage) {
  switch (stage) {
    case Stage::kResolved:
      return "resolved";
    case Stage::kExists:
      return "exists";
    case Stage::kDownloading:
      return "downloading";
    case Stage::kDownloaded:
      return "downloaded";
    case Stage::kUnpacked:
      return "unpacked";
    case Stage::kCommitted:
      return "committed";
    case Stage::kDone:
      return "done";
    case Stage::kUploading:
      return "uploading";
    case Stage::kUploaded:
      return "uploaded";
    case Stage::kMounted:
      return "mounted";
  }
  return "unknown";
}

void ProgressCoalescer::Report(const remotes::PullProgress& progress) {
  std::lock_guard lock(mutex_);
  if (progress.stage == Stage::kDownloading || progress.stage == Stage::kUploading) {
    // The blob's previous pending report, if it is a transfer report too, just moves forward
    // (a stage change reported since then must stay in order, so it is not looked past).
    std::string status = ProgressStatusName(progress.stage);
    for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
      if (it->digest() != progress.digest) continue;
      if (it->status() == status) {
        it->set_offset(progress.offset);
        it->set_total(progress.total);
        return;
      }
      break;
    }
  }
  transfer_api::ContentProgress& entry = pending_.emplace_back();
  entry.set_status(ProgressStatusName(progress.stage));
  entry.set_digest(progress.digest);
  entry.set_offset(progress.offset);
  entry.set_total(progress.total);
  entry.set_source(progress.source);
}

void ProgressCoalescer::Finish() {
  std::lock_guard lock(mutex_);
  finished_ = true;
  changed_.notify_all();
}

ProgressCoalescer::Batch ProgressCoalescer::WaitPending(absl::Time deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, absl::ToChronoTime(deadline), [&] { return finished_; });
  return Batch{.progress = std::exchange(pending_, {}), .finished = finished_};
}

}  // namespace liman::containerd::services
