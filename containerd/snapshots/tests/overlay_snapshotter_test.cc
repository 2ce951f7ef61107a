#include "containerd/snapshots/overlay_snapshotter.h"

#include <sqlite3.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/status.h"
#include "common/temp_mount.h"
#include "containerd/snapshots/testsuite.h"
#include "fmt/format.h"

namespace liman::containerd::snapshots {
namespace {

using testsuite::ScopedMount;
using testsuite::TempDir;

absl::StatusOr<std::unique_ptr<Snapshotter>> NewOverlay(const std::string& root) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<OverlaySnapshotter> snapshotter, OverlaySnapshotter::Open(root));
  return std::unique_ptr<Snapshotter>(std::move(snapshotter));
}

TEST_CASE("overlay snapshotter passes the snapshotter suite") { testsuite::RunSnapshotterSuite(NewOverlay); }

// ---- helpers ----

std::unique_ptr<OverlaySnapshotter> Open(const std::string& root) {
  absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> snapshotter = OverlaySnapshotter::Open(root);
  INFO(snapshotter.status().ToString());
  REQUIRE(snapshotter.ok());
  return *std::move(snapshotter);
}

void RequireOk(const absl::Status& status) {
  INFO(status.ToString());
  REQUIRE(status.ok());
}
template <typename T>
T RequireOk(absl::StatusOr<T> result) {
  RequireOk(result.status());
  return *std::move(result);
}

absl::StatusCode CodeOf(const absl::Status& status) { return status.code(); }
template <typename T>
absl::StatusCode CodeOf(const absl::StatusOr<T>& result) {
  return result.status().code();
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> entries = RequireOk(ListDir(dir));
  std::sort(entries.begin(), entries.end());
  return entries;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void Write(const std::string& path, const std::string& data) { RequireOk(WriteFileAtomic(path, data)); }

// Commits an empty layer `name` on `parent` after writing `files` straight into its fs/
// (what an unpacker does), without mounting.
void CommitFiles(OverlaySnapshotter& sn, const std::string& name, const std::string& parent,
                 const std::map<std::string, std::string>& files) {
  std::vector<MountDescriptor> mounts = RequireOk(sn.Prepare(name + "-active", parent, {}));
  std::string fs = mounts.front().type == "bind" ? mounts.front().source : "";
  for (const std::string& option : mounts.front().options) {
    if (option.starts_with("upperdir=")) fs = option.substr(9);
  }
  REQUIRE(!fs.empty());
  for (const auto& [file, data] : files) Write(JoinPath(fs, file), data);
  RequireOk(sn.Commit(name, name + "-active", {}));
}

int64_t UserVersion(const std::string& db_path, const char* set = nullptr) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
  if (set != nullptr) REQUIRE(sqlite3_exec(db, set, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  int64_t version = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return version;
}

// ---- tests ----

TEST_CASE("overlay snapshotter lays snapshots out and mounts them like containerd's") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  auto sn = Open(root);
  std::string snapshots = JoinPath(root, "snapshots");
  CHECK(Entries(root) ==
        std::vector<std::string>{"metadata.db", "metadata.db-shm", "metadata.db-wal", "snapshots", "staging"});
  CHECK(UserVersion(JoinPath(root, "metadata.db")) == kSchemaVersion);
  std::vector<std::string> index_off;
  if (PathExists("/sys/module/overlay/parameters/index")) index_off.push_back("index=off");
  auto options = [&](std::vector<std::string> rest) {
    rest.insert(rest.begin(), index_off.begin(), index_off.end());
    return rest;
  };

  // Active without parent: its own fs/, bind-mounted read-write.
  std::vector<MountDescriptor> mounts = RequireOk(sn->Prepare("a", "", {}));
  REQUIRE(mounts.size() == 1);
  CHECK(mounts[0].type == "bind");
  CHECK(mounts[0].source == JoinPath(snapshots, "1/fs"));
  CHECK(mounts[0].target == "");
  CHECK(mounts[0].options == std::vector<std::string>{"rw", "rbind"});
  CHECK(Entries(JoinPath(snapshots, "1")) == std::vector<std::string>{"fs", "work"});
  CHECK(ModeOf(JoinPath(snapshots, "1/fs")) == 0755);
  CHECK(ModeOf(JoinPath(snapshots, "1/work")) == 0711);
  RequireOk(sn->Commit("A", "a", {}));

  // Active with parents: overlay, nearest parent first.
  RequireOk(sn->Prepare("b", "A", {}));
  RequireOk(sn->Commit("B", "b", {}));
  mounts = RequireOk(sn->Prepare("c", "B", {}));
  REQUIRE(mounts.size() == 1);
  CHECK(mounts[0].type == "overlay");
  CHECK(mounts[0].source == "overlay");
  CHECK(mounts[0].options ==
        options({fmt::format("workdir={}/3/work", snapshots), fmt::format("upperdir={}/3/fs", snapshots),
                 fmt::format("lowerdir={0}/2/fs:{0}/1/fs", snapshots)}));

  // Views: no work dir; one parent is a read-only bind of it, more are a lowerdir-only overlay.
  mounts = RequireOk(sn->View("v-none", "", {}));
  CHECK(mounts[0].type == "bind");
  CHECK(mounts[0].source == JoinPath(snapshots, "4/fs"));
  CHECK(mounts[0].options == std::vector<std::string>{"ro", "rbind"});
  CHECK(Entries(JoinPath(snapshots, "4")) == std::vector<std::string>{"fs"});
  mounts = RequireOk(sn->View("v-one", "A", {}));
  CHECK(mounts[0].type == "bind");
  CHECK(mounts[0].source == JoinPath(snapshots, "1/fs"));
  CHECK(mounts[0].options == std::vector<std::string>{"ro", "rbind"});
  mounts = RequireOk(sn->View("v-two", "B", {}));
  CHECK(mounts[0].type == "overlay");
  CHECK(mounts[0].options == options({fmt::format("lowerdir={0}/2/fs:{0}/1/fs", snapshots)}));

  // A committed layer keeps its directory (the lower of its children).
  CHECK(Entries(snapshots) == std::vector<std::string>{"1", "2", "3", "4", "5", "6"});
}

// The inode flags of `path` (ioctl_iflags(2)), or -1 where the filesystem has none.
int InodeFlags(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int flags = -1;
  if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) flags = -1;
  if (fd >= 0) close(fd);
  return flags;
}

