#include "containerd/metadata/content_view.h"

#include <mutex>
#include <shared_mutex>

#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/metadata/adaptors.h"
#include "containerd/metadata/codec.h"
#include "containerd/metadata/rows.h"
#include "containerd/metadata/validate.h"

namespace liman::containerd::metadata {
namespace {

// Bytes copied per read when a shared ingest turns into a real one.
constexpr int64_t kCopyChunk = 1 << 20;

absl::Status ContentNotFound(std::string_view digest) {
  return absl::NotFoundError(fmt::format("content digest {}: not found", digest));
}

absl::Status RefNotFound(std::string_view ref) {
  return absl::NotFoundError(fmt::format("reference {}: not found", Quote(ref)));
}

constexpr char kSelectContent[] =
    "SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ?1";

absl::StatusOr<ContentInfo> InfoFromRow(const sqlite::Statement& stmt) {
  ContentInfo info{.digest = stmt.Text(0), .size = stmt.Int(1)};
  LIMAN_ASSIGN_OR_RETURN(info.labels, LabelsColumn(stmt, 2));
  info.created_at = DecodeTime(stmt.Int(3));
  info.updated_at = DecodeTime(stmt.Int(4));
  return info;
}

absl::StatusOr<std::optional<ContentInfo>> ReadInfo(sqlite::Connection& db, std::string_view ns,
                                                    std::string_view digest) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} AND digest = ?2", kSelectContent)));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(ns, digest).Step());
  if (!row) return std::nullopt;
  return InfoFromRow(stmt);
}

struct IngestRow {
  std::string backend_ref;
  std::string expected;  // the client's digest, if it gave one
  bool shared = false;   // adopts `expected` from another namespace: nothing in the backend
};

absl::StatusOr<std::optional<IngestRow>> ReadIngest(sqlite::Connection& db, std::string_view ns, std::string_view ref) {
  LIMAN_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      db.Prepare("SELECT backend_ref, expected, shared FROM ingests WHERE namespace = ?1 AND ref = ?2"));
  LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Bind(ns, ref).Step());
  if (!row) return std::nullopt;
  return IngestRow{.backend_ref = stmt.Text(0), .expected = stmt.Text(1), .shared = stmt.Int(2) != 0};
}

// The backend's status of an ingest under the namespace's ref. The backend never learns the
// expected digest (it would refuse a blob another namespace has), so it comes from the row.
IngestStatus NamespacedStatus(IngestStatus status, std::string_view ref, const std::string& expected) {
  status.ref = std::string(ref);
  if (status.expected.empty()) status.expected = expected;
  return status;
}

absl::Status DeleteIngestRow(sqlite::Connection& db, std::string_view ns, std::string_view ref) {
  LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare("DELETE FROM ingests WHERE namespace = ?1 AND ref = ?2"));
  return stmt.Bind(ns, ref).Run();
}

// The writer a namespaced ingest hands out. For a shared ingest (the namespace adopts a blob
// the backend has) there is no backend writer until the client writes after all: then the
// blob's bytes are copied into a real backend ingest first (containerd's createAndCopy).
class NamespacedWriter final : public ContentWriter {
 public:
  // `backend` is null for a shared ingest; `expected` is the client's digest ("" if unknown).
  NamespacedWriter(DbState& state, std::string ns, std::string lease, std::string ref, std::string backend_ref,
                   std::unique_ptr<ContentWriter> backend, std::string expected, int64_t total)
      : state_(state),
        ns_(std::move(ns)),
        lease_(std::move(lease)),
        ref_(std::move(ref)),
        backend_ref_(std::move(backend_ref)),
        backend_(std::move(backend)),
        expected_(std::move(expected)),
        total_(total),
        started_(state.clock()) {}

  absl::Status Write(std::string_view data) override {
    if (backend_ == nullptr) {
      if (data.empty()) return absl::OkStatus();
      LIMAN_RETURN_IF_ERROR(Unshare(total_));
    }
    return backend_->Write(data);
  }

  int64_t Offset() const override { return backend_ != nullptr ? backend_->Offset() : total_; }

  absl::Status Truncate(int64_t offset) override {
    if (backend_ != nullptr) return backend_->Truncate(offset);
    return Unshare(offset);
  }

  absl::Status Commit(int64_t size, std::string_view expected_digest, const Labels& labels) override;

  IngestStatus Status() const override {
    IngestStatus status;
    if (backend_ != nullptr) {
      status = backend_->Status();
    } else {
      status.offset = status.total = total_;
      status.started_at = status.updated_at = started_;
    }
    return NamespacedStatus(std::move(status), ref_, expected_);
  }

