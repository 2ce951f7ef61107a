// One namespace's view of the content store (containerd's metadata/content.go). Blobs live once
// in the backend store shared by all namespaces; a namespace sees a blob only once it has a row
// for it (committed through this view), with its own labels and times. Ingest refs are
// namespaced too: the backend knows ingest "<ns>/<seq>/<ref>".
//
// A view with a lease adds what it commits (and its ingests) to the lease, so garbage
// collection keeps them while the lease lives; without one, committed content is kept only by
// what references it (images, gc.ref labels) and an ingest expires after a day.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "containerd/core/content.h"
#include "containerd/metadata/db_state.h"

namespace liman::containerd::metadata {

class NamespacedContentStore final : public ContentStore {
 public:
  // `ns` must be valid (DB::ContentStore checks it); `lease` may be empty.
  NamespacedContentStore(DbState& state, std::string ns, std::string lease)
      : state_(state), ns_(std::move(ns)), lease_(std::move(lease)) {}

  absl::StatusOr<ContentInfo> Info(std::string_view digest) override;
  // Paths "labels", "labels.<key>"; none: the labels are replaced.
  absl::StatusOr<ContentInfo> Update(const ContentInfo& info, const FieldPaths& paths) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const ContentInfo&)>& fn) override;
  // Removes the namespace's row; the blob goes at the next collection if no namespace has it.
  absl::Status Delete(std::string_view digest) override;
  absl::StatusOr<std::unique_ptr<ContentReader>> ReaderAt(std::string_view digest) override;

  // kAlreadyExists (after adding it to the lease) when the namespace has `expected`. Under the
  // shared policy, an `expected` blob another namespace has (of size `total` if given) needs no
  // bytes: the writer starts complete and Commit just records it. Otherwise the bytes are
  // written and verified on Commit, even if the backend has the blob already.
  absl::StatusOr<std::unique_ptr<ContentWriter>> Writer(std::string_view ref, int64_t total,
                                                        std::string_view expected) override;
  absl::StatusOr<IngestStatus> Status(std::string_view ref) override;
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) override;
  absl::Status Abort(std::string_view ref) override;

 private:
  DbState& state_;
  const std::string ns_;
  const std::string lease_;
};

}  // namespace liman::containerd::metadata