TEST_CASE("overlay snapshotter has ext4 spread snapshot directories over block groups") {
  TempDir dir("liman-overlay");
  struct statfs fs;
  REQUIRE(statfs(dir.path().c_str(), &fs) == 0);
  if (fs.f_type != EXT4_SUPER_MAGIC) {
    WARN("skipped: the temporary directory is not on ext4");
    return;
  }
  std::string root = JoinPath(dir.path(), "root");
  auto sn = Open(root);
  for (const char* sub : {"staging", "snapshots"}) {
    INFO(sub);
    int flags = InodeFlags(JoinPath(root, sub));
    REQUIRE(flags != -1);
    CHECK((flags & FS_TOPDIR_FL) != 0);
  }
  // Not inherited by what is made below: only the snapshot directories themselves are spread.
  RequireOk(sn->Prepare("a", "", {}));
  CHECK((InodeFlags(JoinPath(root, "snapshots/1")) & FS_TOPDIR_FL) == 0);
}

TEST_CASE("overlay snapshotter keeps its state across restarts") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  std::string work = dir.Subdir("work");
  std::vector<SnapshotInfo> before;
  SnapshotUsage base_usage;
  std::vector<MountDescriptor> child_mounts;
  {
    auto sn = Open(root);
    CommitFiles(*sn, "base", "", {{"base-file", "from base"}});
    child_mounts = RequireOk(sn->Prepare("child", "base", {{"role", "container"}}));
    ScopedMount mounted = RequireOk(ScopedMount::Mount(child_mounts, work));
    Write(JoinPath(mounted.target(), "child-file"), "from child");
    RequireOk(sn->View("view", "base", {}));
    RequireOk(sn->Prepare("doomed", "", {}));
    base_usage = RequireOk(sn->Usage("base"));
    RequireOk(sn->Walk({}, [&](const SnapshotInfo& info) {
      before.push_back(info);
      return absl::OkStatus();
    }));
    RequireOk(sn->Remove("doomed"));  // had the highest id, 4
    before.erase(std::remove_if(before.begin(), before.end(), [](const SnapshotInfo& i) { return i.name == "doomed"; }),
                 before.end());
  }
  auto sn = Open(root);
  std::vector<SnapshotInfo> after;
  RequireOk(sn->Walk({}, [&](const SnapshotInfo& info) {
    after.push_back(info);
    return absl::OkStatus();
  }));
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    INFO(after[i].name);
    CHECK(after[i].name == before[i].name);
    CHECK(after[i].kind == before[i].kind);
    CHECK(after[i].parent == before[i].parent);
    CHECK(after[i].labels == before[i].labels);
    CHECK(after[i].created_at == before[i].created_at);
    CHECK(after[i].updated_at == before[i].updated_at);
  }
  SnapshotUsage usage = RequireOk(sn->Usage("base"));
  CHECK(usage.size == base_usage.size);
  CHECK(usage.inodes == base_usage.inodes);
  std::vector<MountDescriptor> mounts = RequireOk(sn->Mounts("child"));
  CHECK(mounts[0].options == child_mounts[0].options);
  {
    ScopedMount mounted = RequireOk(ScopedMount::Mount(mounts, work));
    CHECK(RequireOk(ReadFile(JoinPath(work, "base-file"))) == "from base");
    CHECK(RequireOk(ReadFile(JoinPath(work, "child-file"))) == "from child");
  }
  // Ids are never reused, not even the highest one after its removal.
  mounts = RequireOk(sn->Prepare("new", "", {}));
  CHECK(mounts[0].source == JoinPath(root, "snapshots/5/fs"));
}

