#include "containerd/snapshots/testsuite.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <thread>

#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "common/wall_clock.h"
#include "fmt/format.h"

namespace liman::containerd::snapshots::testsuite {

std::string TestTempBase() {
  if (const char* env = std::getenv("LIMAN_TEST_TMPDIR"); env != nullptr && *env != '\0') return env;
  struct statfs fs;
  if (statfs("/tmp", &fs) == 0 && fs.f_type != OVERLAYFS_SUPER_MAGIC && fs.f_type != TMPFS_MAGIC) return "/tmp";
  return "/var/tmp";
}

absl::StatusOr<ScopedMount> ScopedMount::Mount(const std::vector<MountDescriptor>& mounts, const std::string& target) {
  // MountAll unmounts what it mounted when it fails, so a failure leaves nothing to undo.
  LIMAN_RETURN_IF_ERROR(MountAll(mounts, target));
  return ScopedMount(target);
}

ScopedMount::ScopedMount(ScopedMount&& other) noexcept : target_(std::exchange(other.target_, "")) {}

ScopedMount::~ScopedMount() {
  if (absl::Status status = Unmount(); !status.ok()) fmt::print(stderr, "test mount: {}\n", status);
}

absl::Status ScopedMount::Unmount() {
  if (target_.empty()) return absl::OkStatus();
  return UnmountAll(std::exchange(target_, ""));
}

namespace {

using Code = absl::StatusCode;

// Every snapshot the suite makes carries this label: a backend with garbage collection
// (containerd's metadata store) keeps labelled snapshots however long a check takes.
const Labels& GcRoot() {
  static const Labels labels = {{"containerd.io/gc.root", "snapshot-testsuite"}};
  return labels;
}

Labels WithGcRoot(Labels labels) {
  labels.insert(GcRoot().begin(), GcRoot().end());
  return labels;
}

// Failing results end the check with the expression, the line and the status.
void Must(const absl::Status& status, const char* expr, int line) {
  if (!status.ok()) FAIL(fmt::format("testsuite.cc:{}: {}: {}", line, expr, status.ToString()));
}
template <typename T>
T Must(absl::StatusOr<T> result, const char* expr, int line) {
  Must(result.status(), expr, line);
  return *std::move(result);
}
#define MUST(expr) Must((expr), #expr, __LINE__)

template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}
absl::Status StatusOf(const absl::Status& status) { return status; }

#define CHECK_CODE(expr, expected)                                \
  do {                                                            \
    absl::Status check_code_status_ = StatusOf(expr);             \
    INFO(#expr << " returned " << check_code_status_.ToString()); \
    CHECK(check_code_status_.code() == (expected));               \
  } while (0)

// ---- Files ------------------------------------------------------------------------------

void WriteTestFile(const std::string& root, const std::string& name, std::string_view data, mode_t mode = 0644) {
  std::string path = JoinPath(root, name);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) FAIL(fmt::format("create {}: {}", path, ErrnoText(errno)));
  while (!data.empty()) {
    ssize_t n = write(fd.get(), data.data(), data.size());
    if (n < 0) FAIL(fmt::format("write {}: {}", path, ErrnoText(errno)));
    data.remove_prefix(static_cast<size_t>(n));
  }
  // The mode exactly, whatever the umask.
  if (fchmod(fd.get(), mode) != 0) FAIL(fmt::format("chmod {}: {}", path, ErrnoText(errno)));
}

void MakeTestDir(const std::string& root, const std::string& name, mode_t mode = 0755) {
  std::string path = JoinPath(root, name);
  if (mkdir(path.c_str(), mode) != 0 || chmod(path.c_str(), mode) != 0)
    FAIL(fmt::format("mkdir {}: {}", path, ErrnoText(errno)));
}

void ChownTest(const std::string& root, const std::string& name, uid_t uid, gid_t gid) {
  std::string path = JoinPath(root, name);
  if (lchown(path.c_str(), uid, gid) != 0) FAIL(fmt::format("chown {}: {}", path, ErrnoText(errno)));
}

void RemoveTest(const std::string& root, const std::string& name) { MUST(RemoveAll(JoinPath(root, name))); }

void LinkTest(const std::string& root, const std::string& from, const std::string& to) {
  if (link(JoinPath(root, from).c_str(), JoinPath(root, to).c_str()) != 0)
    FAIL(fmt::format("link {} {}: {}", from, to, ErrnoText(errno)));
}

void RenameTest(const std::string& root, const std::string& from, const std::string& to) {
  if (rename(JoinPath(root, from).c_str(), JoinPath(root, to).c_str()) != 0)
    FAIL(fmt::format("rename {} {}: {}", from, to, ErrnoText(errno)));
}

// What a tree looks like: relative path -> type, mode, owner and content (nlink and times
// left out: they legitimately differ between an overlay and a plain directory).
using Tree = std::map<std::string, std::string>;

void ReadTreeInto(const std::string& root, const std::string& relative, Tree& tree) {
  std::string dir = relative.empty() ? root : JoinPath(root, relative);
  for (const std::string& name : MUST(ListDir(dir))) {
    std::string rel = relative.empty() ? name : JoinPath(relative, name);
    std::string path = JoinPath(root, rel);
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) FAIL(fmt::format("lstat {}: {}", path, ErrnoText(errno)));
    std::string meta = fmt::format("{:04o} {}:{}", st.st_mode & 07777, st.st_uid, st.st_gid);
    if (S_ISDIR(st.st_mode)) {
      tree[rel] = "dir " + meta;
      ReadTreeInto(root, rel, tree);
    } else if (S_ISREG(st.st_mode)) {
      tree[rel] = fmt::format("file {} {:?}", meta, MUST(ReadFile(path)));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = readlink(path.c_str(), target.data(), target.size());
      target.resize(n < 0 ? 0 : static_cast<size_t>(n));
      tree[rel] = fmt::format("symlink {} -> {}", meta, target);
    } else {
      tree[rel] = fmt::format("special {:o} {}", st.st_mode & S_IFMT, meta);
    }
  }
}

