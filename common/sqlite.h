// A thin RAII layer over SQLite's C API for the metadata store: connections with cached
// prepared statements, a pool that serialises writers and lets readers run side by side (WAL),
// and SQLite errors as absl::Status.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;
struct sqlite3_stmt;

namespace liman::sqlite {

// A value bound as a BLOB (a plain string_view binds as TEXT).
struct Blob {
  std::string_view bytes;
};

// A prepared statement borrowed from its connection's cache. Bind, then Step or Run; the
// statement is reset (and its bindings cleared) when this handle goes away, ready for reuse.
class Statement {
 public:
  // `in_use` is the cache's busy flag for a cached statement (cleared when this handle goes
  // away); nullptr for a one-off statement, finalised when this handle goes away.
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use) : db_(db), stmt_(stmt), in_use_(in_use) {}
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Binds the parameters ?1, ?2… in order. Values are copied (SQLITE_TRANSIENT), so temporaries
  // are fine. std::nullopt binds NULL.
  template <typename... Args>
  Statement& Bind(const Args&... args) {
    int index = 1;
    (BindOne(index++, args), ...);
    return *this;
  }

  // Advances to the next row: true when a row is available, false when done.
  absl::StatusOr<bool> Step();
  // Runs to completion, ignoring any rows.
  absl::Status Run();

  std::string Text(int column) const;
  std::string BlobAt(int column) const;
  int64_t Int(int column) const;
  bool IsNull(int column) const;

 private:
  void BindOne(int index, std::string_view text);
  void BindOne(int index, const std::string& text) { BindOne(index, std::string_view(text)); }
  void BindOne(int index, const char* text) { BindOne(index, std::string_view(text)); }
  void BindOne(int index, Blob blob);
  void BindOne(int index, int64_t value);
  void BindOne(int index, int value) { BindOne(index, static_cast<int64_t>(value)); }
  void BindOne(int index, std::nullopt_t);
  template <typename T>
  void BindOne(int index, const std::optional<T>& value) {
    if (value)
      BindOne(index, *value);
    else
      BindOne(index, std::nullopt);
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;
  // The first bind error, reported by Step/Run (binding only fails on programming errors).
  int bind_error_ = 0;
};

// One database connection, used by one thread at a time (the pool hands it out).
class Connection {
 public:
  // Opens (creating if needed) the database file and applies the per-connection settings:
  // synchronous=FULL, a busy timeout, foreign keys on; `query_only` for pool readers.
  static absl::StatusOr<std::unique_ptr<Connection>> Open(const std::string& path, bool query_only);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Runs one or more statements that return no rows.
  absl::Status Exec(std::string_view sql);
  // A cached prepared statement for `sql` (a one-off one while the cached one is in use, so a
  // statement can be run again while iterating its own rows).
  absl::StatusOr<Statement> Prepare(std::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t Changes() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  struct Cached {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  std::unordered_map<std::string, Cached> statements_;
};

// A connection function run inside a transaction: returning an error rolls it back.
using TransactionFn = absl::FunctionRef<absl::Status(Connection&)>;

// The database file shared by all threads: one writer connection behind a mutex (SQLite has a
// single writer anyway; serialising here avoids SQLITE_BUSY), and a pool of reader connections,
// each reading a consistent snapshot thanks to WAL while writes go on.
class Pool {
 public:
  // Opens `path` in WAL mode. `prepare` runs once on the writer connection before anything
  // else (schema creation and migrations).
  static absl::StatusOr<std::unique_ptr<Pool>> Open(const std::string& path,
                                                    absl::FunctionRef<absl::Status(Connection&)> prepare);

  // A read transaction: `fn` sees one snapshot of the database.
  absl::Status Read(TransactionFn fn);
  // A write transaction (BEGIN IMMEDIATE): committed if `fn` succeeds, rolled back otherwise.
  absl::Status Write(TransactionFn fn);

 private:
  explicit Pool(std::string path, std::unique_ptr<Connection> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}
  absl::StatusOr<std::unique_ptr<Connection>> TakeReader();
  void ReturnReader(std::unique_ptr<Connection> reader);

  const std::string path_;
  std::mutex write_mutex_;
  std::unique_ptr<Connection> writer_;
  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
};

}  // namespace liman::sqlite