TEST_CASE("overlay snapshotter adopts staging directories as upper directories") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  std::string work = dir.Subdir("work");
  auto sn = Open(root);

  // A pull extracts every layer at once into staging directories, then chains them.
  std::vector<std::string> staged;
  for (int i = 0; i < 3; ++i) {
    std::string staging = RequireOk(sn->NewStagingDir());
    CHECK(staging.starts_with(JoinPath(root, "staging") + "/"));
    CHECK(Entries(staging).empty());
    CHECK(ModeOf(staging) == 0755);
    Write(JoinPath(staging, fmt::format("layer-{}", i)), fmt::format("content {}", i));
    Write(JoinPath(staging, "top"), fmt::format("{}", i));
    staged.push_back(staging);
  }
  std::string parent;
  for (int i = 0; i < 3; ++i) {
    std::string key = fmt::format("extract-{}", i);
    RequireOk(sn->Prepare(key, parent, {}));
    RequireOk(sn->AdoptStagingDir(key, staged[i]));
    CHECK(!PathExists(staged[i]));
    parent = fmt::format("layer-{}", i);
    RequireOk(sn->Commit(parent, key, {}));
    CHECK(RequireOk(sn->Usage(parent)).inodes == 3);
  }
  CHECK(Entries(JoinPath(root, "staging")).empty());
  {
    ScopedMount view = RequireOk(ScopedMount::Mount(RequireOk(sn->View("view", parent, {})), work));
    for (int i = 0; i < 3; ++i)
      CHECK(RequireOk(ReadFile(JoinPath(work, fmt::format("layer-{}", i)))) == fmt::format("content {}", i));
    CHECK(RequireOk(ReadFile(JoinPath(work, "top"))) == "2");
  }

  std::string staging = RequireOk(sn->NewStagingDir());
  CHECK(CodeOf(sn->AdoptStagingDir("layer-0", staging)) == absl::StatusCode::kFailedPrecondition);
  CHECK(CodeOf(sn->AdoptStagingDir("view", staging)) == absl::StatusCode::kFailedPrecondition);
  CHECK(CodeOf(sn->AdoptStagingDir("missing", staging)) == absl::StatusCode::kNotFound);
  std::vector<MountDescriptor> mounts = RequireOk(sn->Prepare("active", "", {}));
  CHECK(CodeOf(sn->AdoptStagingDir("active", staged[0])) == absl::StatusCode::kInvalidArgument);  // adopted already
  CHECK(CodeOf(sn->AdoptStagingDir("active", JoinPath(dir.path(), "elsewhere"))) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(sn->AdoptStagingDir("active", JoinPath(root, "staging/../snapshots/1"))) ==
        absl::StatusCode::kInvalidArgument);
  // Only an empty upper directory is replaced.
  Write(JoinPath(mounts[0].source, "written"), "x");
  CHECK(CodeOf(sn->AdoptStagingDir("active", staging)) == absl::StatusCode::kFailedPrecondition);
  CHECK(PathExists(staging));
  CHECK(PathExists(JoinPath(mounts[0].source, "written")));
}