Tree ReadTree(const std::string& root) {
  Tree tree;
  ReadTreeInto(root, "", tree);
  return tree;
}

// "" when equal, otherwise one line per difference.
std::string TreeDiff(const Tree& got, const Tree& want) {
  std::string diff;
  for (const auto& [path, entry] : want) {
    auto it = got.find(path);
    if (it == got.end())
      diff += fmt::format("missing {}: {}\n", path, entry);
    else if (it->second != entry)
      diff += fmt::format("differs {}: got {}, want {}\n", path, it->second, entry);
  }
  for (const auto& [path, entry] : got) {
    if (!want.contains(path)) diff += fmt::format("unexpected {}: {}\n", path, entry);
  }
  return diff;
}

#define CHECK_SAME_TREE(got_dir, want_dir) CHECK(TreeDiff(ReadTree(got_dir), ReadTree(want_dir)) == "")

// ---- Snapshot helpers ---------------------------------------------------------------------

// One check's world: the snapshotter and a scratch directory for mount points.
struct Env {
  Snapshotter& sn;
  const TempDir& work;
  const SnapshotterSuiteOptions& options;
};

// A layer's changes, applied to a mounted snapshot and to the expected plain directory alike.
using Change = std::function<void(const std::string& root)>;

// Prepares `key` on `parent`, mounts it, applies `change`, unmounts and commits it as `name`.
void CommitLayer(Env& env, const std::string& key, const std::string& parent, const std::string& name,
                 const Change& change) {
  std::vector<MountDescriptor> mounts = MUST(env.sn.Prepare(key, parent, GcRoot()));
  REQUIRE(!mounts.empty());
  ScopedMount mounted = MUST(ScopedMount::Mount(mounts, env.work.Subdir(key)));
  change(mounted.target());
  MUST(mounted.Unmount());
  MUST(env.sn.Commit(name, key, GcRoot()));
}

// Builds a chain of one committed layer per change, checking at every layer that the new active
// snapshot shows what the plain directory `flat` shows before and after the change, and at the
// end that a view of the top shows it too. Returns the name of the top layer.
std::string CheckLayers(Env& env, const std::vector<Change>& changes, const std::string& prefix = "layer") {
  std::string flat = env.work.Subdir(prefix + "-flat");
  std::string parent;
  for (size_t i = 0; i < changes.size(); ++i) {
    INFO("layer " << i);
    std::string key = fmt::format("{}-{}-active", prefix, i);
    std::vector<MountDescriptor> mounts = MUST(env.sn.Prepare(key, parent, GcRoot()));
    ScopedMount mounted = MUST(ScopedMount::Mount(mounts, env.work.Subdir(key)));
    CHECK_SAME_TREE(mounted.target(), flat);
    changes[i](flat);
    changes[i](mounted.target());
    CHECK_SAME_TREE(mounted.target(), flat);
    MUST(mounted.Unmount());
    std::string name = fmt::format("{}-{}", prefix, i);
    MUST(env.sn.Commit(name, key, GcRoot()));
    parent = name;
  }
  std::string view = prefix + "-view";
  ScopedMount mounted = MUST(ScopedMount::Mount(MUST(env.sn.View(view, parent, GcRoot())), env.work.Subdir(view)));
  CHECK_SAME_TREE(mounted.target(), flat);
  MUST(mounted.Unmount());
  MUST(env.sn.Remove(view));
  return parent;
}

std::vector<std::string> WalkNames(Snapshotter& sn, const std::vector<std::string>& filters) {
  std::vector<std::string> names;
  MUST(sn.Walk(filters, [&](const SnapshotInfo& info) {
    names.push_back(info.name);
    return absl::OkStatus();
  }));
  std::sort(names.begin(), names.end());
  return names;
}

// Writes into a mounted read-only tree must fail.
void CheckNotWritable(const std::string& dir) {
  std::string path = JoinPath(dir, "must-not-be-created");
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  int err = errno;
  if (fd >= 0) close(fd);
  INFO("creating a file in a view: " << (fd >= 0 ? "succeeded" : ErrnoText(err)));
  CHECK(fd < 0);
  CHECK(err == EROFS);
}

// ---- Checks --------------------------------------------------------------------------------

