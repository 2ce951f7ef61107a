// The content store on a local directory, containerd's content/local layout:
//   <root>/blobs/sha256/<hex>     committed blobs, read-only (0444), never visible half-written
//   <root>/ingest/<sha256(ref)>/  one directory per ingest (see ingest_record.h)
//   <root>/labels/sha256/<hex>    labels of a blob (see label_file.h)
// Writes are resumable by ref (also after a restart: the data is re-hashed), and one writer
// per ref at a time, across processes too. Writers and readers must not outlive the store.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "containerd/core/content.h"

namespace liman::containerd::content {

class LocalWriter;

class LocalStore final : public ContentStore {
 public:
  // Opens the store under `root`, creating the directories it needs.
  static absl::StatusOr<std::unique_ptr<LocalStore>> Open(const std::string& root);

  // The canonical (realpath) root.
  const std::string& root() const { return root_; }
  // Where the blob `digest` lives (whether or not it is there); kInvalidArgument for a bad digest.
  absl::StatusOr<std::string> BlobPath(std::string_view digest) const;
  // The ingest directory of `ref`.
  std::string IngestPath(std::string_view ref) const;

  absl::StatusOr<ContentInfo> Info(std::string_view digest) override;
  // Field paths: none or "labels" replace all labels, "labels.<key>" sets or (when absent
  // from info.labels) removes one; anything else is kInvalidArgument.
  absl::StatusOr<ContentInfo> Update(const ContentInfo& info, const FieldPaths& paths) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const ContentInfo&)>& fn) override;
  absl::Status Delete(std::string_view digest) override;
  absl::StatusOr<std::unique_ptr<ContentReader>> ReaderAt(std::string_view digest) override;

  // A resumed ingest keeps its offset and its total/expected; a `total` or `expected` that
  // contradicts the stored one restarts the ingest from zero (it is other content).
  absl::StatusOr<std::unique_ptr<ContentWriter>> Writer(std::string_view ref, int64_t total,
                                                        std::string_view expected) override;
  absl::StatusOr<IngestStatus> Status(std::string_view ref) override;
  absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) override;
  // kUnavailable while a writer holds the ref, kNotFound for an unknown ref.
  absl::Status Abort(std::string_view ref) override;

 private:
  friend class LocalWriter;

  explicit LocalStore(std::string root);

  std::string BlobPathOfHex(std::string_view hex) const;
  std::string LabelPathOfHex(std::string_view hex) const;
  absl::StatusOr<ContentInfo> InfoOfHex(std::string_view hex) const;

  // Commit's last step: makes the (verified, read-only) file `source` the blob `digest` with
  // `labels`. kAlreadyExists if the blob is there already (nothing changed then).
  absl::Status LinkBlob(const std::string& source, const std::string& digest, const Labels& labels,
                        absl::Time committed_at);

  const std::string root_;
  // Serialises label read-modify-write cycles and commit's check-then-link within the process
  // (blob and label files themselves are replaced atomically).
  std::mutex mutex_;
};

}  // namespace liman::containerd::content