TEST_CASE("overlay snapshotter Cleanup removes what crashes and removals left") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  std::string snapshots = JoinPath(root, "snapshots");
  std::string old_staging;
  {
    auto sn = Open(root);
    CommitFiles(*sn, "keep", "", {{"kept", "yes"}});
    old_staging = RequireOk(sn->NewStagingDir());  // never adopted before the "crash"
    Write(JoinPath(old_staging, "partial"), "x");
  }
  // What crashes leave: a creation before its rename, a directory whose row never committed,
  // a deletion cut short.
  for (const char* leftover : {"new-abc123/fs", "new-abc123/work", "7/fs/file-dir", "removed-0123/fs"}) {
    RequireOk(MkdirAll(JoinPath(snapshots, leftover)));
  }
  auto sn = Open(root);
  std::string live_staging = RequireOk(sn->NewStagingDir());
  RequireOk(sn->Cleanup());
  CHECK(Entries(snapshots) == std::vector<std::string>{"1"});
  CHECK(!PathExists(old_staging));
  CHECK(PathExists(live_staging));  // handed out by this instance, maybe still being filled
  CHECK(RequireOk(ReadFile(JoinPath(snapshots, "1/fs/kept"))) == "yes");
  CHECK(RequireOk(sn->Stat("keep")).kind == SnapshotKind::kCommitted);

  // Once its user deleted it, a staging directory is forgotten.
  RequireOk(RemoveAll(live_staging));
  RequireOk(sn->Cleanup());
  CHECK(Entries(JoinPath(root, "staging")).empty());
}

TEST_CASE("overlay snapshotter Remove deletes the snapshot's directory") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  auto sn = Open(root);
  CommitFiles(*sn, "base", "", {{"file", "data"}});
  RequireOk(sn->View("view", "base", {}));
  CHECK(Entries(JoinPath(root, "snapshots")) == std::vector<std::string>{"1", "2"});
  RequireOk(sn->Remove("view"));
  RequireOk(sn->Remove("base"));
  CHECK(Entries(JoinPath(root, "snapshots")).empty());
}

TEST_CASE("overlay snapshotter reclaims a directory a crash left under a reused id") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  { auto sn = Open(root); }
  // A creation renamed new-* to 1/ and crashed before its transaction committed: id 1 is
  // handed out again.
  RequireOk(MkdirAll(JoinPath(root, "snapshots/1/fs/garbage")));
  auto sn = Open(root);
  std::vector<MountDescriptor> mounts = RequireOk(sn->Prepare("fresh", "", {}));
  CHECK(mounts[0].source == JoinPath(root, "snapshots/1/fs"));
  CHECK(Entries(mounts[0].source).empty());
  CHECK(Entries(JoinPath(root, "snapshots")) == std::vector<std::string>{"1"});
}

