#include "containerd/content/local_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/wall_clock.h"
#include "containerd/content/ingest_record.h"
#include "containerd/content/local_store.h"
#include "fmt/format.h"

namespace liman::containerd::content {
namespace {

// Whether the stored record of an ingest may be continued by a writer asking for
// `total`/`expected`; the reason why not otherwise.
std::string ResumeConflict(const IngestStatus& record, std::string_view ref, int64_t total, std::string_view expected) {
  if (record.ref != ref) return fmt::format("it records ref {}", Quote(record.ref));
  if (total > 0 && record.total > 0 && total != record.total)
    return fmt::format("its total {} differs from {}", record.total, total);
  if (!expected.empty() && !record.expected.empty() && expected != record.expected)
    return fmt::format("its expected digest {} differs from {}", record.expected, expected);
  return "";
}

}  // namespace

absl::StatusOr<int64_t> HashFilePrefix(int fd, int64_t length, Sha256Digester& digester, std::string_view shown) {
  std::vector<char> buffer(1 << 20);
  int64_t done = 0;
  while (length < 0 || done < length) {
    size_t want = buffer.size();
    if (length >= 0) want = static_cast<size_t>(std::min<int64_t>(length - done, static_cast<int64_t>(want)));
    ssize_t n = pread(fd, buffer.data(), want, done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("read {}", Quote(shown)));
    if (n == 0) break;
    digester.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    done += n;
  }
  if (length >= 0 && done < length)
    return absl::DataLossError(fmt::format("read {}: {} bytes, expected at least {}", Quote(shown), done, length));
  return done;
}

absl::StatusOr<std::unique_ptr<LocalWriter>> LocalWriter::Open(LocalStore* store, std::string_view ref, int64_t total,
                                                               std::string_view expected) {
  const std::string dir = store->IngestPath(ref);
  LIMAN_ASSIGN_OR_RETURN(IngestLock lock, IngestLock::Acquire(dir, ref, /*create=*/true));
  const std::string data_path = JoinPath(dir, kIngestDataFile);

  bool resume = false;
  auto record = ReadIngestRecord(dir);
  if (record.ok()) {
    std::string conflict = ResumeConflict(*record, ref, total, expected);
    if (conflict.empty()) {
      resume = true;
    } else {
      LogInfo("ingest {} of ref {}: restarting, {}", Quote(dir), Quote(ref), conflict);
    }
  } else if (!absl::IsNotFound(record.status())) {
    LogWarn("ingest {} of ref {}: restarting, the record is unreadable: {}", Quote(dir), Quote(ref), record.status());
  }

  Sha256Digester digester;
  IngestStatus status;
  UniqueFd data;
  if (resume) {
    status = *std::move(record);
    data.reset(open(data_path.c_str(), O_RDWR | O_CLOEXEC));
    if (!data) return ErrnoError(fmt::format("open {}", Quote(data_path)));
    // SHA-256 state cannot be stored portably, so a resumed ingest re-reads what it has.
    LIMAN_ASSIGN_OR_RETURN(status.offset, HashFilePrefix(data.get(), -1, digester, data_path));
    bool learned = (status.total == 0 && total > 0) || (status.expected.empty() && !expected.empty());
    if (learned) {
      if (status.total == 0) status.total = total;
      if (status.expected.empty()) status.expected = std::string(expected);
      LIMAN_RETURN_IF_ERROR(WriteIngestRecord(dir, status));
    }
  } else {
    LIMAN_RETURN_IF_ERROR(InvalidateIngestRecord(dir));
    data.reset(open(data_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!data) return ErrnoError(fmt::format("create {}", Quote(data_path)));
    absl::Time now = WallClockNow();
    status = IngestStatus{.ref = std::string(ref), .offset = 0, .total = total, .expected = std::string(expected),
                          .started_at = now, .updated_at = now};
    LIMAN_RETURN_IF_ERROR(WriteIngestRecord(dir, status));
  }
  return std::unique_ptr<LocalWriter>(
      new LocalWriter(store, std::move(lock), std::move(data), digester, std::move(status)));
}

LocalWriter::LocalWriter(LocalStore* store, IngestLock lock, UniqueFd data, Sha256Digester digester,
                         IngestStatus status)
    : store_(store), lock_(std::move(lock)), data_(std::move(data)), digester_(digester), status_(std::move(status)) {}

LocalWriter::~LocalWriter() { Close(); }

std::string LocalWriter::DataPath() const { return JoinPath(lock_.dir(), kIngestDataFile); }

absl::Status LocalWriter::CheckOpen() const {
  if (closed_)
    return absl::FailedPreconditionError(fmt::format("writer of ref {} is closed (committed)", Quote(status_.ref)));
  return absl::OkStatus();
}

absl::Status LocalWriter::Write(std::string_view data) {
  LIMAN_RETURN_IF_ERROR(CheckOpen());
  status_.updated_at = WallClockNow();
  while (!data.empty()) {
    ssize_t n = pwrite(data_.get(), data.data(), data.size(), status_.offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(fmt::format("write {} at offset {}", Quote(DataPath()), status_.offset));
    digester_.Update(data.substr(0, static_cast<size_t>(n)));
    status_.offset += n;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status LocalWriter::Truncate(int64_t offset) {
  LIMAN_RETURN_IF_ERROR(CheckOpen());
  if (offset < 0 || offset > status_.offset)
    return absl::InvalidArgumentError(fmt::format("truncate ingest of ref {} to {}: the offset is {}",
                                                  Quote(status_.ref), offset, status_.offset));
  if (ftruncate(data_.get(), offset) != 0) return ErrnoError(fmt::format("truncate {}", Quote(DataPath())));
  digester_.Reset();
  LIMAN_ASSIGN_OR_RETURN(status_.offset, HashFilePrefix(data_.get(), offset, digester_, DataPath()));
  status_.updated_at = WallClockNow();
  return absl::OkStatus();
}

absl::Status LocalWriter::Commit(int64_t size, std::string_view expected_digest, const Labels& labels) {
  LIMAN_RETURN_IF_ERROR(CheckOpen());
  if (size < 0) return absl::InvalidArgumentError(fmt::format("commit ref {}: negative size {}", Quote(status_.ref), size));
  if (!expected_digest.empty()) LIMAN_RETURN_IF_ERROR(ValidateDigest(expected_digest));
  const int64_t want_size = size > 0 ? size : status_.total;
  const std::string want_digest = expected_digest.empty() ? status_.expected : std::string(expected_digest);

  const std::string data_path = DataPath();
  if (fsync(data_.get()) != 0) return ErrnoError(fmt::format("fsync {}", Quote(data_path)));
  if (want_size > 0 && want_size != status_.offset)
    return absl::FailedPreconditionError(
        fmt::format("unexpected commit size {}, expected {}", status_.offset, want_size));
  const std::string digest = digester_.Digest();
  if (!want_digest.empty() && want_digest != digest)
    return absl::FailedPreconditionError(fmt::format("unexpected commit digest {}, expected {}", digest, want_digest));

  // Read-only and stamped with the commit time before the rename, so the blob appears in its
  // final form (its mtime is the blob's "created at").
  const absl::Time now = WallClockNow();
  const timespec times[2] = {absl::ToTimespec(now), absl::ToTimespec(now)};
  if (fchmod(data_.get(), 0444) != 0) return ErrnoError(fmt::format("chmod {}", Quote(data_path)));
  if (futimens(data_.get(), times) != 0) return ErrnoError(fmt::format("set times of {}", Quote(data_path)));
  absl::Status linked = store_->LinkBlob(data_path, digest, labels, now);
  if (!linked.ok() && !absl::IsAlreadyExists(linked)) {
    fchmod(data_.get(), 0644);  // the ingest stays open and resumable
    return Annotate(linked, fmt::format("commit ref {}", Quote(status_.ref)));
  }
  // Committed, or the content was there already: either way this ingest is done.
  data_.reset();
  if (absl::Status removed = RemoveAll(lock_.dir()); !removed.ok())
    LogWarn("commit ref {}: remove ingest: {}", Quote(status_.ref), removed);
  lock_.Release();
  closed_ = true;
  return linked;
}

void LocalWriter::Close() {
  if (closed_) return;
  closed_ = true;
  // Synced so that a resume after a crash re-hashes the bytes that were acknowledged.
  if (fsync(data_.get()) != 0) LogWarn("fsync {}: {}", Quote(DataPath()), ErrnoText(errno));
  data_.reset();
  if (absl::Status status = WriteIngestUpdatedAt(lock_.dir(), status_.updated_at); !status.ok())
    LogWarn("ingest of ref {}: {}", Quote(status_.ref), status);
  lock_.Release();
}

}  // namespace liman::containerd::content
