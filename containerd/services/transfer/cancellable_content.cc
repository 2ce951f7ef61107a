#include "containerd/services/transfer/cancellable_content.h"

#include <utility>

namespace liman::containerd::services {
namespace {

absl::Status ClientGone() { return absl::CancelledError("the client cancelled the transfer"); }

class CancellableWriter final : public ContentWriter {
 public:
  CancellableWriter(std::unique_ptr<ContentWriter> base, const std::atomic<bool>& cancelled)
      : base_(std::move(base)), cancelled_(cancelled) {}

  absl::Status Write(std::string_view data) override {
    if (cancelled_) return ClientGone();
    return base_->Write(data);
  }
  int64_t Offset() const override { return base_->Offset(); }
  absl::Status Truncate(int64_t offset) override { return base_->Truncate(offset); }
  absl::Status Commit(int64_t size, std::string_view expected_digest, const Labels& labels) override {
    if (cancelled_) return ClientGone();
    return base_->Commit(size, expected_digest, labels);
  }
  IngestStatus Status() const override { return base_->Status(); }
  std::string Digest() const override { return base_->Digest(); }

 private:
  std::unique_ptr<ContentWriter> base_;
  const std::atomic<bool>& cancelled_;
};

}  // namespace

absl::StatusOr<ContentInfo> CancellableContentStore::Update(const ContentInfo& info, const FieldPaths& paths) {
  if (cancelled_) return ClientGone();
  return base_.Update(info, paths);
}

absl::StatusOr<std::unique_ptr<ContentWriter>> CancellableContentStore::Writer(std::string_view ref, int64_t total,
                                                                              std::string_view expected) {
  if (cancelled_) return ClientGone();
  absl::StatusOr<std::unique_ptr<ContentWriter>> writer = base_.Writer(ref, total, expected);
  if (!writer.ok()) return writer.status();
  return std::make_unique<CancellableWriter>(*std::move(writer), cancelled_);
}

}  // namespace liman::containerd::services
