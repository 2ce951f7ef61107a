// One open ingest of a LocalStore: appends to <ingest>/data while hashing, and on Commit
// verifies and links the data into blobs/. Holds the ingest's lock until committed or dropped;
// dropping it keeps the ingest for a later writer with the same ref.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/unique_fd.h"
#include "containerd/content/digest.h"
#include "containerd/content/ingest_lock.h"
#include "containerd/core/content.h"

namespace liman::containerd::content {

class LocalStore;

class LocalWriter final : public ContentWriter {
 public:
  // Opens or resumes the ingest of `ref` in `store` (arguments already validated).
  static absl::StatusOr<std::unique_ptr<LocalWriter>> Open(LocalStore* store, std::string_view ref, int64_t total,
                                                           std::string_view expected);
  ~LocalWriter() override;

  absl::Status Write(std::string_view data) override;
  int64_t Offset() const override { return status_.offset; }
  // Any offset up to the current one (the kept prefix is re-hashed), not only 0.
  absl::Status Truncate(int64_t offset) override;
  // Without a size or digest argument, the total/expected given to Writer are checked.
  absl::Status Commit(int64_t size, std::string_view expected_digest, const Labels& labels) override;
  IngestStatus Status() const override { return status_; }
  std::string Digest() const override { return digester_.Digest(); }

 private:
  LocalWriter(LocalStore* store, IngestLock lock, UniqueFd data, Sha256Digester digester, IngestStatus status);

  absl::Status CheckOpen() const;
  std::string DataPath() const;
  // Leaves the ingest as it is for a later writer: syncs data, records updatedat, unlocks.
  void Close();

  LocalStore* store_;
  IngestLock lock_;
  UniqueFd data_;  // O_RDWR; writes go at status_.offset
  Sha256Digester digester_;
  IngestStatus status_;
  bool closed_ = false;
};

// Feeds the first `length` bytes of `fd` (all of it when length < 0) to `digester`; returns
// how many there were.
absl::StatusOr<int64_t> HashFilePrefix(int fd, int64_t length, Sha256Digester& digester, std::string_view shown);

}  // namespace liman::containerd::content
