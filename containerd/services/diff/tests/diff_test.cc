// The diff service over real gRPC against the fixture's overlay snapshotter and content store:
// layers applied into prepared snapshots (overlay upper and bind fast paths, a temporary mount
// otherwise), whiteouts seen through a mounted view, hostile layers contained, diffs that
// reproduce their change when applied again, and blobs that are not what they claim refused.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/mount.h"
#include "containerd/archive/tests/test_util.h"
#include "containerd/services/diff/diff_service.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/snapshots/snapshots_service.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace diffapi = ::containerd::services::diff::v1;
namespace snapapi = ::containerd::services::snapshots::v1;
namespace at = archive::testing;
using Mounts = google::protobuf::RepeatedPtrField<::containerd::types::Mount>;
using testing::ServiceFixture;

constexpr char kSnapshotter[] = "overlayfs";
constexpr char kTar[] = "application/vnd.oci.image.layer.v1.tar";
constexpr char kGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";

// Mounts a mount set on a temporary directory for as long as it lives.
class MountedTree {
 public:
  explicit MountedTree(const Mounts& mounts) {
    std::vector<MountDescriptor> descriptors;
    for (const auto& mount : mounts)
      descriptors.push_back({.type = mount.type(), .source = mount.source(), .options = {mount.options().begin(), mount.options().end()}});
    absl::Status status = MountAll(descriptors, dir_.path());
    INFO(status.ToString());
    REQUIRE(status.ok());
    mounted_ = true;
  }
  ~MountedTree() {
    if (mounted_) (void)UnmountAll(dir_.path());
  }
  std::string path(const std::string& name = "") const { return name.empty() ? dir_.path() : JoinPath(dir_.path(), name); }

 private:
  at::TempDir dir_;
  bool mounted_ = false;
};

class DiffClient {
 public:
  DiffClient() {
    fixture_.Serve(MakeSnapshotsService);
    fixture_.Serve(MakeDiffService);
    fixture_.Start();
    snapshots_ = snapapi::Snapshots::NewStub(fixture_.channel());
    diff_ = diffapi::Diff::NewStub(fixture_.channel());
  }
  ServiceFixture& fixture() { return fixture_; }
  diffapi::Diff::Stub& diff() { return *diff_; }

  // Writes `data` as a blob of namespace "default"; its digest.
  std::string WriteBlob(const std::string& data) {
    auto view = fixture_.deps().db->ContentView("default");
    REQUIRE(view.ok());
    std::string digest = at::Sha256Digest(data);
    auto writer = (*view)->Writer("test-" + digest, static_cast<int64_t>(data.size()), digest);
    if (absl::IsAlreadyExists(writer.status())) return digest;
    REQUIRE(writer.ok());
    REQUIRE((*writer)->Write(data).ok());
    REQUIRE((*writer)->Commit(static_cast<int64_t>(data.size()), digest, {}).ok());
    return digest;
  }

