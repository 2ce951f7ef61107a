// LocalStore-only behaviour: the on-disk layout, recovery of what a crash leaves behind, the
// lock across processes, and the extras of its writer.
#include "containerd/content/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/unique_fd.h"
#include "containerd/content/digest.h"
#include "containerd/content/ingest_record.h"
#include "containerd/content/testsuite.h"
#include "fmt/format.h"

using namespace liman;
using namespace liman::containerd;
using namespace liman::containerd::content;
using namespace liman::containerd::content::testing;

namespace {

std::unique_ptr<LocalStore> OpenStore(const std::string& root) {
  auto store = LocalStore::Open(root);
  LIMAN_REQUIRE_OK(store);
  return *std::move(store);
}

std::string Read(const std::string& path) {
  auto content = ReadFile(path);
  LIMAN_REQUIRE_OK(content);
  return *content;
}

void Put(const std::string& path, std::string_view content) {
  LIMAN_REQUIRE_OK(ReplaceFile(path, content, 0644));
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::vector<std::string> Entries(const std::string& dir) {
  auto entries = ListDir(dir);
  LIMAN_REQUIRE_OK(entries);
  std::sort(entries->begin(), entries->end());
  return *entries;
}

// Writes `data` to a new ingest of `ref` and drops the writer.
void StartIngest(ContentStore& store, std::string_view ref, std::string_view data, int64_t total = 0,
                 std::string_view expected = "") {
  auto writer = store.Writer(ref, total, expected);
  LIMAN_REQUIRE_OK(writer);
  LIMAN_REQUIRE_OK((*writer)->Write(data));
}

}  // namespace

TEST_CASE("LocalStore lays out blobs, ingests and labels like containerd") {
  TempDir dir;
  auto store = OpenStore(dir.path() + "/root");
  const std::string root = store->root();
  CHECK(Entries(root) == std::vector<std::string>{"blobs", "ingest", "labels"});
  CHECK(Entries(root + "/blobs") == std::vector<std::string>{"sha256"});
  CHECK(Entries(root + "/labels") == std::vector<std::string>{"sha256"});

  const std::string ref = "layout/ref:with odd chars";
  const std::string digest = Sha256Digest("hello world");
  const std::string hex(DigestHex(digest));
  const std::string ingest = root + "/ingest/" + Sha256Hex(ref);
  CHECK(store->IngestPath(ref) == ingest);
  CHECK(*store->BlobPath(digest) == root + "/blobs/sha256/" + hex);

  StartIngest(*store, ref, "hello", 11, digest);
  CHECK(Entries(ingest) == std::vector<std::string>{"data", "expected", "ref", "startedat", "total", "updatedat"});
  CHECK(Read(ingest + "/ref") == ref);
  CHECK(Read(ingest + "/data") == "hello");
  CHECK(Read(ingest + "/total") == "11");
  CHECK(Read(ingest + "/expected") == digest);
  CHECK(ParseTimestamp(Read(ingest + "/startedat")).ok());
  CHECK(ParseTimestamp(Read(ingest + "/updatedat")).ok());

  auto writer = store->Writer(ref, 0, "");
  LIMAN_REQUIRE_OK(writer);
  LIMAN_REQUIRE_OK((*writer)->Write(" world"));
  LIMAN_REQUIRE_OK((*writer)->Commit(0, "", {{"a", "b"}, {"c.d/e", "f"}}));

  const std::string blob = root + "/blobs/sha256/" + hex;
  CHECK(Read(blob) == "hello world");
  CHECK(ModeOf(blob) == 0444);
  CHECK(nlohmann::json::parse(Read(root + "/labels/sha256/" + hex)) ==
        nlohmann::json{{"a", "b"}, {"c.d/e", "f"}});
  CHECK(Entries(root + "/ingest").empty());
  CHECK(Entries(root + "/blobs/sha256") == std::vector<std::string>{hex});
  CHECK(Entries(root + "/labels/sha256") == std::vector<std::string>{hex});

  // created_at is the blob's mtime, updated_at the label file's.
  struct stat st;
  REQUIRE(stat(blob.c_str(), &st) == 0);
  auto info = store->Info(digest);
  LIMAN_REQUIRE_OK(info);
  CHECK(info->created_at == absl::TimeFromTimespec(st.st_mtim));
  CHECK(info->updated_at == info->created_at);

  LIMAN_REQUIRE_OK(store->Delete(digest));
  CHECK(Entries(root + "/blobs/sha256").empty());
  CHECK(Entries(root + "/labels/sha256").empty());
}

TEST_CASE("an ingest left by a previous run resumes in a new LocalStore over the same root") {
  TempDir dir;
  const std::string data = TestBlob(300000, 40);
  const std::string digest = Sha256Digest(data);
  {
    auto first = OpenStore(dir.path());
    StartIngest(*first, "carried-over", std::string_view(data).substr(0, 123456), 300000, digest);
  }
  auto store = OpenStore(dir.path());
  auto status = store->Status("carried-over");
  LIMAN_REQUIRE_OK(status);
  CHECK(status->offset == 123456);
  CHECK(status->total == 300000);
  CHECK(status->expected == digest);
  auto writer = store->Writer("carried-over", 0, "");
  LIMAN_REQUIRE_OK(writer);
  CHECK((*writer)->Offset() == 123456);
  CHECK((*writer)->Digest() == Sha256Digest(std::string_view(data).substr(0, 123456)));
  LIMAN_REQUIRE_OK((*writer)->Write(std::string_view(data).substr(123456)));
  LIMAN_REQUIRE_OK((*writer)->Commit(0, "", {}));
  CHECK(ReadBlob(*store, digest) == data);
}

TEST_CASE("crash leftovers: a killed writer's ingest resumes, half-created ones restart") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string data = TestBlob(10000, 41);

