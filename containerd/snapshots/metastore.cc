#include "containerd/snapshots/metastore.h"

#include <sqlite3.h>

#include <utility>

#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::containerd::snapshots {
namespace {

constexpr std::string_view kSchemaV1 = R"sql(
CREATE TABLE snapshots (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT    NOT NULL UNIQUE,
  parent_id    INTEGER NULL REFERENCES snapshots(id),
  kind         INTEGER NOT NULL,
  labels       TEXT    NOT NULL,
  created_ns   INTEGER NOT NULL,
  updated_ns   INTEGER NOT NULL,
  usage_size   INTEGER NOT NULL DEFAULT 0,
  usage_inodes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_by_parent ON snapshots(parent_id);
)sql";

// Columns every record query selects, in the order ReadRecord expects.
constexpr std::string_view kRecordColumns =
    "s.id, s.parent_id, s.kind, s.name, p.name, s.labels, s.created_ns, s.updated_ns, "
    "s.usage_size, s.usage_inodes FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent_id";

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  return absl::Status(CodeFor(rc), fmt::format("snapshot metadata: {}: {}", what,
                                               db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

// One prepared statement, finalized on destruction. Statements are prepared per call: the
// snapshotter's operations are few and cheap next to the filesystem work around them.
class Statement {
 public:
  static absl::StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db, rc, "prepare");
    return Statement(db, stmt);
  }
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)) {}
  Statement& operator=(Statement&&) = delete;
  ~Statement() {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
  }

  // Binds ?1, ?2… in order; std::nullopt binds NULL.
  template <typename... Args>
  Statement& Bind(const Args&... args) {
    int index = 1;
    (BindOne(index++, args), ...);
    return *this;
  }
  // true when a row is available.
  absl::StatusOr<bool> Step() {
    if (bind_error_ != SQLITE_OK) return SqliteError(db_, bind_error_, "bind");
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqliteError(db_, rc, "step");
  }
  absl::Status Run() {
    while (true) {
      LIMAN_ASSIGN_OR_RETURN(bool row, Step());
      if (!row) return absl::OkStatus();
    }
  }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return "";
    return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
  }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void Check(int rc) {
    if (rc != SQLITE_OK && bind_error_ == SQLITE_OK) bind_error_ = rc;
  }
  void BindOne(int index, std::string_view text) {
    Check(sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindOne(int index, const std::string& text) { BindOne(index, std::string_view(text)); }
  void BindOne(int index, int64_t value) { Check(sqlite3_bind_int64(stmt_, index, value)); }
  void BindOne(int index, int value) { BindOne(index, static_cast<int64_t>(value)); }
  void BindOne(int index, const std::optional<int64_t>& value) {
    if (value)
      BindOne(index, *value);
    else
      Check(sqlite3_bind_null(stmt_, index));
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

absl::Status Exec(sqlite3* db, std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return absl::OkStatus();
  std::string reason = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return absl::Status(CodeFor(rc), fmt::format("snapshot metadata: {}: {}", sql.substr(0, sql.find('\n')), reason));
}

// Like containerd (boltutil.WriteLabels), a label with an empty value is not stored: setting
// one to "" deletes it.
std::string EncodeLabels(const Labels& labels) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : labels) {
    if (!value.empty()) json[key] = value;
  }
  return json.dump();
}

absl::StatusOr<Labels> DecodeLabels(const std::string& text, std::string_view name) {
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  Labels labels;
  if (!json.is_object())
    return absl::DataLossError(fmt::format("labels of snapshot {}: not a JSON object", Quote(name)));
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string())
      return absl::DataLossError(fmt::format("label {} of snapshot {}: not a string", Quote(key), Quote(name)));
    labels[key] = value.get<std::string>();
  }
  return labels;
}

