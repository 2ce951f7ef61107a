#include "common/sqlite.h"

#include <sqlite3.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "common/fmt_absl.h"
#include "common/status.h"

namespace liman::sqlite {
namespace {

// How long a connection waits for a lock held by another connection (another process on the
// same file, or a checkpoint) before giving up with SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 10000;
// Reader connections kept open between transactions.
constexpr size_t kMaxIdleReaders = 8;

absl::StatusCode CodeFor(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return absl::StatusCode::kAlreadyExists;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return absl::StatusCode::kFailedPrecondition;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CANTOPEN:
    case SQLITE_NOTFOUND:
      return absl::StatusCode::kNotFound;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status Error(sqlite3* db, int rc, std::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return absl::Status(CodeFor(rc), fmt::format("sqlite {}: {}", what, message));
}

}  // namespace

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      in_use_(std::exchange(other.in_use_, nullptr)),
      bind_error_(other.bind_error_) {}

Statement::~Statement() {
  if (stmt_ == nullptr) return;
  if (in_use_ == nullptr) {
    sqlite3_finalize(stmt_);
    return;
  }
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  *in_use_ = false;
}

void Statement::BindOne(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::BindOne(int index, Blob blob) {
  // A zero-length blob must still bind as a BLOB, not NULL: give SQLite a non-null pointer.
  static const char kEmpty = 0;
  const char* data = blob.bytes.empty() ? &kEmpty : blob.bytes.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, blob.bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::BindOne(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

void Statement::BindOne(int index, std::nullopt_t) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
}

absl::StatusOr<bool> Statement::Step() {
  if (bind_error_ != 0) return Error(db_, bind_error_, fmt::format("bind {}", sqlite3_sql(stmt_)));
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(db_, sqlite3_extended_errcode(db_), "step");
}

absl::Status Statement::Run() {
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::string Statement::BlobAt(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  if (data == nullptr) return "";
  return std::string(static_cast<const char*>(data), sqlite3_column_bytes(stmt_, column));
}

int64_t Statement::Int(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

absl::StatusOr<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool query_only) {
  sqlite3* db = nullptr;
  // NOMUTEX: the pool guarantees one thread per connection at a time, so SQLite's own
  // per-connection mutex would only cost time. Readers open read-write too (a read-only
  // connection cannot always open a WAL database) and are made query_only instead.
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = Error(db, rc, fmt::format("open {}", Quote(path)));
    sqlite3_close(db);
    return status;
  }
  sqlite3_extended_result_codes(db, 1);
  std::unique_ptr<Connection> connection(new Connection(db));
  // synchronous=FULL: with WAL, NORMAL may lose the last transactions on power loss; the
  // metadata (which image names what, which lease holds what) must survive a crash as
  // acknowledged. foreign_keys is per connection and off by default.
  LIMAN_RETURN_IF_ERROR(connection->Exec(fmt::format(
      "PRAGMA busy_timeout = {}; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA query_only = {};",
      kBusyTimeoutMs, query_only ? "ON" : "OFF")));
  return connection;
}

Connection::~Connection() {
  for (auto& [sql, cached] : statements_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

absl::Status Connection::Exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  absl::Cleanup free_message = [message] { sqlite3_free(message); };
  if (rc != SQLITE_OK) {
    return absl::Status(CodeFor(sqlite3_extended_errcode(db_)),
                        fmt::format("sqlite exec: {}", message != nullptr ? message : sqlite3_errstr(rc)));
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> Connection::Prepare(std::string_view sql) {
  std::string key(sql);
  auto it = statements_.find(key);
  if (it != statements_.end() && !it->second.in_use) {
    it->second.in_use = true;
    return Statement(db_, it->second.stmt, &it->second.in_use);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(db_, rc, fmt::format("prepare {}", Quote(key)));
  if (it != statements_.end()) return Statement(db_, stmt, nullptr);  // the cached one is busy
  // unordered_map nodes are stable: the flag's address stays valid while the entry exists.
  auto [inserted, ok] = statements_.emplace(std::move(key), Cached{stmt, true});
  return Statement(db_, stmt, &inserted->second.in_use);
}

int64_t Connection::Changes() const { return sqlite3_changes64(db_); }

absl::StatusOr<std::unique_ptr<Pool>> Pool::Open(const std::string& path,
                                                 absl::FunctionRef<absl::Status(Connection&)> prepare) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::Open(path, /*query_only=*/false));
  // WAL: readers never block the writer nor see a half-done transaction; the mode is stored
  // in the file, so setting it once on the writer covers every later connection.
  LIMAN_RETURN_IF_ERROR(writer->Exec("PRAGMA journal_mode = WAL;"));
  LIMAN_RETURN_IF_ERROR(prepare(*writer));
  return std::unique_ptr<Pool>(new Pool(path, std::move(writer)));
}

absl::StatusOr<std::unique_ptr<Connection>> Pool::TakeReader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<Connection> reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
  }
  return Connection::Open(path_, /*query_only=*/true);
}

void Pool::ReturnReader(std::unique_ptr<Connection> reader) {
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(reader));
}

absl::Status Pool::Read(TransactionFn fn) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader, TakeReader());
  LIMAN_RETURN_IF_ERROR(reader->Exec("BEGIN"));
  absl::Status status = fn(*reader);
  absl::Status end = reader->Exec(status.ok() ? "COMMIT" : "ROLLBACK");
  if (end.ok()) ReturnReader(std::move(reader));
  return status.ok() ? end : status;
}

absl::Status Pool::Write(TransactionFn fn) {
  std::lock_guard lock(write_mutex_);
  LIMAN_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
  absl::Status status = fn(*writer_);
  if (!status.ok()) {
    (void)writer_->Exec("ROLLBACK");
    return status;
  }
  if (absl::Status commit = writer_->Exec("COMMIT"); !commit.ok()) {
    (void)writer_->Exec("ROLLBACK");
    return commit;
  }
  return absl::OkStatus();
}

}  // namespace liman::sqlite