  SECTION("an ingest whose writer died without closing (no updatedat refresh, unsynced)") {
    // What a process killed mid-write leaves: record files and partial data.
    const std::string ingest = store->IngestPath("killed");
    LIMAN_REQUIRE_OK(MkdirAll(ingest));
    Put(ingest + "/data", std::string_view(data).substr(0, 4321));
    Put(ingest + "/startedat", "2024-05-01T10:00:00.5Z");
    Put(ingest + "/updatedat", "2024-05-01T10:00:01Z");
    Put(ingest + "/ref", "killed");
    auto restarted = OpenStore(dir.path());
    auto status = restarted->Status("killed");
    LIMAN_REQUIRE_OK(status);
    CHECK(status->offset == 4321);
    CHECK(status->started_at == absl::FromUnixMillis(1714557600500));
    auto writer = restarted->Writer("killed", 0, "");
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 4321);
    LIMAN_REQUIRE_OK((*writer)->Write(std::string_view(data).substr(4321)));
    LIMAN_REQUIRE_OK((*writer)->Commit(10000, Sha256Digest(data), {}));
  }

  SECTION("an ingest whose creation was interrupted (no ref yet) is invisible and restarts") {
    const std::string ingest = store->IngestPath("half");
    LIMAN_REQUIRE_OK(MkdirAll(ingest));
    Put(ingest + "/data", "stale bytes");
    Put(ingest + "/total", "99");
    auto restarted = OpenStore(dir.path());
    LIMAN_CHECK_CODE(restarted->Status("half"), kNotFound);
    auto statuses = restarted->ListStatuses({});
    LIMAN_REQUIRE_OK(statuses);
    CHECK(statuses->empty());
    auto writer = restarted->Writer("half", 0, "");
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 0);
    CHECK((*writer)->Status().total == 0);
    CHECK(Read(ingest + "/data").empty());
  }

  SECTION("a damaged record is skipped by ListStatuses and restarted by Writer") {
    StartIngest(*store, "damaged", "some data");
    StartIngest(*store, "fine", "other data");
    Put(store->IngestPath("damaged") + "/startedat", "garbage");
    auto statuses = store->ListStatuses({});
    LIMAN_REQUIRE_OK(statuses);
    REQUIRE(statuses->size() == 1);
    CHECK((*statuses)[0].ref == "fine");
    LIMAN_CHECK_CODE(store->Status("damaged"), kDataLoss);
    auto writer = store->Writer("damaged", 0, "");
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 0);
  }

  SECTION("stray files in the blob directory are not blobs") {
    const std::string digest = CommitBlob(*store, "real", data);
    Put(store->root() + "/blobs/sha256/tmp-leftover", "x");
    Put(store->root() + "/blobs/sha256/" + std::string(64, 'A'), "x");
    CHECK(WalkDigests(*store) == std::vector<std::string>{digest});
  }
}