  std::string Digest() const override { return backend_ != nullptr ? backend_->Digest() : expected_; }

 private:
  // Opens the backend ingest and copies the first `length` bytes of the shared blob into it.
  absl::Status Unshare(int64_t length) {
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, state_.content->Writer(backend_ref_, total_, ""));
    if (length > 0) {
      LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, state_.content->ReaderAt(expected_));
      for (int64_t offset = 0; offset < length;) {
        LIMAN_ASSIGN_OR_RETURN(std::string chunk, reader->ReadAt(offset, std::min(kCopyChunk, length - offset)));
        if (chunk.empty())
          return absl::DataLossError(fmt::format("content {}: shorter than {} bytes", expected_, length));
        LIMAN_RETURN_IF_ERROR(writer->Write(chunk));
        offset += static_cast<int64_t>(chunk.size());
      }
    }
    backend_ = std::move(writer);
    // The backend has an ingest now: Abort must remove it.
    return state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                             db.Prepare("UPDATE ingests SET shared = 0 WHERE namespace = ?1 AND ref = ?2"));
      return stmt.Bind(ns_, ref_).Run();
    });
  }

  DbState& state_;
  const std::string ns_;
  const std::string lease_;
  const std::string ref_;
  const std::string backend_ref_;
  std::unique_ptr<ContentWriter> backend_;
  const std::string expected_;
  const int64_t total_;
  const absl::Time started_;
};

absl::Status NamespacedWriter::Commit(int64_t size, std::string_view expected_digest, const Labels& labels) {
  LIMAN_RETURN_IF_ERROR(ValidateLabels(labels, "info.Labels"));
  Labels stored = labels;
  DropEmptyValues(stored);
  // Shared: the collector must not see the blob committed without its row.
  std::shared_lock backend_lock(state_.content_lock);

  std::string actual;
  if (backend_ == nullptr) {
    if (size != 0 && size != total_)
      return absl::FailedPreconditionError(fmt::format("unexpected commit size {}, expected {}", total_, size));
    if (!expected_digest.empty() && expected_digest != expected_)
      return absl::FailedPreconditionError(
          fmt::format("unexpected commit digest {}, expected {}", expected_, expected_digest));
    size = total_;
    actual = expected_;
  } else {
    // The backend verifies size and digest; a blob it already has (another namespace's) is
    // fine: these bytes were just proven to be it.
    int64_t written = backend_->Offset();
    absl::Status status = backend_->Commit(size, expected_digest, {});
    if (!status.ok() && !absl::IsAlreadyExists(status)) return status;
    size = written;
    actual = backend_->Digest();
  }

  absl::Status result = absl::OkStatus();
  absl::Time now = state_.clock();
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(EnsureNamespace(db, ns_));
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement insert,
                           db.Prepare("INSERT OR IGNORE INTO content(namespace, digest, size, labels, created_at, "
                                      "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)"));
    LIMAN_RETURN_IF_ERROR(insert.Bind(ns_, actual, size, EncodeLabels(stored), EncodeTime(now)).Run());
    if (db.Changes() == 0) result = absl::AlreadyExistsError(fmt::format("content {}: already exists", actual));
    LIMAN_RETURN_IF_ERROR(DeleteIngestRow(db, ns_, ref_));
    LIMAN_RETURN_IF_ERROR(RemoveLeaseResource(db, ns_, lease_, kResourceIngests, ref_));
    return AddLeaseResource(db, ns_, lease_, kResourceContent, actual);
  }));
  return result;
}

}  // namespace

absl::StatusOr<ContentInfo> NamespacedContentStore::Info(std::string_view digest) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::optional<ContentInfo> info;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(info, ReadInfo(db, ns_, digest));
    return absl::OkStatus();
  }));
  if (!info) return ContentNotFound(digest);
  return *std::move(info);
}

absl::StatusOr<ContentInfo> NamespacedContentStore::Update(const ContentInfo& info, const FieldPaths& paths) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(info.digest));
  ContentInfo updated;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<ContentInfo> current, ReadInfo(db, ns_, info.digest));
    if (!current) return ContentNotFound(info.digest);
    updated = *std::move(current);
    if (paths.empty()) updated.labels = info.labels;
    for (const std::string& path : paths) {
      if (!ApplyMapFieldPath(path, "labels", updated.labels, info.labels)) {
        return absl::InvalidArgumentError(
            fmt::format("cannot update {} field on content info {}", Quote(path), Quote(info.digest)));
      }
    }
    LIMAN_RETURN_IF_ERROR(ValidateLabels(updated.labels, "info.Labels"));
    DropEmptyValues(updated.labels);
    updated.updated_at = state_.clock();
    LIMAN_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        db.Prepare("UPDATE content SET labels = ?3, updated_at = ?4 WHERE namespace = ?1 AND digest = ?2"));
    return stmt.Bind(ns_, updated.digest, EncodeLabels(updated.labels), EncodeTime(updated.updated_at)).Run();
  }));
  return updated;
}