TEST_CASE("overlay snapshotter stores usage at commit and measures active snapshots live") {
  TempDir dir("liman-overlay");
  auto sn = Open(JoinPath(dir.path(), "root"));
  std::vector<MountDescriptor> mounts = RequireOk(sn->Prepare("active", "", {}));
  std::string fs = mounts[0].source;
  Write(JoinPath(fs, "one"), std::string(10000, 'x'));
  CHECK(RequireOk(sn->Usage("active")).inodes == 2);
  Write(JoinPath(fs, "two"), "y");
  CHECK(RequireOk(sn->Usage("active")).inodes == 3);
  RequireOk(sn->Commit("committed", "active", {}));
  SnapshotUsage committed = RequireOk(sn->Usage("committed"));
  CHECK(committed.inodes == 3);
  Write(JoinPath(fs, "three"), "z");  // behind the snapshotter's back: the stored figure stays
  SnapshotUsage again = RequireOk(sn->Usage("committed"));
  CHECK(again.inodes == 3);
  CHECK(again.size == committed.size);
}

TEST_CASE("overlay snapshotter validates names") {
  TempDir dir("liman-overlay");
  auto sn = Open(JoinPath(dir.path(), "root"));
  CHECK(CodeOf(sn->Prepare("", "", {})) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(sn->View("", "", {})) == absl::StatusCode::kInvalidArgument);
  RequireOk(sn->Prepare("key", "", {}));
  CHECK(CodeOf(sn->Commit("", "key", {})) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(sn->Commit("name", "", {})) == absl::StatusCode::kInvalidArgument);
  SnapshotInfo info;
  CHECK(CodeOf(sn->Update(info, {})) == absl::StatusCode::kInvalidArgument);
  info.name = "key";
  CHECK(CodeOf(sn->Update(info, {"labels."})) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(sn->Update(info, {"name"})) == absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(OverlaySnapshotter::Open("relative/root")) == absl::StatusCode::kInvalidArgument);
  absl::Status status = sn->Commit("name", "", {});
  CHECK(status.message().find("must not be empty") != std::string_view::npos);
}

TEST_CASE("overlay snapshotter mounts 130 layers whose options exceed a page") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  std::string work = dir.Subdir("work");
  auto sn = Open(root);
  std::string parent;
  for (int i = 0; i < 130; ++i) {
    std::string name = fmt::format("layer-with-a-longish-name-{}", i);
    CommitFiles(*sn, name, parent, {{fmt::format("file-{}", i), fmt::format("{}", i)}});
    parent = name;
  }
  std::vector<MountDescriptor> mounts = RequireOk(sn->Prepare("top", parent, {}));
  size_t length = 0;
  for (const std::string& option : mounts[0].options) length += option.size() + 1;
  CHECK(length > static_cast<size_t>(getpagesize()));
  std::string cwd_before = std::filesystem::current_path();
  ScopedMount mounted = RequireOk(ScopedMount::Mount(mounts, work));
  CHECK(RequireOk(ReadFile(JoinPath(work, "file-0"))) == "0");
  CHECK(RequireOk(ReadFile(JoinPath(work, "file-129"))) == "129");
  CHECK(Entries(work).size() == 130);
  // The shortened options are resolved in a thread of the mount's own: the process's working
  // directory, which every other thread of a daemon shares, never moves.
  CHECK(std::filesystem::current_path() == cwd_before);

  // The engine's read-only look at a snapshot (the user lookup at create): the same 130 layers.
  std::unique_ptr<TempMount> read_only = RequireOk(TempMount::Mount(ReadOnlyMounts(mounts), dir.Subdir("temp")));
  CHECK(RequireOk(ReadFile(JoinPath(read_only->dir(), "file-129"))) == "129");
  CHECK(::access(JoinPath(read_only->dir(), "new").c_str(), F_OK) != 0);
  CHECK(!WriteFileAtomic(JoinPath(read_only->dir(), "new"), "x", 0644).ok());
}

TEST_CASE("overlay snapshotter refuses metadata from a newer version") {
  TempDir dir("liman-overlay");
  std::string root = JoinPath(dir.path(), "root");
  { auto sn = Open(root); }
  UserVersion(JoinPath(root, "metadata.db"), "PRAGMA user_version = 99");
  absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> sn = OverlaySnapshotter::Open(root);
  CHECK(sn.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(sn.status().message().find("99") != std::string_view::npos);
}

}  // namespace
}  // namespace liman::containerd::snapshots
