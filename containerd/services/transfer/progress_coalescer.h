// Pull and push progress as the Transfer service streams it. remotes::Pull reports every chunk a layer
// download writes (thousands per layer); a client wants the latest state of each blob a few
// times a second, and every change of stage. The coalescer collects reports from the pull's
// threads and hands the sender everything pending: the stage changes in the order they happened,
// with a run of "downloading" reports for a blob folded into its latest one.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "containerd/remotes/unpacker.h"
#include "liman/services/transfer/v1/transfer.pb.h"

namespace liman::containerd::services {

// "resolved", "exists", "downloading", "downloaded", "unpacked", "committed", "done",
// "uploading", "uploaded", "mounted".
std::string ProgressStatusName(remotes::PullProgress::Stage stage);

class ProgressCoalescer {
 public:
  // Any thread.
  void Report(const remotes::PullProgress& progress);
  // Wakes WaitPending (the pull is over).
  void Finish();

  struct Batch {
    std::vector<liman::services::transfer::v1::ContentProgress> progress;
    bool finished = false;  // Finish was called: this is the last batch
  };
  // Waits until `deadline` or Finish, then returns what is pending (possibly nothing) and
  // clears it. The sender wakes at its own pace (to look at its client too), not per report.
  Batch WaitPending(absl::Time deadline);

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<liman::services::transfer::v1::ContentProgress> pending_;
  bool finished_ = false;
};

}  // namespace liman::containerd::services