  Mounts Prepare(const std::string& key, const std::string& parent) {
    snapapi::PrepareSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(key);
    request.set_parent(parent);
    snapapi::PrepareSnapshotResponse response;
    grpc::Status status = snapshots_->Prepare(ServiceFixture::Context().get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.mounts();
  }
  Mounts View(const std::string& key, const std::string& parent) {
    snapapi::ViewSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(key);
    request.set_parent(parent);
    snapapi::ViewSnapshotResponse response;
    grpc::Status status = snapshots_->View(ServiceFixture::Context().get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response.mounts();
  }
  void Commit(const std::string& name, const std::string& key) {
    snapapi::CommitSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_name(name);
    request.set_key(key);
    google::protobuf::Empty response;
    grpc::Status status = snapshots_->Commit(ServiceFixture::Context().get(), request, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
  }

  grpc::Status Apply(const std::string& media_type, const std::string& digest, int64_t size, const Mounts& mounts,
                     diffapi::ApplyResponse* response, const std::string& ns = "default") {
    diffapi::ApplyRequest request;
    request.mutable_diff()->set_media_type(media_type);
    request.mutable_diff()->set_digest(digest);
    request.mutable_diff()->set_size(size);
    *request.mutable_mounts() = mounts;
    return diff_->Apply(ServiceFixture::Context(ns).get(), request, response);
  }
  // Writes `blob` and applies it; REQUIREs success.
  diffapi::ApplyResponse ApplyBlob(const std::string& media_type, const std::string& blob, const Mounts& mounts) {
    std::string digest = WriteBlob(blob);
    diffapi::ApplyResponse response;
    grpc::Status status = Apply(media_type, digest, static_cast<int64_t>(blob.size()), mounts, &response);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return response;
  }

  grpc::Status Diff(const Mounts& left, const Mounts& right, const std::string& media_type,
                    diffapi::DiffResponse* response, const std::string& ref = "",
                    const std::map<std::string, std::string>& labels = {}) {
    diffapi::DiffRequest request;
    *request.mutable_left() = left;
    *request.mutable_right() = right;
    request.set_media_type(media_type);
    request.set_ref(ref);
    request.mutable_labels()->insert(labels.begin(), labels.end());
    return diff_->Diff(ServiceFixture::Context().get(), request, response);
  }

  // The directory under the fixture's state where temporary mounts are made.
  std::string TempMountsDir() const { return JoinPath(fixture_.state(), "io.containerd.service.v1.diff-service"); }

 private:
  ServiceFixture fixture_;
  std::unique_ptr<snapapi::Snapshots::Stub> snapshots_;
  std::unique_ptr<diffapi::Diff::Stub> diff_;
};

std::string OptionValue(const ::containerd::types::Mount& mount, const std::string& key) {
  for (const std::string& option : mount.options())
    if (option.starts_with(key + "=")) return option.substr(key.size() + 1);
  return "";
}

bool IsWhiteoutDevice(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

std::string Xattr(const std::string& path, const char* name) {
  char value[64] = {};
  ssize_t length = lgetxattr(path.c_str(), name, value, sizeof value);
  return length < 0 ? "" : std::string(value, static_cast<size_t>(length));
}

bool NothingMountedUnder(const std::string& dir) {
  auto mountinfo = ReadFile("/proc/self/mountinfo");
  REQUIRE(mountinfo.ok());
  return mountinfo->find(dir) == std::string::npos;
}

const std::string kBaseTar = at::BuildTar({
    at::Dir("etc"),
    at::File("etc/hello", "hello world\n"),
    at::Dir("data"),
    at::Dir("data/old"),
    at::File("data/old/a", "a"),
    at::File("data/b", "b"),
    at::File("keep", "to be deleted"),
    at::Symlink("link", "etc/hello"),
});

// Deletes "keep", makes "data" opaque with one new file in it.
const std::string kWhiteoutTar = at::BuildTar({
    at::Whiteout(".wh.keep"),
    at::Dir("data"),
    at::Whiteout("data/.wh..wh..opq"),
    at::File("data/new", "new"),
    at::File("etc/added", "added"),
});

TEST_CASE("diff service: apply a gzip layer, then a whiteout layer seen through a view", "[diff]") {
  DiffClient client;
  Mounts base = client.Prepare("base-key", "");
  REQUIRE(base.size() == 1);
  REQUIRE(base[0].type() == "bind");

  diffapi::ApplyResponse applied = client.ApplyBlob(kGzip, at::GzipMember(kBaseTar), base);
  CHECK(applied.applied().media_type() == kTar);
  CHECK(applied.applied().digest() == at::Sha256Digest(kBaseTar));
  CHECK(applied.applied().size() == static_cast<int64_t>(kBaseTar.size()));
  const std::string base_dir = base[0].source();
  CHECK(at::ReadHostFile(JoinPath(base_dir, "etc/hello")) == "hello world\n");
  CHECK(at::ReadHostFile(JoinPath(base_dir, "data/old/a")) == "a");
  client.Commit("base", "base-key");

  // The child is an overlay: the layer goes into its upper directory in overlay's form.
  Mounts child = client.Prepare("child-key", "base");
  REQUIRE(child.size() == 1);
  REQUIRE(child[0].type() == "overlay");
  diffapi::ApplyResponse second = client.ApplyBlob(kGzip, at::GzipMember(kWhiteoutTar), child);
  CHECK(second.applied().digest() == at::Sha256Digest(kWhiteoutTar));
  const std::string upper = OptionValue(child[0], "upperdir");
  CHECK(IsWhiteoutDevice(JoinPath(upper, "keep")));
  CHECK(Xattr(JoinPath(upper, "data"), "trusted.overlay.opaque") == "y");
  CHECK(at::ReadHostFile(JoinPath(upper, "data/new")) == "new");
  // The lower layer is untouched.
  CHECK(at::ReadHostFile(JoinPath(base_dir, "keep")) == "to be deleted");
  // "etc" was created in the upper with the lower's attributes.
  struct stat lower_etc {}, upper_etc {};
  REQUIRE(stat(JoinPath(base_dir, "etc").c_str(), &lower_etc) == 0);
  REQUIRE(stat(JoinPath(upper, "etc").c_str(), &upper_etc) == 0);
  CHECK(lower_etc.st_mode == upper_etc.st_mode);
  client.Commit("second", "child-key");

  Mounts view = client.View("view", "second");
  MountedTree tree(view);
  CHECK_FALSE(PathExists(tree.path("keep")));
  CHECK_FALSE(PathExists(tree.path("data/old")));
  CHECK_FALSE(PathExists(tree.path("data/b")));
  CHECK(at::ReadHostFile(tree.path("data/new")) == "new");
  CHECK(at::ReadHostFile(tree.path("etc/hello")) == "hello world\n");
  CHECK(at::ReadHostFile(tree.path("etc/added")) == "added");
  CHECK(at::ReadHostFile(tree.path("link")) == "hello world\n");
}

TEST_CASE("diff service: zstd and plain tar layers", "[diff]") {
  DiffClient client;
  Mounts zstd = client.Prepare("zstd", "");
  diffapi::ApplyResponse applied = client.ApplyBlob(kZstd, at::ZstdFrame(kBaseTar), zstd);
  CHECK(applied.applied().digest() == at::Sha256Digest(kBaseTar));
  CHECK(at::ReadHostFile(JoinPath(zstd[0].source(), "etc/hello")) == "hello world\n");

  Mounts plain = client.Prepare("plain", "");
  applied = client.ApplyBlob(kTar, kBaseTar, plain);
  CHECK(applied.applied().digest() == at::Sha256Digest(kBaseTar));
  CHECK(applied.applied().size() == static_cast<int64_t>(kBaseTar.size()));
  CHECK(at::Snapshot(zstd[0].source()) == at::Snapshot(plain[0].source()));
}

TEST_CASE("diff service: mounts without a fast path are mounted temporarily and unmounted", "[diff]") {
  DiffClient client;
  at::TempDir dirs;
  const std::string top = dirs.Subdir("top");
  const std::string inner = dirs.Subdir("inner");
  REQUIRE(MkdirAll(JoinPath(top, "sub")).ok());
  Mounts mounts;
  auto* first = mounts.Add();
  first->set_type("bind");
  first->set_source(top);
  first->add_options("rbind");
  first->add_options("rw");
  auto* second = mounts.Add();
  second->set_type("bind");
  second->set_source(inner);
  second->set_target("sub");
  second->add_options("rbind");
  second->add_options("rw");

  std::string tar = at::BuildTar({at::File("top-file", "1"), at::File("sub/inner-file", "2")});
  client.ApplyBlob(kGzip, at::GzipMember(tar), mounts);
  CHECK(at::ReadHostFile(JoinPath(top, "top-file")) == "1");
  CHECK(at::ReadHostFile(JoinPath(inner, "inner-file")) == "2");
  CHECK_FALSE(PathExists(JoinPath(top, "sub/inner-file")));
  CHECK(NothingMountedUnder(client.TempMountsDir()));
  auto left = ListDir(client.TempMountsDir());
  REQUIRE(left.ok());
  CHECK(left->empty());

  // A read-only view cannot take a layer; the temporary mount goes all the same.
  Mounts base = client.Prepare("base-key", "");
  client.ApplyBlob(kTar, kBaseTar, base);
  client.Commit("base", "base-key");
  client.Prepare("k2", "base");
  client.Commit("base2", "k2");
  Mounts view = client.View("view", "base2");
  REQUIRE(view[0].type() == "overlay");  // lowerdir only: no fast path
  std::string digest = client.WriteBlob(at::GzipMember(tar));
  diffapi::ApplyResponse response;
  grpc::Status status = client.Apply(kGzip, digest, 0, view, &response);
  CHECK_FALSE(status.ok());
  CHECK(NothingMountedUnder(client.TempMountsDir()));
  left = ListDir(client.TempMountsDir());
  REQUIRE(left.ok());
  CHECK(left->empty());
}

TEST_CASE("diff service: hostile layers are refused or contained", "[diff]") {
  DiffClient client;
  at::TempDir outside;

  SECTION("a name climbing out of the root is refused") {
    Mounts mounts = client.Prepare("escape", "");
    std::string tar = at::BuildTar({at::File("../escaped", "x")});
    std::string digest = client.WriteBlob(at::GzipMember(tar));
    diffapi::ApplyResponse response;
    grpc::Status status = client.Apply(kGzip, digest, 0, mounts, &response);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_FALSE(PathExists(JoinPath(ParentDirectory(mounts[0].source()), "escaped")));
  }

  SECTION("symlinks resolve inside the snapshot, overlay and bind alike") {
    std::string tar = at::BuildTar({
        at::Symlink("evil", outside.path()),
        at::File("evil/pwned", "x"),
        at::Symlink("up", "../../../../../../.."),
        at::File("up/tmp/pwned-too", "y"),
    });
    Mounts bind = client.Prepare("bind", "");
    std::string digest = client.WriteBlob(at::GzipMember(tar));
    diffapi::ApplyResponse response;
    grpc::Status status = client.Apply(kGzip, digest, 0, bind, &response);
    if (status.ok()) {
      // Contained: the writes landed inside the snapshot.
      CHECK(PathExists(JoinPath(bind[0].source(), outside.path().substr(1) + "/pwned")));
    }
    CHECK_FALSE(PathExists(JoinPath(outside.path(), "pwned")));
    CHECK_FALSE(PathExists("/tmp/pwned-too"));

    client.ApplyBlob(kTar, kBaseTar, client.Prepare("base-key", ""));
    client.Commit("base", "base-key");
    Mounts overlay = client.Prepare("overlay", "base");
    status = client.Apply(kGzip, digest, 0, overlay, &response);
    CHECK_FALSE(PathExists(JoinPath(outside.path(), "pwned")));
    CHECK_FALSE(PathExists("/tmp/pwned-too"));
  }
}

TEST_CASE("diff service: a diff of a changed snapshot reproduces the change when applied", "[diff]") {
  DiffClient client;
  Mounts base = client.Prepare("base-key", "");
  client.ApplyBlob(kGzip, at::GzipMember(kBaseTar), base);
  client.Commit("base", "base-key");

  // Change the active child through its mount, as a container would.
  Mounts active = client.Prepare("work", "base");
  {
    MountedTree tree(active);
    at::WriteHostFile(tree.path("etc/hello"), "changed\n");
    at::WriteHostFile(tree.path("etc/new"), "new file\n");
    REQUIRE(unlink(tree.path("keep").c_str()) == 0);
    REQUIRE(RemoveAll(tree.path("data")).ok());
    REQUIRE(MkdirAll(tree.path("data")).ok());
    at::WriteHostFile(tree.path("data/fresh"), "fresh");
    REQUIRE(chmod(tree.path("etc").c_str(), 0700) == 0);
  }
  Mounts parent_view = client.View("parent-view", "base");

  for (const char* media_type : {kGzip, kZstd, kTar}) {
    DYNAMIC_SECTION("media type " << media_type) {
      diffapi::DiffResponse diffed;
      grpc::Status status = client.Diff(parent_view, active, media_type, &diffed, "", {{"origin", "test"}});
      INFO(status.error_message());
      REQUIRE(status.ok());
      CHECK(diffed.diff().media_type() == media_type);
      auto content = client.fixture().deps().db->ContentView("default");
      REQUIRE(content.ok());
      auto info = (*content)->Info(diffed.diff().digest());
      REQUIRE(info.ok());
      CHECK(info->size == diffed.diff().size());
      CHECK(info->labels.at("origin") == "test");
      const std::string uncompressed = info->labels.at("containerd.io/uncompressed");

      CHECK(uncompressed.starts_with("sha256:"));

      // Apply the diff onto a fresh child of the same parent: both trees look the same.
      Mounts replay = client.Prepare("replay", "base");
      diffapi::ApplyResponse applied;
      status = client.Apply(media_type, diffed.diff().digest(), diffed.diff().size(), replay, &applied);
      INFO(status.error_message());
      REQUIRE(status.ok());
      CHECK(applied.applied().digest() == uncompressed);
      client.Commit("replayed", "replay");
      client.Commit("changed", "work");
      MountedTree changed(client.View("changed-view", "changed"));
      MountedTree replayed(client.View("replayed-view", "replayed"));
      CHECK(at::ReadHostFile(replayed.path("etc/hello")) == "changed\n");
      CHECK_FALSE(PathExists(replayed.path("keep")));
      CHECK_FALSE(PathExists(replayed.path("data/old")));
      // Times aside (a layer keeps whole seconds), the trees are the same.
      CHECK(at::Describe(at::Snapshot(changed.path(), false)) == at::Describe(at::Snapshot(replayed.path(), false)));
    }
  }
}

TEST_CASE("diff service: diff options and refusals", "[diff]") {
  DiffClient client;
  Mounts base = client.Prepare("base-key", "");
  client.ApplyBlob(kTar, kBaseTar, base);
  client.Commit("base", "base-key");
  Mounts active = client.Prepare("work", "base");
  at::WriteHostFile(JoinPath(OptionValue(active[0], "upperdir"), "added"), "x");
  Mounts parent_view = client.View("parent-view", "base");
  diffapi::DiffResponse diffed;

  // No media type: gzip, as containerd.
  REQUIRE(client.Diff(parent_view, active, "", &diffed).ok());
  CHECK(diffed.diff().media_type() == kGzip);
  // A named ingest ref is used and gone once committed; the same layer again is fine.
  REQUIRE(client.Diff(parent_view, active, kGzip, &diffed, "my-diff-ref").ok());
  auto content = client.fixture().deps().db->ContentView("default");
  REQUIRE(content.ok());
  CHECK(absl::IsNotFound((*content)->Status("my-diff-ref").status()));

  CHECK(client.Diff(parent_view, active, "application/vnd.docker.image.rootfs.diff.tar.gzip+x", &diffed).error_code() ==
        grpc::StatusCode::UNIMPLEMENTED);
  // Nothing is left in the store's ingests from the refusals.
  auto statuses = (*content)->ListStatuses({});
  REQUIRE(statuses.ok());
  CHECK(statuses->empty());

  diffapi::DiffRequest request;
  *request.mutable_left() = parent_view;
  *request.mutable_right() = active;
  CHECK(client.diff().Diff(ServiceFixture::Context("").get(), request, &diffed).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("diff service: blobs that are not what the descriptor says are refused", "[diff]") {
  DiffClient client;
  Mounts mounts = client.Prepare("target", "");
  std::string blob = at::GzipMember(kBaseTar);
  std::string digest = client.WriteBlob(blob);
  diffapi::ApplyResponse response;

  // Not in the store.
  CHECK(client.Apply(kGzip, at::Sha256Digest("other"), 0, mounts, &response).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  // Not visible to another namespace.
  CHECK(client.Apply(kGzip, digest, 0, mounts, &response, "other").error_code() == grpc::StatusCode::NOT_FOUND);
  // Malformed digest, no digest, unknown media type, no mounts, no namespace.
  CHECK(client.Apply(kGzip, "sha256:xyz", 0, mounts, &response).error_code() != grpc::StatusCode::OK);
  CHECK(client.Apply(kGzip, "", 0, mounts, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(client.Apply("application/json", digest, 0, mounts, &response).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(client.Apply(kGzip, digest, 0, {}, &response).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(client.Apply(kGzip, digest, 0, mounts, &response, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  // Wrong size.
  CHECK(client.Apply(kGzip, digest, static_cast<int64_t>(blob.size()) + 1, mounts, &response).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  // Declared gzip, but a plain tar.
  std::string plain = client.WriteBlob(kBaseTar);
  CHECK(client.Apply(kGzip, plain, 0, mounts, &response).error_code() != grpc::StatusCode::OK);

  // A blob damaged on disk: its bytes no longer have its digest.
  std::string corrupt_tar = kBaseTar;
  corrupt_tar[corrupt_tar.find("hello world")] = 'J';
  std::string path = JoinPath(client.fixture().root(),
                              "io.containerd.content.v1.content/blobs/sha256/" + plain.substr(7));
  REQUIRE(PathExists(path));
  REQUIRE(chmod(path.c_str(), 0644) == 0);
  REQUIRE(WriteFile(path, corrupt_tar).ok());
  grpc::Status status = client.Apply(kTar, plain, 0, mounts, &response);
  CHECK(status.error_code() == grpc::StatusCode::DATA_LOSS);
  CHECK_THAT(status.error_message(), Catch::Contains(plain));
}

TEST_CASE("diff service: any two mount sets are mounted read-only and compared entry by entry", "[diff]") {
  DiffClient client;
  Mounts base = client.Prepare("base-key", "");
  client.ApplyBlob(kTar, kBaseTar, base);
  client.Commit("base", "base-key");
  Mounts work = client.Prepare("work", "base");
  {
    MountedTree tree(work);
    at::WriteHostFile(tree.path("added"), "x");
    at::WriteHostFile(tree.path("etc/hello"), "changed\n");
    REQUIRE(unlink(tree.path("keep").c_str()) == 0);
  }
  client.Commit("changed", "work");
  Mounts changed_view = client.View("changed-view", "changed");
  Mounts base_view = client.View("base-view", "base");

  // Backwards, from the child to its parent: no directory holds that change set.
  diffapi::DiffResponse undo;
  grpc::Status status = client.Diff(changed_view, base_view, kTar, &undo);
  INFO(status.error_message());
  REQUIRE(status.ok());
  Mounts replay = client.Prepare("replay", "changed");
  diffapi::ApplyResponse applied;
  status = client.Apply(kTar, undo.diff().digest(), undo.diff().size(), replay, &applied);
  INFO(status.error_message());
  REQUIRE(status.ok());
  client.Commit("undone", "replay");
  {
    MountedTree undone(client.View("undone-view", "undone"));
    MountedTree original(base_view);
    CHECK_FALSE(PathExists(undone.path("added")));
    CHECK(at::ReadHostFile(undone.path("keep")) == at::ReadHostFile(original.path("keep")));
    CHECK(at::Describe(at::Snapshot(undone.path(), false)) == at::Describe(at::Snapshot(original.path(), false)));
  }

  // A tree against itself: an empty layer (two zero blocks); against nothing: the whole tree.
  diffapi::DiffResponse same;
  REQUIRE(client.Diff(base_view, base_view, kTar, &same).ok());
  CHECK(same.diff().size() == 1024);
  diffapi::DiffResponse whole;
  REQUIRE(client.Diff({}, base_view, kTar, &whole).ok());
  CHECK(whole.diff().size() > 1024);
  // The temporary mounts are gone.
  CHECK(NothingMountedUnder(client.TempMountsDir()));
}

}  // namespace
}  // namespace liman::containerd::services
