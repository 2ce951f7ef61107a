#include "common/file_util.h"
#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

TEST_CASE("snapshot view: namespaces see only their own snapshots") {
  Env env;
  std::unique_ptr<Snapshotter> one = env.Snapshots("one");
  std::unique_ptr<Snapshotter> two = env.Snapshots("two");
  Must(one->Prepare("layer-active", "", {}));
  Must(one->Commit("layer", "layer-active", {}));
  Must(one->Prepare("rootfs", "layer", {}));
  // The same keys in another namespace are other snapshots.
  Must(two->Prepare("layer-active", "", {}));
  Must(two->Commit("layer", "layer-active", {}));

  CHECK(SnapshotNames(*one) == std::vector<std::string>{"layer", "rootfs"});
  CHECK(SnapshotNames(*two) == std::vector<std::string>{"layer"});
  CHECK(CodeOf(two->Stat("rootfs")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(two->Mounts("rootfs")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(two->Usage("rootfs")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(two->Remove("rootfs")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(env.Snapshots("three")->Prepare("x", "layer", {})) == absl::StatusCode::kNotFound);

  // In the backend every key carries its namespace and a sequence number.
  std::vector<std::string> backend = BackendSnapshots(env);
  REQUIRE(backend.size() == 3);
  for (const std::string& name : backend) {
    INFO(name);
    CHECK((name.starts_with("one/") || name.starts_with("two/")));
  }
  SnapshotInfo rootfs = Must(one->Stat("rootfs"));
  CHECK(rootfs.name == "rootfs");
  CHECK(rootfs.parent == "layer");
  CHECK(rootfs.kind == SnapshotKind::kActive);
  CHECK(Must(one->Stat("layer")).kind == SnapshotKind::kCommitted);
  CHECK(Must(one->Stat("layer")).parent.empty());

  // Removing one namespace's snapshot leaves the other's.
  Must(one->Remove("rootfs"));
  Must(one->Remove("layer"));
  CHECK(SnapshotNames(*one).empty());
  CHECK(SnapshotNames(*two) == std::vector<std::string>{"layer"});
  // (two's "layer" is kept by a container; one's are gone from the backend after a collection.)
  Container container = TestContainer("c");
  container.snapshotter = kOverlay;
  container.snapshot_key = "layer";
  Must(env.db().Containers().Create("two", container));
  GarbageCollectStats stats = Must(env.db().GarbageCollect());
  CHECK(stats.snapshots == 0);
  CHECK(stats.backend_snapshots == 2);
  CHECK(BackendSnapshots(env).size() == 1);
  CHECK(SnapshotNames(*two) == std::vector<std::string>{"layer"});
}

TEST_CASE("snapshot view: names, parents and errors") {
  Env env;
  std::unique_ptr<Snapshotter> sn = env.Snapshots("default");
  Must(sn->Prepare("a", "", {}));
  CHECK(CodeOf(sn->Prepare("a", "", {})) == absl::StatusCode::kAlreadyExists);
  CHECK(CodeOf(sn->Prepare("b", "missing", {})) == absl::StatusCode::kNotFound);
  // An active parent: the backend refuses, and nothing is left behind.
  CHECK(CodeOf(sn->Prepare("b", "a", {})) == absl::StatusCode::kInvalidArgument);
  CHECK(SnapshotNames(*sn) == std::vector<std::string>{"a"});
  Must(sn->Commit("base", "a", {}));
  CHECK(CodeOf(sn->Stat("a")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(sn->Commit("base", "a", {})) == absl::StatusCode::kAlreadyExists);
  CHECK(CodeOf(sn->Commit("other", "a", {})) == absl::StatusCode::kNotFound);
  Must(sn->View("view", "base", {}));
  CHECK(Must(sn->Stat("view")).kind == SnapshotKind::kView);
  CHECK(CodeOf(sn->Remove("base")) == absl::StatusCode::kFailedPrecondition);
  Must(sn->Remove("view"));
  Must(sn->Remove("base"));
  CHECK(SnapshotNames(*sn).empty());
  CHECK(CodeOf(env.db().SnapshotterView("native", "default")) == absl::StatusCode::kInvalidArgument);
  CHECK(env.db().SnapshotterNames() == std::vector<std::string>{kOverlay});
}

TEST_CASE("snapshot view: labels live in the metadata; inherited ones reach the backend") {
  Env env;
  std::unique_ptr<Snapshotter> sn = env.Snapshots("default");
  const Labels labels = {{"containerd.io/snapshot/remote", "yes"}, {"mine", "1"}};
  Must(sn->Prepare("a", "", labels));
  SnapshotInfo info = Must(sn->Stat("a"));
  CHECK(info.labels == labels);
  CHECK(info.created_at == env.clock().Now());
  std::vector<SnapshotInfo> backend;
  Must(env.backend_snapshots().Walk({}, [&](const SnapshotInfo& i) {
    backend.push_back(i);
    return absl::OkStatus();
  }));
  REQUIRE(backend.size() == 1);
  CHECK(backend[0].labels == Labels{{"containerd.io/snapshot/remote", "yes"}});

  env.clock().Advance(absl::Seconds(2));
  SnapshotInfo update{.name = "a", .labels = {{"mine", "2"}, {"new", "n"}}};
  SnapshotInfo updated = Must(sn->Update(update, {"labels.mine", "labels.new"}));
  CHECK(updated.labels == Labels{{"containerd.io/snapshot/remote", "yes"}, {"mine", "2"}, {"new", "n"}});
  CHECK(updated.updated_at == info.created_at + absl::Seconds(2));
  CHECK(updated.created_at == info.created_at);
  updated = Must(sn->Update(SnapshotInfo{.name = "a", .labels = {{"only", "this"}}}, {}));
  CHECK(updated.labels == Labels{{"only", "this"}});
  CHECK(Must(sn->Stat("a")).labels == Labels{{"only", "this"}});
  CHECK(CodeOf(sn->Update(SnapshotInfo{.name = "a"}, {"parent"})) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(sn->Update(SnapshotInfo{.name = "zzz"}, {})) == absl::StatusCode::kNotFound);
  CHECK(SnapshotNames(*sn, {"labels.only==this"}) == std::vector<std::string>{"a"});
  CHECK(SnapshotNames(*sn, {"kind==committed"}).empty());
  CHECK(SnapshotNames(*sn, {"kind==active,name==a"}) == std::vector<std::string>{"a"});

  // Commit labels are the committed snapshot's own.
  Must(sn->Commit("c", "a", {{"committed", "yes"}}));
  CHECK(Must(sn->Stat("c")).labels == Labels{{"committed", "yes"}});
}

TEST_CASE("snapshot view: a target ref that exists is AlreadyExists") {
  Env env;
  std::unique_ptr<Snapshotter> sn = env.Snapshots("default");
  Must(sn->Prepare("extract-1", "", {{"containerd.io/snapshot.ref", "sha256:chain"}}));
  Must(sn->Commit("sha256:chain", "extract-1", {}));
  absl::Status status = sn->Prepare("extract-2", "", {{"containerd.io/snapshot.ref", "sha256:chain"}}).status();
  CHECK(status.code() == absl::StatusCode::kAlreadyExists);
  CHECK(CodeOf(sn->Stat("extract-2")) == absl::StatusCode::kNotFound);
  // Another namespace has no such snapshot: it must unpack its own.
  Must(env.Snapshots("other")->Prepare("extract-2", "", {{"containerd.io/snapshot.ref", "sha256:chain"}}));
}

TEST_CASE("snapshot view: forwards the staging extension of the backend") {
  Env env;
  std::unique_ptr<Snapshotter> sn = env.Snapshots("default");
  auto* staging = dynamic_cast<StagingSnapshotter*>(sn.get());
  REQUIRE(staging != nullptr);
  std::string dir = Must(staging->NewStagingDir());
  Must(WriteFileAtomic(JoinPath(dir, "file"), "extracted"));
  std::vector<MountDescriptor> mounts = Must(sn->Prepare("layer", "", {}));
  CHECK(CodeOf(staging->AdoptStagingDir("missing", dir)) == absl::StatusCode::kNotFound);
  Must(staging->AdoptStagingDir("layer", dir));
  REQUIRE(mounts.size() == 1);
  REQUIRE(mounts[0].type == "bind");
  CHECK(Must(ReadFile(JoinPath(mounts[0].source, "file"))) == "extracted");
  Must(sn->Commit("committed", "layer", {}));
}

// A view that owns its DB and backends, for the shared suite (which destroys the snapshotter
// at the end of each check).
class OwningView final : public Snapshotter {
 public:
  explicit OwningView(const std::string& root) : env_({.real_clock = true}), view_(env_.Snapshots("suite")) {
    (void)root;  // the Env has its own directory
    // A neighbour namespace with snapshots of the same names: the suite must not see them.
    std::unique_ptr<Snapshotter> neighbour = env_.Snapshots("neighbour");
    Must(neighbour->Prepare("a", "", {}));
    Must(neighbour->Commit("committed", "a", {}));
    Must(neighbour->Prepare("a", "committed", {}));
  }
  absl::StatusOr<SnapshotInfo> Stat(std::string_view key) override { return view_->Stat(key); }
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info, const FieldPaths& paths) override {
    return view_->Update(info, paths);
  }
  absl::StatusOr<SnapshotUsage> Usage(std::string_view key) override { return view_->Usage(key); }
  absl::StatusOr<std::vector<MountDescriptor>> Mounts(std::string_view key) override { return view_->Mounts(key); }
  absl::StatusOr<std::vector<MountDescriptor>> Prepare(std::string_view key, std::string_view parent,
                                                       const Labels& labels) override {
    return view_->Prepare(key, parent, labels);
  }
  absl::StatusOr<std::vector<MountDescriptor>> View(std::string_view key, std::string_view parent,
                                                    const Labels& labels) override {
    return view_->View(key, parent, labels);
  }
  absl::Status Commit(std::string_view name, std::string_view key, const Labels& labels) override {
    return view_->Commit(name, key, labels);
  }
  absl::Status Remove(std::string_view key) override { return view_->Remove(key); }
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const SnapshotInfo&)>& fn) override {
    return view_->Walk(filters, fn);
  }
  absl::Status Cleanup() override { return view_->Cleanup(); }

 private:
  Env env_;
  std::unique_ptr<Snapshotter> view_;
};

TEST_CASE("snapshot view passes the snapshotter suite") {
  snapshots::testsuite::RunSnapshotterSuite(
      [](const std::string& root) -> absl::StatusOr<std::unique_ptr<Snapshotter>> {
        return std::make_unique<OwningView>(root);
      });
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