// Prepare, write, commit, build on it, delete a lower file (whiteout), view the merged result.
void CheckBasic(Env& env) {
  Change initial = [](const std::string& root) {
    WriteTestFile(root, "foo", "foo\n", 0777);
    MakeTestDir(root, "a");
    MakeTestDir(root, "a/b");
    MakeTestDir(root, "a/b/c");
    WriteTestFile(root, "a/b/c/deep", "deep\n");
  };
  Change diff = [](const std::string& root) {
    WriteTestFile(root, "bar", "bar\n", 0777);
    WriteTestFile(root, "foo", "bar\n", 0777);
    RemoveTest(root, "a/b");
  };
  std::string flat = env.work.Subdir("flat");

  std::vector<MountDescriptor> mounts = MUST(env.sn.Prepare("preparing", "", GcRoot()));
  REQUIRE(!mounts.empty());
  ScopedMount preparing = MUST(ScopedMount::Mount(mounts, env.work.Subdir("preparing")));
  initial(preparing.target());
  initial(flat);
  MUST(preparing.Unmount());
  MUST(env.sn.Commit("committed", "preparing", GcRoot()));

  SnapshotInfo committed = MUST(env.sn.Stat("committed"));
  CHECK(committed.name == "committed");
  CHECK(committed.parent == "");
  CHECK(committed.kind == SnapshotKind::kCommitted);
  CHECK_CODE(env.sn.Stat("preparing"), Code::kNotFound);

  ScopedMount next =
      MUST(ScopedMount::Mount(MUST(env.sn.Prepare("next", "committed", GcRoot())), env.work.Subdir("next")));
  CHECK_SAME_TREE(next.target(), flat);
  diff(next.target());
  diff(flat);
  CHECK_SAME_TREE(next.target(), flat);
  MUST(next.Unmount());

  SnapshotInfo active = MUST(env.sn.Stat("next"));
  CHECK(active.parent == "committed");
  CHECK(active.kind == SnapshotKind::kActive);
  MUST(env.sn.Commit("committed-next", "next", GcRoot()));
  SnapshotInfo top = MUST(env.sn.Stat("committed-next"));
  CHECK(top.parent == "committed");
  CHECK(top.kind == SnapshotKind::kCommitted);
  CHECK_CODE(env.sn.Stat("next"), Code::kNotFound);

  std::map<std::string, SnapshotInfo> walked;
  MUST(env.sn.Walk({}, [&](const SnapshotInfo& info) {
    walked[info.name] = info;
    return absl::OkStatus();
  }));
  CHECK(walked.size() == 2);
  for (const SnapshotInfo& info : {committed, top}) {
    INFO("walked " << info.name);
    REQUIRE(walked.contains(info.name));
    CHECK(walked[info.name].kind == info.kind);
    CHECK(walked[info.name].parent == info.parent);
    CHECK(walked[info.name].labels == info.labels);
    CHECK(walked[info.name].created_at == info.created_at);
    CHECK(walked[info.name].updated_at == info.updated_at);
  }

  ScopedMount view =
      MUST(ScopedMount::Mount(MUST(env.sn.View("view", "committed-next", GcRoot())), env.work.Subdir("view")));
  CHECK_SAME_TREE(view.target(), flat);
  CHECK(MUST(ReadFile(JoinPath(view.target(), "foo"))) == "bar\n");
  CHECK(!PathExists(JoinPath(view.target(), "a/b")));
  CheckNotWritable(view.target());
  MUST(view.Unmount());

  MUST(env.sn.Remove("view"));
  CHECK_CODE(env.sn.Remove("committed"), Code::kFailedPrecondition);
  MUST(env.sn.Remove("committed-next"));
  MUST(env.sn.Remove("committed"));
  CHECK(WalkNames(env.sn, {}).empty());
}

// Stat of an active snapshot, the committed one it becomes, and a view.
void CheckStat(Env& env) {
  absl::Time before = WallClockNow();
  // A label set to "" is no label at all (containerd stores none).
  MUST(env.sn.Prepare("active", "", WithGcRoot({{"a", "1"}, {"empty", ""}})));
  absl::Time after = WallClockNow();
  SnapshotInfo active = MUST(env.sn.Stat("active"));
  CHECK(active.name == "active");
  CHECK(active.kind == SnapshotKind::kActive);
  CHECK(active.parent == "");
  CHECK(active.labels == WithGcRoot({{"a", "1"}}));
  CHECK(active.created_at >= before);
  CHECK(active.created_at <= after);
  CHECK(active.updated_at == active.created_at);

  // Committing replaces the labels: they are not inherited from the active snapshot.
  MUST(env.sn.Commit("committed", "active", WithGcRoot({{"b", "2"}})));
  SnapshotInfo committed = MUST(env.sn.Stat("committed"));
  CHECK(committed.name == "committed");
  CHECK(committed.kind == SnapshotKind::kCommitted);
  CHECK(committed.parent == "");
  CHECK(committed.labels == WithGcRoot({{"b", "2"}}));

  MUST(env.sn.View("view", "committed", GcRoot()));
  SnapshotInfo view = MUST(env.sn.Stat("view"));
  CHECK(view.kind == SnapshotKind::kView);
  CHECK(view.parent == "committed");
}

// A <- B <- C: parents are committed names, followed transitively.
void CheckTransitivity(Env& env) {
  CommitLayer(env, "a-active", "", "A", [](const std::string& root) { WriteTestFile(root, "foo", "foo\n"); });
  CommitLayer(env, "b-active", "A", "B", [](const std::string& root) { WriteTestFile(root, "foo", "foo bar\n"); });
  MUST(env.sn.Prepare("C", "B", GcRoot()));
  SnapshotInfo c = MUST(env.sn.Stat("C"));
  CHECK(c.parent == "B");
  SnapshotInfo b = MUST(env.sn.Stat(c.parent));
  CHECK(b.parent == "A");
  SnapshotInfo a = MUST(env.sn.Stat(b.parent));
  CHECK(a.parent == "");
}

// Keys and names share one namespace; taken ones are refused with AlreadyExists.
void CheckDuplicates(Env& env) {
  MUST(env.sn.Prepare("base-active", "", GcRoot()));
  MUST(env.sn.Commit("base", "base-active", GcRoot()));
  MUST(env.sn.Prepare("layer", "base", GcRoot()));
  CHECK_CODE(env.sn.Prepare("layer", "base", GcRoot()), Code::kAlreadyExists);
  CHECK_CODE(env.sn.View("layer", "base", GcRoot()), Code::kAlreadyExists);
  CHECK_CODE(env.sn.Prepare("layer", "", GcRoot()), Code::kAlreadyExists);
  MUST(env.sn.View("view", "base", GcRoot()));
  CHECK_CODE(env.sn.View("view", "base", GcRoot()), Code::kAlreadyExists);
  CHECK_CODE(env.sn.Prepare("view", "", GcRoot()), Code::kAlreadyExists);
  CHECK_CODE(env.sn.Prepare("base", "", GcRoot()), Code::kAlreadyExists);
  CHECK_CODE(env.sn.Commit("base", "layer", GcRoot()), Code::kAlreadyExists);
  CHECK_CODE(env.sn.Commit("view", "layer", GcRoot()), Code::kAlreadyExists);
  // The failed commits left the active snapshot as it was.
  CHECK(MUST(env.sn.Stat("layer")).kind == SnapshotKind::kActive);
}