TEST_CASE("a writer in another process holds its ref (flock on the ingest directory)") {
  TempDir dir;
  int ready[2], release[2];
  REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
  REQUIRE(pipe2(release, O_CLOEXEC) == 0);
  UniqueFd ready_read(ready[0]), ready_write(ready[1]), release_read(release[0]), release_write(release[1]);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // No Catch2 in the child: report through the exit code.
    auto store = LocalStore::Open(dir.path());
    if (!store.ok()) _exit(2);
    auto writer = (*store)->Writer("shared", 0, "");
    if (!writer.ok() || !(*writer)->Write("child").ok()) _exit(3);
    char byte = 1;
    if (write(ready_write.get(), &byte, 1) != 1) _exit(4);
    if (read(release_read.get(), &byte, 1) != 1) _exit(5);
    writer->reset();
    _exit(0);
  }
  ready_write.reset();
  release_read.reset();
  char byte;
  REQUIRE(read(ready_read.get(), &byte, 1) == 1);

  auto store = OpenStore(dir.path());
  auto refused = store->Writer("shared", 0, "");
  LIMAN_CHECK_CODE(refused, kUnavailable);
  CHECK(refused.status().message() == "ref shared locked by another process");
  LIMAN_CHECK_CODE(store->Abort("shared"), kUnavailable);

  REQUIRE(write(release_write.get(), &byte, 1) == 1);
  int wstatus = 0;
  REQUIRE(waitpid(child, &wstatus, 0) == child);
  REQUIRE(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
  auto writer = store->Writer("shared", 0, "");
  LIMAN_REQUIRE_OK(writer);
  CHECK((*writer)->Offset() == 5);
}

TEST_CASE("two LocalStore objects over one root share the writer locks") {
  TempDir dir;
  auto one = OpenStore(dir.path());
  auto two = OpenStore(dir.path() + "/.");  // a different spelling of the same root
  auto writer = one->Writer("ref", 0, "");
  LIMAN_REQUIRE_OK(writer);
  auto refused = two->Writer("ref", 0, "");
  LIMAN_CHECK_CODE(refused, kUnavailable);
  CHECK(refused.status().message() == "ref ref locked");
}

TEST_CASE("Abort waits for no one: it refuses an ingest that has an open writer") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto writer = store->Writer("open", 0, "");
  LIMAN_REQUIRE_OK(writer);
  LIMAN_CHECK_CODE(store->Abort("open"), kUnavailable);
  writer->reset();
  LIMAN_REQUIRE_OK(store->Abort("open"));
  CHECK(Entries(store->root() + "/ingest").empty());
}

TEST_CASE("Truncate rewinds the ingest and its digest") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto writer = store->Writer("truncated", 0, "");
  LIMAN_REQUIRE_OK(writer);
  ContentWriter& w = **writer;
  LIMAN_REQUIRE_OK(w.Write("wrong content"));
  LIMAN_REQUIRE_OK(w.Truncate(0));
  CHECK(w.Offset() == 0);
  CHECK(w.Digest() == Sha256Digest(""));
  LIMAN_REQUIRE_OK(w.Write("right content"));
  LIMAN_REQUIRE_OK(w.Truncate(6));
  CHECK(w.Offset() == 6);
  CHECK(w.Digest() == Sha256Digest("right "));
  LIMAN_CHECK_CODE(w.Truncate(7), kInvalidArgument);
  LIMAN_CHECK_CODE(w.Truncate(-1), kInvalidArgument);
  LIMAN_REQUIRE_OK(w.Write("stuff"));
  CHECK(store->Status("truncated")->offset == 11);
  LIMAN_REQUIRE_OK(w.Commit(11, Sha256Digest("right stuff"), {}));
  CHECK(ReadBlob(*store, Sha256Digest("right stuff")) == "right stuff");
}

TEST_CASE("a committed writer is closed") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto writer = store->Writer("once", 0, "");
  LIMAN_REQUIRE_OK(writer);
  LIMAN_REQUIRE_OK((*writer)->Write("once"));
  LIMAN_REQUIRE_OK((*writer)->Commit(4, "", {}));
  LIMAN_CHECK_CODE((*writer)->Write("more"), kFailedPrecondition);
  LIMAN_CHECK_CODE((*writer)->Commit(4, "", {}), kFailedPrecondition);
  LIMAN_CHECK_CODE((*writer)->Truncate(0), kFailedPrecondition);
  CHECK((*writer)->Offset() == 4);
}

