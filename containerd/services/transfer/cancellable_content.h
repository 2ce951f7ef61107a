// A content store that refuses further writes once a flag is set: how a pull or import whose
// client went away is stopped. Every byte a pull downloads goes through a content writer (and
// from there into the unpacker's pipe), so failing the writes ends the downloads, which ends the
// unpack, and the pull unwinds through its ordinary error path (ingests aborted, staging
// directories and prepared snapshots removed) without remotes knowing about gRPC.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "containerd/core/content.h"

namespace liman::containerd::services {

class CancellableContentStore final : public ContentStore {
 public:
  // `base` and `cancelled` must outlive the store and its writers.
  CancellableContentStore(ContentStore& base, const std::atomic<bool>& cancelled)
      : base_(base), cancelled_(cancelled) {}

  absl::StatusOr<ContentInfo> Info(std::string_view digest) override { return base_.Info(digest); }
  absl::StatusOr<ContentInfo> Update(const ContentInfo& info, const FieldPaths& paths) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const ContentInfo&)>& fn) override {
    return base_.Walk(filters, fn);
  }
  absl::Status Delete(std::string_view digest) override { return base_.Delete(digest); }
  absl::StatusOr<std::unique_ptr<ContentReader>> ReaderAt(std::string_view digest) override {
    return base_.ReaderAt(digest);
  }
  absl::StatusOr<std::unique_ptr<ContentWriter>> Writer(std::string_view ref, int64_t total,
                                                        std::string_view expected) override;
  absl::StatusOr<IngestStatus> Status(std::string_view ref) override { return base_.Status(ref); }
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) override {
    return base_.ListStatuses(filters);
  }
  absl::Status Abort(std::string_view ref) override { return base_.Abort(ref); }

 private:
  ContentStore& base_;
  const std::atomic<bool>& cancelled_;
};

}  // namespace liman::containerd::services
