#include "engine/daemon/engine_store.h"

#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

namespace {

// Schema (PRAGMA user_version is its version):
//   containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL,
//               manually_stopped INTEGER NOT NULL DEFAULT 0)   -- the last column since version 1
//   volumes    (name TEXT PRIMARY KEY, record TEXT NOT NULL)
//   networks   (id TEXT PRIMARY KEY, record TEXT NOT NULL)
// Migration rule: a new version only adds (a column with a default, a table); each step of
// kMigrations runs once, in order, on a database of the version before it. A database newer
// than this limand is refused rather than misread.
constexpr const char* kMigrations[] = {
    // 0 -> 1: restart policies need HasBeenManuallyStopped.
    "ALTER TABLE containers ADD COLUMN manually_stopped INTEGER NOT NULL DEFAULT 0",
};
constexpr int64_t kSchemaVersion = std::size(kMigrations);

absl::Status PrepareSchema(sqlite::Connection& db) {
  LIMAN_RETURN_IF_ERROR(db.Exec(
      "CREATE TABLE IF NOT EXISTS containers ("
      "  id TEXT PRIMARY KEY,"
      "  name TEXT NOT NULL UNIQUE,"
      "  record TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS volumes ("
      "  name TEXT PRIMARY KEY,"
      "  record TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS networks ("
      "  id TEXT PRIMARY KEY,"
      "  record TEXT NOT NULL)"));
  int64_t version = 0;
  {
    LIMAN_ASSIGN_OR_RETURN(sqlite::Statement query, db.Prepare("PRAGMA user_version"));
    LIMAN_ASSIGN_OR_RETURN(bool row, query.Step());
    if (row) version = query.Int(0);
  }
  if (version > kSchemaVersion)
    return absl::FailedPreconditionError(
        fmt::format("the database's schema version {} is newer than this limand's ({})", version, kSchemaVersion));
  if (version == kSchemaVersion) return absl::OkStatus();
  // The steps and the new version commit together, or not at all.
  LIMAN_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
  absl::Status migrated = absl::OkStatus();
  for (; migrated.ok() && version < kSchemaVersion; ++version) migrated = db.Exec(kMigrations[version]);
  if (migrated.ok()) migrated = db.Exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion));
  if (!migrated.ok()) {
    (void)db.Exec("ROLLBACK");
    return Annotate(migrated, fmt::format("migrate the schema to version {}", kSchemaVersion));
  }
  return db.Exec("COMMIT");
}

}  // namespace

absl::StatusOr<std::unique_ptr<EngineStore>> EngineStore::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<sqlite::Pool>> pool = sqlite::Pool::Open(path, PrepareSchema);
  if (!pool.ok()) return Annotate(pool.status(), fmt::format("open container database {}", Quote(path)));
  return std::unique_ptr<EngineStore>(new EngineStore(std::move(*pool)));
}

absl::Status EngineStore::Insert(const StoredContainer& container) {
  return pool_->Write([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> holder = db.Prepare("SELECT id FROM containers WHERE name = ?1");
    if (!holder.ok()) return holder.status();
    holder->Bind(container.name);
    absl::StatusOr<bool> row = holder->Step();
    if (!row.ok()) return row.status();
    if (*row)
      return absl::AlreadyExistsError(fmt::format(
          "Conflict. The container name \"{}\" is already in use by container \"{}\". You have to remove (or rename) "
          "that container to be able to reuse that name.",
          container.name, holder->Text(0)));
    absl::StatusOr<sqlite::Statement> insert =
        db.Prepare("INSERT INTO containers (id, name, record, manually_stopped) VALUES (?1, ?2, ?3, ?4)");
    if (!insert.ok()) return insert.status();
    return insert->Bind(container.id, container.name, container.record.dump(), container.manually_stopped ? 1 : 0).Run();
  });
}

absl::Status EngineStore::Update(const StoredContainer& container) {
  return pool_->Write([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> update =
        db.Prepare("UPDATE containers SET name = ?2, record = ?3, manually_stopped = ?4 WHERE id = ?1");
    if (!update.ok()) return update.status();
    return update->Bind(container.id, container.name, container.record.dump(), container.manually_stopped ? 1 : 0).Run();
  });
}

absl::Status EngineStore::Delete(const std::string& id) {
  return pool_->Write([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> remove = db.Prepare("DELETE FROM containers WHERE id = ?1");
    if (!remove.ok()) return remove.status();
    return remove->Bind(id).Run();
  });
}

absl::StatusOr<std::vector<StoredContainer>> EngineStore::List() {
  std::vector<StoredContainer> containers;
  absl::Status status = pool_->Read([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> select = db.Prepare("SELECT id, name, record, manually_stopped FROM containers");
    if (!select.ok()) return select.status();
    while (true) {
      absl::StatusOr<bool> row = select->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      nlohmann::json record = nlohmann::json::parse(select->Text(2), nullptr, false);
      if (record.is_discarded())
        return absl::DataLossError(fmt::format("container {}: the stored record is not JSON", select->Text(0)));
      containers.push_back({select->Text(0), select->Text(1), std::move(record), select->Int(3) != 0});
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return containers;
}

absl::Status EngineStore::PutRecord(const Table& table, const std::string& key, const nlohmann::json& record) {
  return pool_->Write([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> put =
        db.Prepare(fmt::format("INSERT OR REPLACE INTO {} ({}, record) VALUES (?1, ?2)", table.name, table.key));
    if (!put.ok()) return put.status();
    return put->Bind(key, record.dump()).Run();
  });
}

absl::Status EngineStore::DeleteRecord(const Table& table, const std::string& key) {
  return pool_->Write([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> remove = db.Prepare(fmt::format("DELETE FROM {} WHERE {} = ?1", table.name, table.key));
    if (!remove.ok()) return remove.status();
    return remove->Bind(key).Run();
  });
}

absl::StatusOr<std::vector<nlohmann::json>> EngineStore::ListRecords(const Table& table) {
  std::vector<nlohmann::json> records;
  absl::Status status = pool_->Read([&](sqlite::Connection& db) -> absl::Status {
    absl::StatusOr<sqlite::Statement> select =
        db.Prepare(fmt::format("SELECT {0}, record FROM {1} ORDER BY {0}", table.key, table.name));
    if (!select.ok()) return select.status();
    while (true) {
      absl::StatusOr<bool> row = select->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      nlohmann::json record = nlohmann::json::parse(select->Text(1), nullptr, false);
      if (record.is_discarded())
        return absl::DataLossError(fmt::format("{} {}: the stored record is not JSON", table.what, select->Text(0)));
      records.push_back(std::move(record));
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return records;
}

}  // namespace liman::engine
