#include "containerd/content/digest.h"
#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

// An image as a pull leaves it: layers, a config and a manifest, tied by gc.ref labels (the
// manifest references config and layers; the config references the unpacked snapshot).
struct PulledImage {
  std::string layer0, layer1, config, manifest;
};

PulledImage Pull(Env& env, const std::string& ns, const std::string& tag) {
  std::unique_ptr<ContentStore> store = env.Content(ns);
  PulledImage image;
  image.layer0 = CommitBlob(*store, tag + "-l0", tag + " layer 0");
  image.layer1 = CommitBlob(*store, tag + "-l1", tag + " layer 1");
  image.config = CommitBlob(*store, tag + "-config", tag + " config",
                            {{"containerd.io/gc.ref.snapshot.overlayfs", tag + "-chain-1"}});
  image.manifest = CommitBlob(*store, tag + "-manifest", tag + " manifest",
                              {{"containerd.io/gc.ref.content.config", image.config},
                               {"containerd.io/gc.ref.content.l.0", image.layer0},
                               {"containerd.io/gc.ref.content.l.1", image.layer1}});
  std::unique_ptr<Snapshotter> sn = env.Snapshots(ns);
  Must(sn->Prepare(tag + "-extract-0", "", {}));
  Must(sn->Commit(tag + "-chain-0", tag + "-extract-0", {}));
  Must(sn->Prepare(tag + "-extract-1", tag + "-chain-0", {}));
  Must(sn->Commit(tag + "-chain-1", tag + "-extract-1", {}));
  Must(env.db().Images().Create(ns, TestImage(tag, image.manifest)));
  return image;
}

TEST_CASE("gc: an image keeps its manifest, config, layers and snapshots; nothing else stays") {
  Env env;
  PulledImage image = Pull(env, "default", "app");
  std::string orphan = CommitBlob(*env.Content("default"), "orphan", "nobody wants me");
  Must(env.Snapshots("default")->Prepare("orphan-snapshot", "app-chain-1", {}));

  GarbageCollectStats stats = Must(env.db().GarbageCollect());
  CHECK(stats.content == 1);
  CHECK(stats.snapshots == 1);
  CHECK(stats.blobs == 1);
  CHECK(stats.backend_snapshots == 1);
  std::vector<std::string> kept = Sorted({image.layer0, image.layer1, image.config, image.manifest});
  CHECK(Digests(*env.Content("default")) == kept);
  CHECK(BackendBlobs(env) == kept);
  CHECK(SnapshotNames(*env.Snapshots("default")) == std::vector<std::string>{"app-chain-0", "app-chain-1"});
  CHECK(BackendSnapshots(env).size() == 2);

  // A second collection finds nothing more.
  stats = Must(env.db().GarbageCollect());
  CHECK(stats.content + stats.snapshots + stats.blobs + stats.backend_snapshots == 0);

  // Deleting the image with sync collects everything it held.
  Must(env.db().Images().Delete("default", "app", /*sync=*/true));
  CHECK(Digests(*env.Content("default")).empty());
  CHECK(BackendBlobs(env).empty());
  CHECK(SnapshotNames(*env.Snapshots("default")).empty());
  CHECK(BackendSnapshots(env).empty());
}

TEST_CASE("gc: content shared by namespaces stays while one references it") {
  Env env;
  PulledImage one = Pull(env, "one", "app");
  PulledImage two = Pull(env, "two", "app");
  CHECK(one.manifest == two.manifest);
  Must(env.db().Images().Delete("one", "app", /*sync=*/true));
  CHECK(Digests(*env.Content("one")).empty());
  CHECK(Digests(*env.Content("two")).size() == 4);
  CHECK(BackendBlobs(env).size() == 4);
  CHECK(SnapshotNames(*env.Snapshots("one")).empty());
  CHECK(SnapshotNames(*env.Snapshots("two")).size() == 2);
  CHECK(BackendSnapshots(env).size() == 2);
}