TEST_CASE("a resumed ingest that contradicts the new total or digest starts over") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string digest = Sha256Digest("0123456789");
  StartIngest(*store, "ref", "01234", 10, digest);
  SECTION("same total and digest: resumed") {
    auto writer = store->Writer("ref", 10, digest);
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 5);
  }
  SECTION("another total: restarted") {
    auto writer = store->Writer("ref", 11, "");
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 0);
    CHECK((*writer)->Status().total == 11);
    CHECK((*writer)->Status().expected.empty());
    CHECK(store->Status("ref")->offset == 0);
  }
  SECTION("another digest: restarted") {
    auto writer = store->Writer("ref", 0, Sha256Digest("other"));
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 0);
  }
  SECTION("total and digest learnt on resume are recorded") {
    StartIngest(*store, "bare", "01234");
    {
      auto writer = store->Writer("bare", 10, digest);
      LIMAN_REQUIRE_OK(writer);
      CHECK((*writer)->Offset() == 5);
    }
    auto status = store->Status("bare");
    LIMAN_REQUIRE_OK(status);
    CHECK(status->total == 10);
    CHECK(status->expected == digest);
  }
}

TEST_CASE("Commit without size or digest checks those given to Writer") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  {
    auto writer = store->Writer("digest", 0, Sha256Digest("other"));
    LIMAN_REQUIRE_OK(writer);
    LIMAN_REQUIRE_OK((*writer)->Write("hello"));
    absl::Status commit = (*writer)->Commit(0, "", {});
    LIMAN_CHECK_CODE(commit, kFailedPrecondition);
    CHECK(commit.message() ==
          fmt::format("unexpected commit digest {}, expected {}", Sha256Digest("hello"), Sha256Digest("other")));
  }
  {
    auto writer = store->Writer("size", 6, "");
    LIMAN_REQUIRE_OK(writer);
    LIMAN_REQUIRE_OK((*writer)->Write("hello"));
    absl::Status commit = (*writer)->Commit(0, "", {});
    LIMAN_CHECK_CODE(commit, kFailedPrecondition);
    CHECK(commit.message() == "unexpected commit size 5, expected 6");
    // The writer stays usable after a refused commit.
    LIMAN_REQUIRE_OK((*writer)->Write("!"));
    LIMAN_REQUIRE_OK((*writer)->Commit(0, "", {}));
  }
  CHECK(WalkDigests(*store) == std::vector<std::string>{Sha256Digest("hello!")});
}

TEST_CASE("LocalStore: readers outlive Delete, refs are opaque, empty refs are refused") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string digest = CommitBlob(*store, "../../escape?", "kept open");
  CHECK(Entries(dir.path()) == std::vector<std::string>{"blobs", "ingest", "labels"});
  auto reader = store->ReaderAt(digest);
  LIMAN_REQUIRE_OK(reader);
  LIMAN_REQUIRE_OK(store->Delete(digest));
  CHECK(*(*reader)->ReadAt(0, 100) == "kept open");

  StartIngest(*store, std::string("nul\0inside", 10), "x");
  CHECK(store->Status(std::string("nul\0inside", 10))->offset == 1);
  LIMAN_CHECK_CODE(store->Status("nul"), kNotFound);

  LIMAN_CHECK_CODE(store->Writer("", 0, ""), kInvalidArgument);
  LIMAN_CHECK_CODE(store->Status(""), kInvalidArgument);
  LIMAN_CHECK_CODE(store->Abort(""), kInvalidArgument);
  LIMAN_CHECK_CODE(store->Writer("negative", -1, ""), kInvalidArgument);
}

TEST_CASE("a damaged label file is reported, not ignored") {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const std::string digest = CommitBlob(*store, "blob", "labelled", {{"k", "v"}});
  Put(store->root() + "/labels/sha256/" + std::string(DigestHex(digest)), "{not json");
  LIMAN_CHECK_CODE(store->Info(digest), kDataLoss);
  // Replacing all labels repairs it.
  ContentInfo info;
  info.digest = digest;
  info.labels = {{"k", "new"}};
  LIMAN_CHECK_CODE(store->Update(info, {"labels.k"}), kDataLoss);
  LIMAN_REQUIRE_OK(store->Update(info, {"labels"}).status());
  CHECK(store->Info(digest)->labels == info.labels);
}

TEST_CASE("LocalStore::Open reports an unusable root") {
  TempDir dir;
  Put(dir.path() + "/file", "");
  auto store = LocalStore::Open(dir.path() + "/file");
  LIMAN_CHECK_CODE(store, kInvalidArgument);
  CHECK(store.status().message() ==
        fmt::format("open content store: mkdir \"{}/file/blobs\": not a directory", dir.path()));
}
