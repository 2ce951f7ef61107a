#include <sqlite3.h>

#include <thread>

#include "common/status.h"
#include "containerd/metadata/schema.h"
#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'd');

TEST_CASE("db: everything survives closing and reopening") {
  Env env;
  DB* db = &env.db();
  Must(db->Namespaces().Create({.name = "kept", .labels = {{"k", "v"}}}));
  Image image = TestImage("img", kDigest);
  image.labels = {{"l", "1"}};
  Image created_image = Must(db->Images().Create("kept", image));
  Container container = TestContainer("ctr");
  container.extensions = {{"e", Any{.type_url = "t", .value = std::string("\0\1\2", 3)}}};
  container.runtime.options = Any{.type_url = "o", .value = ""};
  Must(db->Containers().Create("kept", container));
  Must(db->Leases().Create("kept", {.id = "l", .labels = {{"a", "b"}}}));
  Must(db->Leases().AddResource("kept", "l", {.id = kDigest, .type = "content"}));
  std::string digest = CommitBlob(*env.Content("kept", "l"), "blob", "blob", {{"x", "y"}});
  Must(env.Snapshots("kept", "l")->Prepare("snap", "", {{"s", "t"}}));

  env.Reopen();
  db = &env.db();
  CHECK(Must(db->Namespaces().Get("kept")).labels == Labels{{"k", "v"}});
  Image got = Must(db->Images().Get("kept", "img"));
  CHECK(got.labels == Labels{{"l", "1"}});
  CHECK(got.created_at == created_image.created_at);
  Container ctr = Must(db->Containers().Get("kept", "ctr"));
  CHECK(ctr.extensions == container.extensions);
  REQUIRE(ctr.runtime.options.has_value());
  CHECK(ctr.runtime.options->type_url == "o");
  CHECK(ctr.runtime.options->value.empty());
  CHECK(Must(db->Leases().List("kept", {})).at(0).labels == Labels{{"a", "b"}});
  CHECK(Must(db->Leases().ListResources("kept", "l")).size() == 3);
  CHECK(Must(env.Content("kept")->Info(digest)).labels == Labels{{"x", "y"}});
  CHECK(Must(env.Snapshots("kept")->Stat("snap")).labels == Labels{{"s", "t"}});
  // New backend keys do not collide with the old ones after a reopen.
  Must(env.Snapshots("kept")->Prepare("snap2", "", {}));
  CHECK(BackendSnapshots(env).size() == 2);
}

TEST_CASE("db: the file, its WAL mode and its schema version") {
  Env env;
  std::string path = DB::DatabasePath(env.root());
  CHECK(path == env.root() + "/io.containerd.metadata.v1.sqlite/meta.db");
  Must(env.db().Namespaces().Create({.name = "x"}));
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql, -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    std::string value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    return value;
  };
  CHECK(scalar("PRAGMA journal_mode") == "wal");
  CHECK(scalar("PRAGMA user_version") == std::to_string(kSchemaVersion));
  CHECK(scalar("SELECT name FROM namespaces") == "x");

  SECTION("a file from a newer build is refused") {
    REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
    DbOptions options;
    options.content = std::shared_ptr<ContentStore>(&env.backend_content(), [](ContentStore*) {});
    absl::StatusOr<std::unique_ptr<DB>> newer = DB::Open(env.root(), options);
    CHECK(newer.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(MessageOf(newer).find("schema version 99 is newer") != std::string::npos);
    REQUIRE(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 1", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  sqlite3_close(raw);
}

TEST_CASE("db: a content store is required") {
  Env env;
  CHECK(CodeOf(DB::Open(env.root() + "/other", DbOptions{})) == absl::StatusCode::kInvalidArgument);
}

// Many threads at once, as the gRPC server calls: every write lands, reads never fail, and a
// collection running meanwhile keeps what the leases hold.
TEST_CASE("db: concurrent use from many threads") {
  Env env({.real_clock = true});
  DB& db = env.db();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  std::vector<std::thread> threads;
  std::vector<absl::Status> errors(kThreads + 1);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string ns = "ns" + std::to_string(t % 3);
      const std::string lease = "lease-" + std::to_string(t);
      auto run = [&]() -> absl::Status {
        LIMAN_RETURN_IF_ERROR(db.Leases().Create(ns, {.id = lease}).status());
        LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentStore> store, db.ContentView(ns, lease));
        LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<Snapshotter> sn, db.SnapshotterView(kOverlay, ns, lease));
        for (int i = 0; i < kPerThread; ++i) {
          const std::string name = fmt::format("t{}-{}", t, i);
          LIMAN_RETURN_IF_ERROR(db.Images().Create(ns, TestImage(name, kDigest)).status());
          LIMAN_RETURN_IF_ERROR(db.Images().List(ns, {}).status());
          LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, store->Writer(name, 0, ""));
          LIMAN_RETURN_IF_ERROR(writer->Write(name));
          LIMAN_RETURN_IF_ERROR(writer->Commit(0, "", {}));
          if (i % 5 == 0) LIMAN_RETURN_IF_ERROR(sn->Prepare(name, "", {}).status());
        }
        return absl::OkStatus();
      };
      errors[t] = run();
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 5 && errors[kThreads].ok(); ++i) errors[kThreads] = db.GarbageCollect().status();
  });
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& error : errors) {
    INFO(error.ToString());
    CHECK(error.ok());
  }
  Must(db.GarbageCollect());
  size_t images = 0, blobs = 0, snapshots = 0;
  for (int n = 0; n < 3; ++n) {
    const std::string ns = "ns" + std::to_string(n);
    images += Must(db.Images().List(ns, {})).size();
    blobs += Digests(*env.Content(ns)).size();
    snapshots += SnapshotNames(*env.Snapshots(ns)).size();
  }
  CHECK(images == kThreads * kPerThread);
  CHECK(blobs == kThreads * kPerThread);
  CHECK(snapshots == kThreads * kPerThread / 5);
  CHECK(BackendBlobs(env).size() == kThreads * kPerThread);
  CHECK(BackendSnapshots(env).size() == kThreads * kPerThread / 5);
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