absl::Status NamespacedContentStore::Walk(const std::vector<std::string>& filters,
                                          const std::function<absl::Status(const ContentInfo&)>& fn) {
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::vector<ContentInfo> infos;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt, db.Prepare(fmt::format("{} ORDER BY digest", kSelectContent)));
    stmt.Bind(ns_);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      LIMAN_ASSIGN_OR_RETURN(ContentInfo info, InfoFromRow(stmt));
      if (filter.Match(AdaptContentInfo(info))) infos.push_back(std::move(info));
    }
  }));
  // Outside the transaction: `fn` may call back into the store.
  for (const ContentInfo& info : infos) LIMAN_RETURN_IF_ERROR(fn(info));
  return absl::OkStatus();
}

absl::Status NamespacedContentStore::Delete(std::string_view digest) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(digest));
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare("DELETE FROM content WHERE namespace = ?1 AND digest = ?2"));
    LIMAN_RETURN_IF_ERROR(stmt.Bind(ns_, digest).Run());
    if (db.Changes() == 0) return ContentNotFound(digest);
    return RemoveLeaseResource(db, ns_, lease_, kResourceContent, digest);
  }));
  state_.deletions++;
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ContentReader>> NamespacedContentStore::ReaderAt(std::string_view digest) {
  LIMAN_RETURN_IF_ERROR(Info(digest).status());
  return state_.content->ReaderAt(digest);
}

absl::StatusOr<std::unique_ptr<ContentWriter>> NamespacedContentStore::Writer(std::string_view ref, int64_t total,
                                                                              std::string_view expected) {
  if (ref.empty()) return absl::InvalidArgumentError("ref must not be empty");
  if (!expected.empty()) LIMAN_RETURN_IF_ERROR(ValidateDigest(expected));
  // Shared from here until the backend ingest exists: the collector aborts backend ingests
  // that no row names, and removes blobs no row or shared ingest names.
  std::shared_lock backend_lock(state_.content_lock);

  bool exists = false;
  bool shared = false;
  bool created_row = false;
  IngestRow ingest;
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    if (!expected.empty()) {
      LIMAN_ASSIGN_OR_RETURN(std::optional<ContentInfo> info, ReadInfo(db, ns_, expected));
      if (info) {
        // Lease it so that the caller's lease keeps it from now on, then report it exists
        // (after this transaction commits, so the lease holds).
        if (absl::Status status = AddLeaseResource(db, ns_, lease_, kResourceContent, expected); !status.ok())
          return Annotate(status, "unable to lease content");
        exists = true;
        return absl::OkStatus();
      }
      if (state_.content_sharing == ContentSharingPolicy::kShared) {
        if (absl::StatusOr<ContentInfo> backend_info = state_.content->Info(expected);
            backend_info.ok() && (total == 0 || total == backend_info->size)) {
          shared = true;
          total = backend_info->size;
        }
      }
    }
    LIMAN_RETURN_IF_ERROR(EnsureNamespace(db, ns_));
    LIMAN_ASSIGN_OR_RETURN(std::optional<IngestRow> existing, ReadIngest(db, ns_, ref));
    if (existing) {
      ingest = *std::move(existing);
    } else {
      LIMAN_ASSIGN_OR_RETURN(int64_t sequence, NextSequence(db, kBackendSequence));
      ingest.backend_ref = BackendKey(ns_, sequence, ref);
      created_row = true;
    }
    // A resumed ingest keeps the digest it was opened with unless given another.
    if (!expected.empty()) ingest.expected = std::string(expected);
    ingest.shared = shared;
    // A leased ingest lives as long as its lease; any other is stale after ingest_expiry.
    std::optional<int64_t> expires_at;
    if (lease_.empty()) expires_at = EncodeTime(state_.clock() + state_.ingest_expiry);
    LIMAN_RETURN_IF_ERROR(AddLeaseResource(db, ns_, lease_, kResourceIngests, ref));
    std::optional<std::string_view> stored_expected;
    if (!ingest.expected.empty()) stored_expected = ingest.expected;
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           db.Prepare("INSERT INTO ingests(namespace, ref, backend_ref, expected, shared, expires_at) "
                                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(namespace, ref) DO UPDATE SET "
                                      "expected = ?4, shared = ?5, expires_at = ?6"));
    return stmt.Bind(ns_, ref, ingest.backend_ref, stored_expected, shared ? 1 : 0, expires_at).Run();
  }));
  if (exists) return absl::AlreadyExistsError(fmt::format("content {}: already exists", expected));

  std::unique_ptr<ContentWriter> backend;
  if (!shared) {
    // No expected digest for the backend: it must not answer "already exists" for a blob
    // another namespace has, the bytes have to be written (and are verified on commit).
    absl::StatusOr<std::unique_ptr<ContentWriter>> opened = state_.content->Writer(ingest.backend_ref, total, "");
    if (!opened.ok()) {
      // Drop the row this call made unless another writer holds the ingest: kUnavailable, and
      // that writer may not have written the ingest's files yet (so Status cannot tell); with the
      // row gone, a third writer would make a second ingest under a new backend ref and two
      // writers would both hold the ref.
      if (created_row && !absl::IsUnavailable(opened.status()) &&
          absl::IsNotFound(state_.content->Status(ingest.backend_ref).status())) {
        absl::Status undo = state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
          LIMAN_RETURN_IF_ERROR(DeleteIngestRow(db, ns_, ref));
          return RemoveLeaseResource(db, ns_, lease_, kResourceIngests, ref);
        });
        if (!undo.ok()) LogWarn("drop ingest {} after a failed open: {}", Quote(ref), undo);
      }
      return Annotate(opened.status(), fmt::format("ingest {}", Quote(ref)));
    }
    backend = *std::move(opened);
  }
  return std::make_unique<NamespacedWriter>(state_, ns_, lease_, std::string(ref), std::move(ingest.backend_ref),
                                            std::move(backend), std::move(ingest.expected), total);
}

