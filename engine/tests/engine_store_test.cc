// Container records in SQLite: a name is held by one container, records survive a reopen.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/file_util.h"
#include "engine/daemon/engine_store.h"

namespace liman::engine {
namespace {

TEST_CASE("names are unique, updates and deletes persist across a reopen") {
  char templ[] = "/tmp/liman-store-test.XXXXXX";
  std::string dir = ::mkdtemp(templ);
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

}  // namespace
}  // namespace liman::engine

namespace liman::engine {
namespace {

TEST_CASE("networks are kept by id across a reopen, and deleted") {
  char templ[] = "/tmp/liman-store-test.XXXXXX";
  std::string dir = ::mkdtemp(templ);
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