absl::StatusOr<SnapshotRecord> ReadRecord(const Statement& row) {
  SnapshotRecord record;
  record.id = row.Int(0);
  if (!row.IsNull(1)) record.parent_id = row.Int(1);
  record.info.kind = static_cast<SnapshotKind>(row.Int(2));
  record.info.name = row.Text(3);
  record.info.parent = row.Text(4);
  LIMAN_ASSIGN_OR_RETURN(record.info.labels, DecodeLabels(row.Text(5), record.info.name));
  record.info.created_at = absl::FromUnixNanos(row.Int(6));
  record.info.updated_at = absl::FromUnixNanos(row.Int(7));
  record.usage.size = row.Int(8);
  record.usage.inodes = row.Int(9);
  return record;
}

}  // namespace

absl::StatusOr<SnapshotRecord> MetaTransaction::Get(std::string_view name) {
  LIMAN_ASSIGN_OR_RETURN(Statement query,
                         Statement::Prepare(db_, fmt::format("SELECT {} WHERE s.name = ?1", kRecordColumns)));
  query.Bind(name);
  LIMAN_ASSIGN_OR_RETURN(bool found, query.Step());
  if (!found) return absl::NotFoundError(fmt::format("snapshot {}: not found", Quote(name)));
  return ReadRecord(query);
}

absl::StatusOr<std::vector<int64_t>> MetaTransaction::Chain(int64_t id) {
  LIMAN_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(db_, R"sql(
WITH RECURSIVE chain(id, parent_id, depth) AS (
  SELECT id, parent_id, 0 FROM snapshots WHERE id = ?1
  UNION ALL
  SELECT s.id, s.parent_id, chain.depth + 1 FROM snapshots s JOIN chain ON s.id = chain.parent_id
)
SELECT id FROM chain ORDER BY depth)sql"));
  query.Bind(id);
  std::vector<int64_t> chain;
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) break;
    chain.push_back(query.Int(0));
  }
  if (chain.empty()) return absl::NotFoundError(fmt::format("snapshot id {}: not found", id));
  return chain;
}

absl::StatusOr<bool> MetaTransaction::HasChildren(int64_t id) {
  LIMAN_ASSIGN_OR_RETURN(Statement query,
                         Statement::Prepare(db_, "SELECT 1 FROM snapshots WHERE parent_id = ?1 LIMIT 1"));
  query.Bind(id);
  return query.Step();
}

absl::StatusOr<std::vector<SnapshotRecord>> MetaTransaction::List() {
  LIMAN_ASSIGN_OR_RETURN(Statement query,
                         Statement::Prepare(db_, fmt::format("SELECT {} ORDER BY s.id", kRecordColumns)));
  std::vector<SnapshotRecord> records;
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return records;
    LIMAN_ASSIGN_OR_RETURN(SnapshotRecord record, ReadRecord(query));
    records.push_back(std::move(record));
  }
}

absl::StatusOr<std::set<int64_t>> MetaTransaction::Ids() {
  LIMAN_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(db_, "SELECT id FROM snapshots"));
  std::set<int64_t> ids;
  while (true) {
    LIMAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (!row) return ids;
    ids.insert(query.Int(0));
  }
}

