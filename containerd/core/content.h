// The content store: immutable blobs addressed by digest ("sha256:<hex>"), written through
// resumable ingests named by a caller's ref. Modelled on containerd's content.Store; the
// filesystem implementation is content/local_store, the namespaced view the API serves is
// metadata/content (blobs shared, labels and visibility per namespace).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liman::containerd {

using Labels = std::map<std::string, std::string>;

struct ContentInfo {
  std::string digest;  // "sha256:<64 hex>"
  int64_t size = 0;
  absl::Time created_at;
  absl::Time updated_at;
  Labels labels;
};

// An ingest in progress (containerd's content.Status).
struct IngestStatus {
  std::string ref;
  int64_t offset = 0;    // bytes written so far
  int64_t total = 0;     // expected size, 0 when unknown
  std::string expected;  // expected digest, empty when unknown
  absl::Time started_at;
  absl::Time updated_at;
};

// Reads a committed blob at any offset; the blob cannot change while it is open.
class ContentReader {
 public:
  virtual ~ContentReader() = default;
  virtual int64_t Size() const = 0;
  // Up to `length` bytes from `offset`; fewer only at the end of the blob.
  virtual absl::StatusOr<std::string> ReadAt(int64_t offset, int64_t length) = 0;
};

// One open ingest. Dropping the writer without Commit keeps the ingest (resumable by ref);
// Abort on the store removes it.
class ContentWriter {
 public:
  virtual ~ContentWriter() = default;
  virtual absl::Status Write(std::string_view data) = 0;
  // Bytes written so far; a resumed ingest starts at its previous offset.
  virtual int64_t Offset() const = 0;
  // Restarts the ingest at `offset` (only 0 is supported: the running digest cannot rewind).
  virtual absl::Status Truncate(int64_t offset) = 0;
  // Verifies size (if > 0) and digest (if not empty) against what was written, then moves the
  // blob into place atomically. kFailedPrecondition on mismatch (ingest kept);
  // kAlreadyExists if the blob was already there (ingest removed).
  virtual absl::Status Commit(int64_t size, std::string_view expected_digest, const Labels& labels) = 0;
  virtual IngestStatus Status() const = 0;
  // "sha256:<hex>" of the bytes written so far.
  virtual std::string Digest() const = 0;
};

// Field paths for Update, as containerd names them: "labels" (replace all) or "labels.<key>".
using FieldPaths = std::vector<std::string>;

class ContentStore {
 public:
  virtual ~ContentStore() = default;
  // kNotFound when the blob is absent.
  virtual absl::StatusOr<ContentInfo> Info(std::string_view digest) = 0;
  virtual absl::StatusOr<ContentInfo> Update(const ContentInfo& info, const FieldPaths& paths) = 0;
  // Calls `fn` for every blob matching the containerd filters (empty: all); stops at an error.
  virtual absl::Status Walk(const std::vector<std::string>& filters,
                            const std::function<absl::Status(const ContentInfo&)>& fn) = 0;
  virtual absl::Status Delete(std::string_view digest) = 0;
  virtual absl::StatusOr<std::unique_ptr<ContentReader>> ReaderAt(std::string_view digest) = 0;

  // Opens (or resumes) the ingest `ref`. kUnavailable if another writer holds the same ref.
  // `total`/`expected` may be 0/empty. If `expected` is already committed: kAlreadyExists.
  virtual absl::StatusOr<std::unique_ptr<ContentWriter>> Writer(std::string_view ref, int64_t total,
                                                                std::string_view expected) = 0;
  virtual absl::StatusOr<IngestStatus> Status(std::string_view ref) = 0;
  virtual absl::StatusOr<std::vector<IngestStatus>> ListStatuses(const std::vector<std::string>& filters) = 0;
  virtual absl::Status Abort(std::string_view ref) = 0;
};

}  // namespace liman::containerd
