// The writer lock of one ingest: at most one ContentWriter per ref, in this process and across
// processes sharing the store root. A process-wide set catches a second writer in the same
// process with a clear message; flock(2) on the ingest directory catches another process.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman::containerd::content {

class IngestLock {
 public:
  // Locks the ingest directory `dir` of `ref`, creating it first when `create`.
  // kUnavailable "ref X locked" if another writer holds it; kNotFound if it does not exist (or
  // was removed while we waited) and `create` is false.
  static absl::StatusOr<IngestLock> Acquire(const std::string& dir, std::string_view ref, bool create);

  IngestLock(IngestLock&& other) noexcept;
  IngestLock& operator=(IngestLock&& other) noexcept;
  IngestLock(const IngestLock&) = delete;
  IngestLock& operator=(const IngestLock&) = delete;
  ~IngestLock() { Release(); }

  const std::string& dir() const { return dir_; }
  void Release();

 private:
  IngestLock(std::string dir, UniqueFd fd) : dir_(std::move(dir)), fd_(std::move(fd)) {}

  std::string dir_;  // empty once released or moved from
  UniqueFd fd_;      // the directory, flock'ed
};

}  // namespace liman::containerd::content