absl::StatusOr<int64_t> MetaTransaction::Insert(SnapshotKind kind, std::string_view name,
                                                std::optional<int64_t> parent_id, const Labels& labels,
                                                absl::Time now) {
  LIMAN_ASSIGN_OR_RETURN(Statement insert, Statement::Prepare(db_, R"sql(
INSERT INTO snapshots (name, parent_id, kind, labels, created_ns, updated_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?5))sql"));
  insert.Bind(name, parent_id, static_cast<int>(kind), EncodeLabels(labels), absl::ToUnixNanos(now));
  LIMAN_RETURN_IF_ERROR(insert.Run());
  return sqlite3_last_insert_rowid(db_);
}

absl::Status MetaTransaction::Commit(int64_t id, std::string_view name, const Labels& labels,
                                     const SnapshotUsage& usage, absl::Time now) {
  LIMAN_ASSIGN_OR_RETURN(Statement update, Statement::Prepare(db_, R"sql(
UPDATE snapshots SET name = ?2, kind = ?3, labels = ?4, created_ns = ?5, updated_ns = ?5,
  usage_size = ?6, usage_inodes = ?7 WHERE id = ?1)sql"));
  update.Bind(id, name, static_cast<int>(SnapshotKind::kCommitted), EncodeLabels(labels), absl::ToUnixNanos(now),
              usage.size, usage.inodes);
  return update.Run();
}

absl::Status MetaTransaction::SetLabels(int64_t id, const Labels& labels, absl::Time now) {
  LIMAN_ASSIGN_OR_RETURN(Statement update,
                         Statement::Prepare(db_, "UPDATE snapshots SET labels = ?2, updated_ns = ?3 WHERE id = ?1"));
  update.Bind(id, EncodeLabels(labels), absl::ToUnixNanos(now));
  return update.Run();
}

absl::Status MetaTransaction::Delete(int64_t id) {
  LIMAN_ASSIGN_OR_RETURN(Statement remove, Statement::Prepare(db_, "DELETE FROM snapshots WHERE id = ?1"));
  remove.Bind(id);
  return remove.Run();
}

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // NOMUTEX: the snapshotter serialises every use of the connection itself.
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<MetaStore> store(new MetaStore(db));  // closes `db` on every return below
  if (rc != SQLITE_OK) return Annotate(SqliteError(db, rc, "open"), fmt::format("open {}", Quote(path)));
  sqlite3_busy_timeout(db, 10000);
  // WAL: a crash mid-transaction never damages committed data; FULL: a commit is on disk
  // when it returns (https://www.sqlite.org/pragma.html#pragma_synchronous).
  LIMAN_RETURN_IF_ERROR(Annotate(Exec(db,
                                      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                                      "PRAGMA foreign_keys = ON;"),
                                 fmt::format("open {}", Quote(path))));
  LIMAN_RETURN_IF_ERROR(Annotate(store->Migrate(), fmt::format("open {}", Quote(path))));
  return store;
}

MetaStore::~MetaStore() { sqlite3_close_v2(db_); }

absl::Status MetaStore::Migrate() {
  return Transaction("BEGIN IMMEDIATE", [&](MetaTransaction&) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(Statement query, Statement::Prepare(db_, "PRAGMA user_version"));
    LIMAN_ASSIGN_OR_RETURN(bool row, query.Step());
    int64_t version = row ? query.Int(0) : 0;
    if (version > kSchemaVersion) {
      return absl::FailedPreconditionError(
          fmt::format("snapshot metadata schema version {} is newer than this binary's {}", version, kSchemaVersion));
    }
    if (version == kSchemaVersion) return absl::OkStatus();
    // Steps from `version` up; only one version exists so far.
    if (version == 0) LIMAN_RETURN_IF_ERROR(Exec(db_, kSchemaV1));
    return Exec(db_, fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  });
}

absl::Status MetaStore::Read(absl::FunctionRef<absl::Status(MetaTransaction&)> fn) { return Transaction("BEGIN", fn); }

absl::Status MetaStore::Write(absl::FunctionRef<absl::Status(MetaTransaction&)> fn) {
  return Transaction("BEGIN IMMEDIATE", fn);
}

absl::Status MetaStore::Transaction(std::string_view begin, absl::FunctionRef<absl::Status(MetaTransaction&)> fn) {
  LIMAN_RETURN_IF_ERROR(Exec(db_, begin));
  MetaTransaction transaction(db_);
  if (absl::Status status = fn(transaction); !status.ok()) {
    (void)Exec(db_, "ROLLBACK");
    return status;
  }
  if (absl::Status status = Exec(db_, "COMMIT"); !status.ok()) {
    // A failed COMMIT may leave the transaction open (SQLITE_BUSY); end it either way.
    if (!sqlite3_get_autocommit(db_)) (void)Exec(db_, "ROLLBACK");
    return status;
  }
  return absl::OkStatus();
}

}  // namespace liman::containerd::snapshots