// Missing things are NotFound, parents must be committed, only active snapshots commit.
void CheckErrors(Env& env) {
  CHECK_CODE(env.sn.Prepare("orphan", "no-such-parent", GcRoot()), Code::kNotFound);
  CHECK_CODE(env.sn.View("orphan-view", "no-such-parent", GcRoot()), Code::kNotFound);
  CHECK_CODE(env.sn.Stat("no-such-snapshot"), Code::kNotFound);
  CHECK_CODE(env.sn.Mounts("no-such-snapshot"), Code::kNotFound);
  CHECK_CODE(env.sn.Usage("no-such-snapshot"), Code::kNotFound);
  CHECK_CODE(env.sn.Remove("no-such-snapshot"), Code::kNotFound);
  CHECK_CODE(env.sn.Commit("name", "no-such-snapshot", GcRoot()), Code::kNotFound);
  SnapshotInfo missing;
  missing.name = "no-such-snapshot";
  CHECK_CODE(env.sn.Update(missing, {}), Code::kNotFound);
  // A failed Prepare leaves nothing behind.
  CHECK_CODE(env.sn.Stat("orphan"), Code::kNotFound);

  MUST(env.sn.Prepare("active", "", GcRoot()));
  MUST(env.sn.View("view", "", GcRoot()));
  CHECK_CODE(env.sn.Prepare("on-active", "active", GcRoot()), Code::kInvalidArgument);
  CHECK_CODE(env.sn.Prepare("on-view", "view", GcRoot()), Code::kInvalidArgument);
  CHECK_CODE(env.sn.View("view-on-active", "active", GcRoot()), Code::kInvalidArgument);
  CHECK_CODE(env.sn.Commit("from-view", "view", GcRoot()), Code::kFailedPrecondition);

  MUST(env.sn.Commit("committed", "active", GcRoot()));
  CHECK_CODE(env.sn.Mounts("committed"), Code::kFailedPrecondition);
  CHECK_CODE(env.sn.Commit("again", "committed", GcRoot()), Code::kFailedPrecondition);
  CHECK(WalkNames(env.sn, {}) == std::vector<std::string>{"committed", "view"});
}

// Mounts(key) returns mounts that work, for active snapshots and views, and the same mounts
// every time.
void CheckMounts(Env& env) {
  CommitLayer(env, "l0-active", "", "l0", [](const std::string& root) { WriteTestFile(root, "zero", "0"); });
  CommitLayer(env, "l1-active", "l0", "l1", [](const std::string& root) { WriteTestFile(root, "one", "1"); });
  std::vector<MountDescriptor> prepared = MUST(env.sn.Prepare("top", "l1", GcRoot()));
  std::vector<MountDescriptor> again = MUST(env.sn.Mounts("top"));
  REQUIRE(prepared.size() == again.size());
  for (size_t i = 0; i < prepared.size(); ++i) {
    CHECK(prepared[i].type == again[i].type);
    CHECK(prepared[i].source == again[i].source);
    CHECK(prepared[i].options == again[i].options);
  }
  {
    ScopedMount top = MUST(ScopedMount::Mount(again, env.work.Subdir("top")));
    CHECK(MUST(ReadFile(JoinPath(top.target(), "zero"))) == "0");
    CHECK(MUST(ReadFile(JoinPath(top.target(), "one"))) == "1");
  }
  for (const char* parent : {"", "l0", "l1"}) {
    std::string view = fmt::format("view-of-{}", *parent ? parent : "nothing");
    MUST(env.sn.View(view, parent, GcRoot()));
    ScopedMount mounted = MUST(ScopedMount::Mount(MUST(env.sn.Mounts(view)), env.work.Subdir(view)));
    CHECK(PathExists(JoinPath(mounted.target(), "zero")) == (*parent != '\0'));
    CHECK(PathExists(JoinPath(mounted.target(), "one")) == (std::string_view(parent) == "l1"));
  }
}