TEST_CASE("gc: leases protect what they hold until deleted or expired") {
  Env env;
  LeaseStore& leases = env.db().Leases();

  SECTION("deleted") {
    Must(leases.Create("default", {.id = "pull"}));
    std::string digest = CommitBlob(*env.Content("default", "pull"), "blob", "leased");
    Must(env.Snapshots("default", "pull")->Prepare("active", "", {}));
    Must(env.db().GarbageCollect());
    CHECK(Digests(*env.Content("default")) == std::vector<std::string>{digest});
    CHECK(SnapshotNames(*env.Snapshots("default")) == std::vector<std::string>{"active"});
    Must(leases.Delete("default", "pull", /*sync=*/true));
    CHECK(Digests(*env.Content("default")).empty());
    CHECK(SnapshotNames(*env.Snapshots("default")).empty());
    CHECK(BackendBlobs(env).empty());
    CHECK(BackendSnapshots(env).empty());
  }
  SECTION("expired (containerd.io/gc.expire)") {
    absl::Time expiry = env.clock().Now() + absl::Hours(1);
    Must(leases.Create("default", {.id = "temp",
                                   .labels = {{"containerd.io/gc.expire",
                                               absl::FormatTime(absl::RFC3339_sec, expiry, absl::UTCTimeZone())}}}));
    Must(
        leases.Create("default", {.id = "past", .labels = {{"containerd.io/gc.expire", "2001-02-03T04:05:06+01:00"}}}));
    Must(leases.Create("default", {.id = "garbled", .labels = {{"containerd.io/gc.expire", "tomorrow"}}}));
    std::string temp = CommitBlob(*env.Content("default", "temp"), "t", "temp");
    std::string past = CommitBlob(*env.Content("default", "past"), "p", "past");
    std::string garbled = CommitBlob(*env.Content("default", "garbled"), "g", "garbled");
    GarbageCollectStats stats = Must(env.db().GarbageCollect());
    CHECK(stats.leases == 1);
    CHECK(Digests(*env.Content("default")) == Sorted({temp, garbled}));
    std::vector<std::string> ids;
    for (const Lease& lease : Must(leases.List("default", {}))) ids.push_back(lease.id);
    CHECK(ids == std::vector<std::string>{"garbled", "temp"});

    env.clock().Advance(absl::Hours(2));
    stats = Must(env.db().GarbageCollect());
    CHECK(stats.leases == 1);
    CHECK(stats.content == 1);
    CHECK(Digests(*env.Content("default")) == std::vector<std::string>{garbled});
  }
  SECTION("a flat lease holds only its own resources") {
    Must(leases.Create("default", {.id = "flat", .labels = {{"containerd.io/gc.flat", "true"}}}));
    Must(leases.Create("default", {.id = "deep"}));
    std::string child = CommitBlob(*env.Content("default"), "child", "child");
    std::string parent =
        CommitBlob(*env.Content("default", "flat"), "parent", "parent", {{"containerd.io/gc.ref.content", child}});
    Must(env.db().GarbageCollect());
    CHECK(Digests(*env.Content("default")) == std::vector<std::string>{parent});
    // The same resource in a normal lease keeps what it references.
    std::string child2 = CommitBlob(*env.Content("default"), "child2", "child2");
    Must(env.Content("default")->Update(
        ContentInfo{.digest = parent, .labels = {{"containerd.io/gc.ref.content", child2}}}, {}));
    Must(leases.AddResource("default", "deep", {.id = parent, .type = "content"}));
    Must(env.db().GarbageCollect());
    CHECK(Digests(*env.Content("default")) == Sorted({parent, child2}));
  }
}

TEST_CASE("gc: a container keeps its snapshot and the snapshot's parents") {
  Env env;
  std::unique_ptr<Snapshotter> sn = env.Snapshots("default");
  Must(sn->Prepare("l0-active", "", {}));
  Must(sn->Commit("l0", "l0-active", {}));
  Must(sn->Prepare("l1-active", "l0", {}));
  Must(sn->Commit("l1", "l1-active", {}));
  Must(sn->Prepare("ctr-rootfs", "l1", {}));
  Must(sn->Prepare("stray", "l0", {}));
  Container container = TestContainer("ctr");
  container.snapshotter = kOverlay;
  container.snapshot_key = "ctr-rootfs";
  // A container's label can reference content too.
  std::string spec_blob = CommitBlob(*env.Content("default"), "extra", "extra");
  container.labels = {{"containerd.io/gc.ref.content.extra", spec_blob}};
  Must(env.db().Containers().Create("default", container));

  GarbageCollectStats stats = Must(env.db().GarbageCollect());
  CHECK(stats.snapshots == 1);
  CHECK(SnapshotNames(*sn) == std::vector<std::string>{"ctr-rootfs", "l0", "l1"});
  CHECK(BackendSnapshots(env).size() == 3);
  CHECK(Digests(*env.Content("default")) == std::vector<std::string>{spec_blob});

  Must(env.db().Containers().Delete("default", "ctr"));
  CHECK(env.db().DeletionsSinceCollection() == 1);
  stats = Must(env.db().GarbageCollect());
  CHECK(env.db().DeletionsSinceCollection() == 0);
  CHECK(stats.snapshots == 3);
  CHECK(stats.backend_snapshots == 3);
  CHECK(SnapshotNames(*sn).empty());
  CHECK(BackendSnapshots(env).empty());
}

