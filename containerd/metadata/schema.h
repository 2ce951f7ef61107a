// The metadata database's tables (drawn in schema.cc) and their migrations.
#pragma once

#include "absl/status/status.h"
#include "common/sqlite.h"

namespace liman::containerd::metadata {

// The schema version this build writes (PRAGMA user_version).
inline constexpr int kSchemaVersion = 1;

// Brings the database to kSchemaVersion in one transaction: creates the tables in an empty
// file, runs the migrations after the file's version, refuses a file from a newer build.
absl::Status MigrateSchema(sqlite::Connection& connection);

}  // namespace liman::containerd::metadata