// The root of a mounted snapshot is 0755 (the mode containerd gives a fresh layer).
void CheckRootPermission(Env& env) {
  ScopedMount base =
      MUST(ScopedMount::Mount(MUST(env.sn.Prepare("base-active", "", GcRoot())), env.work.Subdir("base")));
  struct stat st;
  REQUIRE(stat(base.target().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
  MUST(base.Unmount());
  MUST(env.sn.Commit("base", "base-active", GcRoot()));
  ScopedMount child =
      MUST(ScopedMount::Mount(MUST(env.sn.Prepare("child", "base", GcRoot())), env.work.Subdir("child")));
  REQUIRE(stat(child.target().c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0755);
}

// Deleting lower files and directories in a child hides them (overlay whiteouts and opaque
// directories), also in layers above.
void CheckDeletedFilesInChild(Env& env) {
  CheckLayers(env, {
                       [](const std::string& root) {
                         WriteTestFile(root, "foo", "foo\n", 0777);
                         WriteTestFile(root, "foobar", "foobar\n", 0777);
                         MakeTestDir(root, "lib", 0700);
                         WriteTestFile(root, "lib/hidden", "");
                       },
                       [](const std::string& root) {
                         RemoveTest(root, "foobar");
                         RemoveTest(root, "lib");
                         MakeTestDir(root, "lib", 0700);
                         WriteTestFile(root, "lib/not-hidden", "");
                       },
                       [](const std::string& root) { WriteTestFile(root, "lib/newfile", ""); },
                       [](const std::string&) {},
                   });
}

// Rewritten files, changed modes, owners and hard links across layers (docker issues 21555,
// 20240, 24913, 27298).
void CheckFileUpdates(Env& env) {
  CheckLayers(env, {
                       [](const std::string& root) {
                         MakeTestDir(root, "etc", 0700);
                         WriteTestFile(root, "etc/hosts", "mydomain 10.0.0.1");
                         WriteTestFile(root, "etc/profile", "PATH=/usr/bin");
                         MakeTestDir(root, "opt", 0700);
                         MakeTestDir(root, "opt/a", 0700);
                         WriteTestFile(root, "opt/a/file.txt", "hello");
                         MakeTestDir(root, "dir1", 0700);
                         WriteTestFile(root, "dir1/f1", "Hello");
                         MakeTestDir(root, "dir2", 0700);
                         WriteTestFile(root, "dir2/f2", "...");
                         MakeTestDir(root, "chowned", 0700);
                         ChownTest(root, "chowned", 1, 1);
                       },
                       [](const std::string& root) {
                         WriteTestFile(root, "etc/hosts", "mydomain 10.0.0.2");
                         WriteTestFile(root, "etc/profile", "PATH=/usr/bin", 0666);
                         ChownTest(root, "opt", 1, 1);
                         ChownTest(root, "opt/a", 1, 1);
                         ChownTest(root, "opt/a/file.txt", 1, 1);
                         ChownTest(root, "chowned", 0, 0);
                         MakeTestDir(root, "dir3", 0700);
                         WriteTestFile(root, "dir3/f1", "Hello");
                         RemoveTest(root, "dir1");
                         LinkTest(root, "dir2/f2", "dir3/f2");
                         RemoveTest(root, "dir2/f2");
                         RenameTest(root, "etc/profile", "etc/profile.old");
                         if (symlink("../etc/hosts", JoinPath(root, "dir3/hosts").c_str()) != 0)
                           FAIL("symlink: " << ErrnoText(errno));
                       },
                       [](const std::string& root) {
                         WriteTestFile(root, "etc/hosts", "mydomain 10.0.0.3");
                         RemoveTest(root, "dir3/hosts");
                       },
                   });
}

// Labels change through Update (all of them or single keys); nothing else does.
void CheckUpdate(Env& env) {
  absl::Time t1 = WallClockNow();
  MUST(env.sn.Prepare("c1-active", "", GcRoot()));
  MUST(env.sn.Commit("c1", "c1-active", GcRoot()));
  MUST(env.sn.Prepare("c2-active", "c1", GcRoot()));
  MUST(env.sn.Commit("c2", "c2-active", GcRoot()));
  MUST(env.sn.Prepare("a1", "c2", GcRoot()));
  MUST(env.sn.Prepare("a2", "", GcRoot()));
  MUST(env.sn.View("v1", "c2", GcRoot()));
  MUST(env.sn.View("v2", "", GcRoot()));
  absl::Time t2 = WallClockNow();

  struct Case {
    std::string name;
    SnapshotKind kind;
    std::string parent;
  };
  for (const Case& c : std::vector<Case>{{"c1", SnapshotKind::kCommitted, ""},
                                         {"c2", SnapshotKind::kCommitted, "c1"},
                                         {"a1", SnapshotKind::kActive, "c2"},
                                         {"a2", SnapshotKind::kActive, ""},
                                         {"v1", SnapshotKind::kView, "c2"},
                                         {"v2", SnapshotKind::kView, ""}}) {
    INFO("snapshot " << c.name);
    SnapshotInfo st = MUST(env.sn.Stat(c.name));
    CHECK(st.created_at >= t1);
    CHECK(st.created_at <= t2);
    CHECK(st.updated_at == st.created_at);
    CHECK(st.kind == c.kind);
    CHECK(st.parent == c.parent);
    absl::Time created = st.created_at;

    // No paths: all labels replaced; other fields of the argument are ignored.
    st.parent = "doesnotexist";
    st.kind = SnapshotKind::kActive;
    st.labels = WithGcRoot({{"l1", "v1"}, {"l2", "v2"}, {"l3", "v3"}});
    absl::Time u1 = WallClockNow();
    st = MUST(env.sn.Update(st, {}));
    absl::Time u2 = WallClockNow();
    CHECK(st.created_at == created);
    CHECK(st.updated_at >= u1);
    CHECK(st.updated_at <= u2);
    CHECK(st.kind == c.kind);
    CHECK(st.parent == c.parent);
    CHECK(st.name == c.name);
    CHECK(st.labels == WithGcRoot({{"l1", "v1"}, {"l2", "v2"}, {"l3", "v3"}}));

    // labels.<key>: set or (absent from the argument) delete that key only.
    st.labels = {{"l1", "updated"}, {"l4", "v4"}};
    st = MUST(env.sn.Update(st, {"labels.l1", "labels.l2"}));
    CHECK(st.labels == WithGcRoot({{"l1", "updated"}, {"l3", "v3"}}));
    CHECK(MUST(env.sn.Stat(c.name)).labels == st.labels);

    st.labels = {{"l3", ""}};
    st = MUST(env.sn.Update(st, {"labels.l3"}));
    CHECK(st.labels == WithGcRoot({{"l1", "updated"}}));
    CHECK(MUST(env.sn.Stat(c.name)).labels == st.labels);

    // labels: replace them all.
    st.labels = WithGcRoot({{"l4", "v4"}});
    st = MUST(env.sn.Update(st, {"labels"}));
    CHECK(st.labels == WithGcRoot({{"l4", "v4"}}));

    st.parent = "doesnotexist";
    CHECK_CODE(env.sn.Update(st, {"parent"}), Code::kInvalidArgument);
    CHECK(MUST(env.sn.Stat(c.name)).labels == WithGcRoot({{"l4", "v4"}}));
  }
}

// Removal: children first; keys and names can be reused once removed.
void CheckRemove(Env& env) {
  MUST(env.sn.Prepare("committed-a", "", GcRoot()));
  MUST(env.sn.Commit("committed-1", "committed-a", GcRoot()));
  MUST(env.sn.Prepare("reuse-1", "committed-1", GcRoot()));
  CHECK_CODE(env.sn.Remove("committed-1"), Code::kFailedPrecondition);
  MUST(env.sn.Remove("reuse-1"));
  CHECK_CODE(env.sn.Stat("reuse-1"), Code::kNotFound);
  CHECK_CODE(env.sn.Remove("reuse-1"), Code::kNotFound);
  MUST(env.sn.View("reuse-1", "committed-1", GcRoot()));
  CHECK_CODE(env.sn.Remove("committed-1"), Code::kFailedPrecondition);
  MUST(env.sn.Remove("reuse-1"));
  MUST(env.sn.Prepare("reuse-1", "", GcRoot()));
  MUST(env.sn.Remove("committed-1"));
  MUST(env.sn.Commit("committed-1", "reuse-1", GcRoot()));
  CHECK(WalkNames(env.sn, {}) == std::vector<std::string>{"committed-1"});

  // base <- inter <- top: the intermediate layer goes only after the top one.
  CommitLayer(env, "base-active", "", "base", [](const std::string& root) { WriteTestFile(root, "f", "base"); });
  MUST(env.sn.Prepare("inter-active", "base", GcRoot()));
  MUST(env.sn.Commit("inter", "inter-active", GcRoot()));
  MUST(env.sn.Prepare("top", "inter", GcRoot()));
  CHECK_CODE(env.sn.Remove("inter"), Code::kFailedPrecondition);
  CHECK_CODE(env.sn.Remove("base"), Code::kFailedPrecondition);
  MUST(env.sn.Remove("top"));
  CHECK_CODE(env.sn.Remove("base"), Code::kFailedPrecondition);
  MUST(env.sn.Remove("inter"));
  MUST(env.sn.Remove("base"));
  CHECK(WalkNames(env.sn, {}) == std::vector<std::string>{"committed-1"});
}

// Walk with containerd's filters on kind, name, parent and labels.
void CheckWalk(Env& env) {
  MUST(env.sn.Prepare("a-np", "", GcRoot()));
  MUST(env.sn.Prepare("p-tmp", "", GcRoot()));
  MUST(env.sn.Commit("p", "p-tmp", GcRoot()));
  MUST(env.sn.Prepare("a", "p", GcRoot()));
  MUST(env.sn.View("v", "p", GcRoot()));
  MUST(env.sn.Prepare("p-wl-tmp", "", GcRoot()));
  MUST(env.sn.Commit("p-wl", "p-wl-tmp", WithGcRoot({{"l", "1"}})));
  MUST(env.sn.Prepare("a-wl", "p-wl", WithGcRoot({{"l", "2"}})));
  MUST(env.sn.View("v-wl", "p-wl", WithGcRoot({{"l", "3"}})));
  MUST(env.sn.Prepare("a-np-wl", "", WithGcRoot({{"l", "2"}, {"dotted.key", "x"}})));

  using Names = std::vector<std::string>;
  struct Case {
    std::vector<std::string> filters;
    Names matches;
  };
  for (const Case& c : std::vector<Case>{
           {{}, {"a", "a-np", "a-np-wl", "a-wl", "p", "p-wl", "v", "v-wl"}},
           {{R"(labels."containerd.io/gc.root"==snapshot-testsuite)"},
            {"a", "a-np", "a-np-wl", "a-wl", "p", "p-wl", "v", "v-wl"}},
           {{"kind==active"}, {"a", "a-np", "a-np-wl", "a-wl"}},
           {{"kind==view"}, {"v", "v-wl"}},
           {{"kind==committed"}, {"p", "p-wl"}},
           {{"name==p", "name==a-np-wl"}, {"a-np-wl", "p"}},
           {{"name==a-wl,labels.l"}, {"a-wl"}},
           {{"parent==p"}, {"a", "v"}},
           {{R"(parent!="")"}, {"a", "a-wl", "v", "v-wl"}},
           {{"labels.l"}, {"a-np-wl", "a-wl", "p-wl", "v-wl"}},
           {{"labels.l==2"}, {"a-np-wl", "a-wl"}},
           {{"labels.l!=2,kind==view"}, {"v", "v-wl"}},
           {{R"(labels."dotted.key"==x)"}, {"a-np-wl"}},
           {{"name~=^a-"}, {"a-np", "a-np-wl", "a-wl"}},
           {{"name==nothing"}, {}},
       }) {
    INFO("filters: " << fmt::format("{}", fmt::join(c.filters, " | ")));
    CHECK(WalkNames(env.sn, c.filters) == c.matches);
  }

  absl::Status bad_filter = env.sn.Walk({"labels.==x"}, [](const SnapshotInfo&) { return absl::OkStatus(); });
  INFO("Walk with a malformed filter returned " << bad_filter.ToString());
  CHECK(!bad_filter.ok());
  if (env.options.bad_filter_is_invalid_argument) CHECK(bad_filter.code() == Code::kInvalidArgument);
  // An error from the callback stops the walk and is returned as is.
  int calls = 0;
  absl::Status stopped = env.sn.Walk({}, [&](const SnapshotInfo&) {
    ++calls;
    return absl::CancelledError("enough");
  });
  CHECK(stopped.code() == Code::kCancelled);
  CHECK(calls == 1);
}

// The callback of a Walk may call back into the snapshotter.
void CheckStatInWalk(Env& env) {
  MUST(env.sn.Prepare("c1-active", "", GcRoot()));
  MUST(env.sn.Commit("c1", "c1-active", GcRoot()));
  MUST(env.sn.Prepare("a1", "c1", GcRoot()));
  MUST(env.sn.View("v1", "c1", GcRoot()));
  int stats = 0;
  MUST(env.sn.Walk({}, [&](const SnapshotInfo& info) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(SnapshotInfo again, env.sn.Stat(info.name));
    if (again.kind != info.kind || again.parent != info.parent || again.labels != info.labels ||
        again.created_at != info.created_at || again.updated_at != info.updated_at) {
      return absl::InternalError(fmt::format("Stat of {} differs from what Walk gave", info.name));
    }
    ++stats;
    return absl::OkStatus();
  }));
  CHECK(stats == 3);
}

// Views are read-only whether they are a bind mount (no or one parent) or an overlay.
void CheckViewReadonly(Env& env) {
  CommitLayer(env, "l0-active", "", "l0", [](const std::string& root) { WriteTestFile(root, "zero", "0"); });
  CommitLayer(env, "l1-active", "l0", "l1", [](const std::string& root) { WriteTestFile(root, "one", "1"); });
  for (const char* parent : {"", "l0", "l1"}) {
    INFO("view on " << Quote(parent));
    std::string view = fmt::format("view-{}", *parent ? parent : "none");
    ScopedMount mounted = MUST(ScopedMount::Mount(MUST(env.sn.View(view, parent, GcRoot())), env.work.Subdir(view)));
    CheckNotWritable(mounted.target());
  }
}

// Usage counts allocated bytes and inodes (hard links once); a commit keeps the figure.
void CheckUsage(Env& env) {
  constexpr int64_t kSize = (1 << 20) + 123;
  ScopedMount mounted =
      MUST(ScopedMount::Mount(MUST(env.sn.Prepare("active", "", GcRoot())), env.work.Subdir("active")));
  SnapshotUsage empty = MUST(env.sn.Usage("active"));
  CHECK(empty.inodes == 1);  // the layer's root directory

  std::string data(kSize, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  WriteTestFile(mounted.target(), "data", data);
  SnapshotUsage written = MUST(env.sn.Usage("active"));
  CHECK(written.inodes == 2);
  CHECK(written.size >= kSize);
  CHECK(written.size < kSize + (1 << 20));

  LinkTest(mounted.target(), "data", "data-link");
  SnapshotUsage linked = MUST(env.sn.Usage("active"));
  CHECK(linked.inodes == 2);
  CHECK(linked.size == written.size);

  MUST(mounted.Unmount());
  MUST(env.sn.Commit("committed", "active", GcRoot()));
  SnapshotUsage committed = MUST(env.sn.Usage("committed"));
  CHECK(committed.inodes == linked.inodes);
  CHECK(committed.size == linked.size);

  // A child's usage is its own layer only.
  MUST(env.sn.Prepare("child", "committed", GcRoot()));
  CHECK(MUST(env.sn.Usage("child")).inodes == 1);
}

// 130 layers: more than a page of overlay options, and the bottom layer still reads through.
void CheckLongChain(Env& env) {
  constexpr int kLayers = 130;
  std::vector<Change> changes;
  changes.push_back([](const std::string& root) {
    WriteTestFile(root, "bottom", "way at the bottom\n", 0777);
    WriteTestFile(root, "overwriteme", "FIRST!\n", 0777);
    MakeTestDir(root, "ADDHERE");
    MakeTestDir(root, "ONLYME");
    WriteTestFile(root, "ONLYME/bottom", "bye!\n", 0777);
  });
  for (int i = 1; i < kLayers; ++i) {
    changes.push_back([i](const std::string& root) {
      WriteTestFile(root, "overwriteme", fmt::format("{} WAS HERE!\n", i), 0777);
      WriteTestFile(root, fmt::format("ADDHERE/file-{}", i), "same\n", 0755);
      RemoveTest(root, "ONLYME");
      MakeTestDir(root, "ONLYME");
      WriteTestFile(root, fmt::format("ONLYME/file-{}", i), "only me!\n", 0777);
    });
  }
  std::string top = CheckLayers(env, changes, "chain");

  // A view of all 130 layers and an active snapshot on top of them (upper and work dirs
  // make its options the longest).
  ScopedMount view =
      MUST(ScopedMount::Mount(MUST(env.sn.View("fullview", top, GcRoot())), env.work.Subdir("fullview")));
  CHECK(MUST(ReadFile(JoinPath(view.target(), "bottom"))) == "way at the bottom\n");
  CHECK(MUST(ReadFile(JoinPath(view.target(), "overwriteme"))) == fmt::format("{} WAS HERE!\n", kLayers - 1));
  CHECK(MUST(ListDir(JoinPath(view.target(), "ADDHERE"))).size() == kLayers - 1);
  CHECK(MUST(ListDir(JoinPath(view.target(), "ONLYME"))) ==
        std::vector<std::string>{fmt::format("file-{}", kLayers - 1)});
  ScopedMount active =
      MUST(ScopedMount::Mount(MUST(env.sn.Prepare("on-top", top, GcRoot())), env.work.Subdir("on-top")));
  CHECK(MUST(ReadFile(JoinPath(active.target(), "bottom"))) == "way at the bottom\n");
  WriteTestFile(active.target(), "bottom", "changed on top\n");
  CHECK(MUST(ReadFile(JoinPath(active.target(), "bottom"))) == "changed on top\n");
  CHECK(MUST(ReadFile(JoinPath(view.target(), "bottom"))) == "way at the bottom\n");
}

// Cleanup never touches live snapshots. Where it is not supported it says so, every time.
void CheckCleanup(Env& env) {
  auto cleanup = [&env] {
    if (env.options.cleanup_supported)
      MUST(env.sn.Cleanup());
    else
      CHECK_CODE(env.sn.Cleanup(), Code::kUnimplemented);
  };
  cleanup();
  CommitLayer(env, "base-active", "", "base", [](const std::string& root) { WriteTestFile(root, "kept", "kept\n"); });
  CommitLayer(env, "gone-active", "base", "gone", [](const std::string& root) { WriteTestFile(root, "gone", "x"); });
  MUST(env.sn.Prepare("active", "base", GcRoot()));
  MUST(env.sn.Remove("gone"));
  cleanup();
  cleanup();
  CHECK(WalkNames(env.sn, {}) == std::vector<std::string>{"active", "base"});
  ScopedMount mounted = MUST(ScopedMount::Mount(MUST(env.sn.Mounts("active")), env.work.Subdir("active")));
  CHECK(MUST(ReadFile(JoinPath(mounted.target(), "kept"))) == "kept\n");
  CHECK(!PathExists(JoinPath(mounted.target(), "gone")));
}

// Many threads at once: distinct keys all succeed; one key is won by exactly one thread.
void CheckConcurrentPrepare(Env& env) {
  MUST(env.sn.Prepare("base-active", "", GcRoot()));
  MUST(env.sn.Commit("base", "base-active", GcRoot()));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 8;
  // Catch2 assertions are not thread-safe: threads only record results.
  std::vector<std::vector<absl::Status>> results(kThreads);
  std::atomic<int> ready = 0;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        ready++;
        while (ready.load() < kThreads) std::this_thread::yield();
        for (int i = 0; i < kPerThread; ++i) {
          std::string key = fmt::format("t{}-{}", t, i);
          results[t].push_back(env.sn.Prepare(key, i % 2 ? "base" : "", GcRoot()).status());
          if (i == 3) results[t].push_back(env.sn.Commit(fmt::format("t{}-committed", t), key, GcRoot()));
          if (i == 5) results[t].push_back(env.sn.Remove(key));
        }
        results[t].push_back(env.sn.View("contested", "base", GcRoot()).status());
        results[t].push_back(env.sn.Stat("base").status());
      });
    }
    for (std::thread& thread : threads) thread.join();
  }
  int contested_wins = 0;
  for (int t = 0; t < kThreads; ++t) {
    INFO("thread " << t);
    REQUIRE(results[t].size() == kPerThread + 4);
    for (size_t i = 0; i < results[t].size(); ++i) {
      INFO("call " << i << ": " << results[t][i].ToString());
      if (i == results[t].size() - 2) {
        if (results[t][i].ok())
          ++contested_wins;
        else
          CHECK(results[t][i].code() == Code::kAlreadyExists);
      } else {
        CHECK(results[t][i].ok());
      }
    }
  }
  CHECK(contested_wins == 1);
  // Per thread: 8 prepared, one committed (renamed), one removed.
  CHECK(WalkNames(env.sn, {"kind==active"}).size() == kThreads * (kPerThread - 2));
  CHECK(WalkNames(env.sn, {"kind==committed"}).size() == kThreads + 1);
  CHECK(WalkNames(env.sn, {"kind==view"}) == std::vector<std::string>{"contested"});
  // On base: keys 1 and 7, key 3 (committed) per thread, and the contested view.
  CHECK(WalkNames(env.sn, {"parent==base"}).size() == kThreads * 3 + 1);
}

}  // namespace