TEST_CASE("gc: leased snapshots keep their parents; gc.root keeps objects") {
  Env env;
  Must(env.db().Leases().Create("default", {.id = "l"}));
  std::unique_ptr<Snapshotter> plain = env.Snapshots("default");
  Must(plain->Prepare("base-active", "", {}));
  Must(plain->Commit("base", "base-active", {}));
  Must(env.Snapshots("default", "l")->Prepare("leased", "base", {}));
  Must(plain->Prepare("rooted", "", {{"containerd.io/gc.root", "1"}}));
  std::string rooted_blob = CommitBlob(*env.Content("default"), "r", "rooted", {{"containerd.io/gc.root", "x"}});
  std::string referenced = CommitBlob(*env.Content("default"), "ref", "referenced");
  Must(env.Content("default")->Update(
      ContentInfo{.digest = rooted_blob,
                  .labels = {{"containerd.io/gc.root", "x"}, {"containerd.io/gc.ref.content/x", referenced}}},
      {}));
  Must(plain->Prepare("gone", "", {}));
  GarbageCollectStats stats = Must(env.db().GarbageCollect());
  CHECK(stats.snapshots == 1);
  CHECK(SnapshotNames(*plain) == std::vector<std::string>{"base", "leased", "rooted"});
  CHECK(Digests(*env.Content("default")) == Sorted({rooted_blob, referenced}));
}

TEST_CASE("gc: stale ingests") {
  Env env;
  Must(env.db().Leases().Create("default", {.id = "l"}));
  {
    std::unique_ptr<ContentWriter> loose = Must(env.Content("default")->Writer("loose", 0, ""));
    Must(loose->Write("abandoned"));
    std::unique_ptr<ContentWriter> leased = Must(env.Content("default", "l")->Writer("leased", 0, ""));
    Must(leased->Write("in a lease"));
  }
  // A backend ingest nobody knows of (a crash between the two steps of an open, say).
  {
    std::unique_ptr<ContentWriter> unknown = Must(env.backend_content().Writer("default/999/unknown", 0, ""));
    Must(unknown->Write("?"));
  }
  GarbageCollectStats stats = Must(env.db().GarbageCollect());
  CHECK(stats.ingests == 0);
  CHECK(stats.backend_ingests == 1);
  CHECK(Must(env.Content("default")->ListStatuses({})).size() == 2);

  // A day later the lease-less one is stale; the leased one lives as long as its lease.
  env.clock().Advance(absl::Hours(25));
  stats = Must(env.db().GarbageCollect());
  CHECK(stats.ingests == 1);
  CHECK(stats.backend_ingests == 1);
  std::vector<IngestStatus> left = Must(env.Content("default")->ListStatuses({}));
  REQUIRE(left.size() == 1);
  CHECK(left[0].ref == "leased");
  Must(env.db().Leases().Delete("default", "l", /*sync=*/true));
  CHECK(Must(env.Content("default")->ListStatuses({})).empty());
  CHECK(Must(env.backend_content().ListStatuses({})).empty());
}

TEST_CASE("gc: an ingest whose writer is open is not aborted under it") {
  Env env;
  Must(env.db().Leases().Create("default", {.id = "l"}));
  std::unique_ptr<ContentWriter> writer = Must(env.Content("default", "l")->Writer("busy", 0, ""));
  Must(writer->Write("part 1"));
  Must(env.db().GarbageCollect());
  Must(writer->Write(" part 2"));
  std::string digest = content::Sha256Digest("part 1 part 2");
  Must(writer->Commit(13, digest, {}));
  CHECK(Digests(*env.Content("default")) == std::vector<std::string>{digest});
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
