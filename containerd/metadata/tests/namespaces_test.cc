#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

std::vector<std::string> Names(DB& db) {
  std::vector<std::string> names;
  for (const Namespace& ns : Must(db.Namespaces().List())) names.push_back(ns.name);
  return names;
}

TEST_CASE("namespaces: create, get, list, update, delete") {
  Env env;
  NamespaceStore& store = env.db().Namespaces();
  Namespace created = Must(store.Create({.name = "alpha", .labels = {{"team", "a"}, {"empty", ""}}}));
  CHECK(created.labels == Labels{{"team", "a"}});
  Must(store.Create({.name = "beta"}));
  CHECK(Names(env.db()) == std::vector<std::string>{"alpha", "beta"});
  CHECK(Must(store.Get("alpha")).labels == Labels{{"team", "a"}});

  CHECK(CodeOf(store.Create({.name = "alpha"})) == absl::StatusCode::kAlreadyExists);
  CHECK(CodeOf(store.Get("gamma")) == absl::StatusCode::kNotFound);

  SECTION("update: no paths or \"labels\" replace the labels") {
    CHECK(Must(store.Update({.name = "alpha", .labels = {{"x", "1"}}}, {})).labels == Labels{{"x", "1"}});
    CHECK(Must(store.Update({.name = "alpha", .labels = {{"y", "2"}}}, {"labels"})).labels == Labels{{"y", "2"}});
    CHECK(Must(store.Get("alpha")).labels == Labels{{"y", "2"}});
  }
  SECTION("update: labels.<key> sets or removes one label") {
    Namespace update{.name = "alpha", .labels = {{"new", "n"}, {"ignored", "i"}}};
    CHECK(Must(store.Update(update, {"labels.new", "labels.team"})).labels == Labels{{"new", "n"}});
    CHECK(CodeOf(store.Update(update, {"name"})) == absl::StatusCode::kInvalidArgument);
    CHECK(CodeOf(store.Update({.name = "gamma"}, {})) == absl::StatusCode::kNotFound);
  }
  SECTION("delete") {
    Must(store.Delete("beta"));
    CHECK(Names(env.db()) == std::vector<std::string>{"alpha"});
    CHECK(CodeOf(store.Delete("beta")) == absl::StatusCode::kNotFound);
  }
}

TEST_CASE("namespaces: names are validated as containerd validates identifiers") {
  Env env;
  NamespaceStore& store = env.db().Namespaces();
  for (const char* good : {"default", "k8s.io", "a", "a-b_c.d", "A9"}) {
    INFO(good);
    Must(store.Create({.name = good}));
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "-a", "a-", "a..b", "a/b", "a b", "é", std::string(77, 'a')}) {
    INFO(bad);
    CHECK(CodeOf(store.Create({.name = bad})) == absl::StatusCode::kInvalidArgument);
  }
  CHECK(MessageOf(store.Create({.name = "a/b"})) ==
        "identifier \"a/b\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");
  // Labels: key and value together at most 4096 bytes.
  CHECK(CodeOf(store.Create({.name = "big", .labels = {{"k", std::string(4096, 'v')}}})) ==
        absl::StatusCode::kInvalidArgument);
  Must(store.Create({.name = "fits", .labels = {{"k", std::string(4095, 'v')}}}));
  // Every namespaced operation checks the name too.
  CHECK(CodeOf(env.db().Images().List("", {})) == absl::StatusCode::kFailedPrecondition);
  CHECK(CodeOf(env.db().Images().List("a/b", {})) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(env.db().ContentView("../x")) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(env.db().SnapshotterView(kOverlay, "")) == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("namespaces: creating anything in a namespace creates it") {
  Env env;
  Must(env.db().Images().Create("implicit", TestImage("img", "sha256:" + std::string(64, 'a'))));
  CHECK(Names(env.db()) == std::vector<std::string>{"implicit"});
  CHECK(CodeOf(env.db().Namespaces().Create({.name = "implicit"})) == absl::StatusCode::kAlreadyExists);
  // Reading does not.
  CHECK(Must(env.db().Images().List("reader", {})).empty());
  CHECK(CodeOf(env.db().Images().Get("reader", "img")) == absl::StatusCode::kNotFound);
  CHECK(Names(env.db()) == std::vector<std::string>{"implicit"});
}

TEST_CASE("namespaces: delete refuses while anything is left, naming it") {
  Env env;
  DB& db = env.db();
  const std::string ns = "busy";
  Must(db.Namespaces().Create({.name = ns}));
  Must(db.Images().Create(ns, TestImage("img", "sha256:" + std::string(64, 'b'))));
  Must(db.Containers().Create(ns, TestContainer("ctr")));
  Must(db.Leases().Create(ns, {.id = "lease"}));
  std::string digest = CommitBlob(*env.Content(ns), "blob", "data");
  Must(env.Snapshots(ns)->Prepare("active", "", {}));

  absl::Status refused = db.Namespaces().Delete(ns);
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(MessageOf(refused) ==
        "namespace \"busy\" must be empty, but it still has images, blobs, containers, leases, "
        "snapshots on \"overlayfs\" snapshotter");

  Must(db.Images().Delete(ns, "img"));
  Must(db.Containers().Delete(ns, "ctr"));
  Must(db.Leases().Delete(ns, "lease"));
  Must(env.Content(ns)->Delete(digest));
  CHECK(MessageOf(db.Namespaces().Delete(ns)) ==
        "namespace \"busy\" must be empty, but it still has snapshots on \"overlayfs\" snapshotter");
  Must(env.Snapshots(ns)->Remove("active"));
  // An ingest in progress does not keep the namespace: it goes with it.
  {
    std::unique_ptr<ContentWriter> writer = Must(env.Content(ns)->Writer("ingest", 0, ""));
    Must(writer->Write("partial"));
  }
  Must(db.Namespaces().Delete(ns));
  CHECK(Names(db).empty());
  // And the collector removes what the backends held for it.
  GarbageCollectStats stats = Must(db.GarbageCollect());
  CHECK(stats.backend_ingests == 1);
  CHECK(stats.blobs == 1);
  CHECK(stats.backend_snapshots == 1);
  CHECK(Must(env.backend_content().ListStatuses({})).empty());
  CHECK(BackendBlobs(env).empty());
  CHECK(BackendSnapshots(env).empty());
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