void RunSnapshotterSuite(const SnapshotterFactory& factory, const SnapshotterSuiteOptions& options) {
  TempDir dir("liman-snapshot-suite");
  TempDir work("liman-snapshot-suite-work");
  std::unique_ptr<Snapshotter> snapshotter = MUST(factory(dir.Subdir("root")));
  REQUIRE(snapshotter != nullptr);
  Env env{*snapshotter, work, options};

  SECTION("Basic") { CheckBasic(env); }
  SECTION("Stat") { CheckStat(env); }
  SECTION("Transitivity") { CheckTransitivity(env); }
  SECTION("Duplicates") { CheckDuplicates(env); }
  SECTION("Errors") { CheckErrors(env); }
  SECTION("Mounts") { CheckMounts(env); }
  SECTION("RootPermission") { CheckRootPermission(env); }
  SECTION("DeletedFilesInChild") { CheckDeletedFilesInChild(env); }
  SECTION("FileUpdates") { CheckFileUpdates(env); }
  SECTION("Update") { CheckUpdate(env); }
  SECTION("Remove") { CheckRemove(env); }
  SECTION("Walk") { CheckWalk(env); }
  SECTION("StatInWalk") { CheckStatInWalk(env); }
  SECTION("ViewReadonly") { CheckViewReadonly(env); }
  SECTION("Usage") { CheckUsage(env); }
  SECTION("LongChain") { CheckLongChain(env); }
  SECTION("Cleanup") { CheckCleanup(env); }
  SECTION("ConcurrentPrepare") { CheckConcurrentPrepare(env); }
}

}  // namespace liman::containerd::snapshots::testsuite
