// Container records in SQLite: a name is held by one container, records survive a reopen.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/file_util.h"
#include "engine/daemon/engine_store.h"
#include "common/tests/temp_dir.h"

namespace liman::engine {
namespace {

TEST_CASE("names are unique, updates and deletes persist across a reopen") {
  test_support::TempDir temp("liman-store-test");
  std::string dir = temp.path();
  std::string path = dir + "/engine.db";
  {
    auto store = EngineStore::Open(path).value();
    REQUIRE(store->Insert({"id1", "/web", {{"State", {{"Status", "created"}}}}}).ok());
    absl::Status conflict = store->Insert({"id2", "/web", nlohmann::json::object()});
    CHECK(conflict.code() == absl::StatusCode::kAlreadyExists);
    CHECK(conflict.message().find("The container name \"/web\" is already in use by container \"id1\"") != std::string_view::npos);
    REQUIRE(store->Insert({"id3", "/db", nlohmann::json::object()}).ok());
    REQUIRE(store->Update({"id1", "/web", {{"State", {{"Status", "running"}}}}}).ok());
    REQUIRE(store->Delete("id3").ok());
  }
  auto store = EngineStore::Open(path).value();
  auto list = store->List().value();
  REQUIRE(list.size() == 1);
  CHECK(list[0].id == "id1");
  CHECK(list[0].record["State"]["Status"] == "running");
  (void)RemoveAll(dir);
}

TEST_CASE("a version-0 database gains manually_stopped, which persists; a newer schema is refused") {
  test_support::TempDir temp("liman-store-test");
  std::string dir = temp.path();
  std::string path = dir + "/engine.db";
  {
    // The first schema, as limand wrote it before restart policies.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw,
                         "CREATE TABLE containers (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, record TEXT NOT NULL);"
                         "INSERT INTO containers VALUES ('old', '/old', '{}')",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  {
    auto store = EngineStore::Open(path).value();
    auto list = store->List().value();
    REQUIRE(list.size() == 1);
    CHECK_FALSE(list[0].manually_stopped);
    REQUIRE(store->Insert({"new", "/new", nlohmann::json::object(), true}).ok());
    REQUIRE(store->Update({"old", "/old", nlohmann::json::object(), true}).ok());
  }
  auto store = EngineStore::Open(path).value();
  for (const StoredContainer& container : store->List().value()) CHECK(container.manually_stopped);
  store.reset();
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
  absl::StatusOr<std::unique_ptr<EngineStore>> newer = EngineStore::Open(path);
  CHECK(newer.status().message().find("schema version 99 is newer") != std::string_view::npos);
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace liman::engine

namespace liman::engine {
namespace {

TEST_CASE("networks are kept by id across a reopen, and deleted") {
  test_support::TempDir temp("liman-store-test");
  std::string dir = temp.path();
  std::string path = dir + "/engine.db";
  {
    auto store = EngineStore::Open(path).value();
    REQUIRE(store->PutNetwork("n1", {{"Id", "n1"}, {"Name", "front"}}).ok());
    REQUIRE(store->PutNetwork("n2", {{"Id", "n2"}, {"Name", "back"}}).ok());
    REQUIRE(store->PutNetwork("n1", {{"Id", "n1"}, {"Name", "front"}, {"Internal", true}}).ok());
    REQUIRE(store->DeleteNetwork("n2").ok());
  }
  auto store = EngineStore::Open(path).value();
  std::vector<nlohmann::json> networks = store->ListNetworks().value();
  REQUIRE(networks.size() == 1);
  CHECK(networks[0]["Name"] == "front");
  CHECK(networks[0]["Internal"] == true);
  CHECK(store->ListVolumes().value().empty());
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace liman::engine