absl::StatusOr<IngestStatus> NamespacedContentStore::Status(std::string_view ref) {
  std::optional<IngestRow> ingest;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(ingest, ReadIngest(db, ns_, ref));
    return absl::OkStatus();
  }));
  if (!ingest) return RefNotFound(ref);
  LIMAN_ASSIGN_OR_RETURN(IngestStatus status, state_.content->Status(ingest->backend_ref));
  return NamespacedStatus(std::move(status), ref, ingest->expected);
}

absl::StatusOr<std::vector<IngestStatus>> NamespacedContentStore::ListStatuses(
    const std::vector<std::string>& filters) {
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::vector<std::pair<std::string, IngestRow>> ingests;
  LIMAN_RETURN_IF_ERROR(state_.pool->Read([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        db.Prepare("SELECT ref, backend_ref, expected, shared FROM ingests WHERE namespace = ?1 ORDER BY ref"));
    stmt.Bind(ns_);
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      ingests.emplace_back(
          stmt.Text(0), IngestRow{.backend_ref = stmt.Text(1), .expected = stmt.Text(2), .shared = stmt.Int(3) != 0});
    }
  }));
  std::vector<IngestStatus> statuses;
  for (const auto& [ref, ingest] : ingests) {
    absl::StatusOr<IngestStatus> status = state_.content->Status(ingest.backend_ref);
    if (absl::IsNotFound(status.status())) continue;  // a shared ingest: nothing in the backend
    if (!status.ok()) return status.status();
    IngestStatus namespaced = NamespacedStatus(*std::move(status), ref, ingest.expected);
    if (filter.Match(AdaptIngestStatus(namespaced))) statuses.push_back(std::move(namespaced));
  }
  return statuses;
}

absl::Status NamespacedContentStore::Abort(std::string_view ref) {
  std::shared_lock backend_lock(state_.content_lock);
  LIMAN_RETURN_IF_ERROR(state_.pool->Write([&](sqlite::Connection& db) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<IngestRow> ingest, ReadIngest(db, ns_, ref));
    if (!ingest) return RefNotFound(ref);
    LIMAN_RETURN_IF_ERROR(DeleteIngestRow(db, ns_, ref));
    LIMAN_RETURN_IF_ERROR(RemoveLeaseResource(db, ns_, lease_, kResourceIngests, ref));
    // A shared ingest that was never written to has nothing in the backend (and one that was
    // is aborted there by the next collection).
    if (ingest->shared) return absl::OkStatus();
    absl::Status status = state_.content->Abort(ingest->backend_ref);
    if (absl::IsNotFound(status)) return absl::OkStatus();
    return status;
  }));
  state_.deletions++;
  return absl::OkStatus();
}

}  // namespace liman::containerd::metadata
