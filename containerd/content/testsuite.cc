#include "containerd/content/testsuite.h"

#include <stdlib.h>

#include <algorithm>
#include <latch>
#include <thread>

#include "absl/time/clock.h"
#include "common/file_util.h"
#include "common/wall_clock.h"
#include "containerd/content/digest.h"
#include "fmt/format.h"

namespace liman::containerd::content::testing {

// ---- Helpers ----

std::string TestBlob(size_t size, uint64_t seed) {
  std::string data(size, '\0');
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 0x2545F4914F6CDD1DULL;
  for (size_t i = 0; i < size; ++i) {
    // xorshift64*: cheap, and far from compressible or repetitive.
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    data[i] = static_cast<char>((state * 0x2545F4914F6CDD1DULL) >> 56);
  }
  return data;
}

std::string Describe(const absl::Status& status) { return status.ToString(); }

std::string CommitBlob(ContentStore& store, std::string_view ref, std::string_view data, const Labels& labels) {
  std::string digest = Sha256Digest(data);
  auto writer = store.Writer(ref, static_cast<int64_t>(data.size()), digest);
  LIMAN_REQUIRE_OK(writer);
  const int64_t offset = (*writer)->Offset();
  REQUIRE(offset >= 0);
  REQUIRE(offset <= static_cast<int64_t>(data.size()));
  LIMAN_REQUIRE_OK((*writer)->Write(data.substr(static_cast<size_t>(offset))));
  LIMAN_REQUIRE_OK((*writer)->Commit(static_cast<int64_t>(data.size()), digest, labels));
  return digest;
}

std::string ReadBlob(ContentStore& store, std::string_view digest) {
  auto reader = store.ReaderAt(digest);
  LIMAN_REQUIRE_OK(reader);
  std::string data;
  const int64_t size = (*reader)->Size();
  while (static_cast<int64_t>(data.size()) < size) {
    auto chunk = (*reader)->ReadAt(static_cast<int64_t>(data.size()), 1 << 20);
    LIMAN_REQUIRE_OK(chunk);
    REQUIRE(!chunk->empty());
    data += *chunk;
  }
  return data;
}

std::vector<std::string> WalkDigests(ContentStore& store, const std::vector<std::string>& filters) {
  std::vector<std::string> digests;
  LIMAN_REQUIRE_OK(store.Walk(filters, [&](const ContentInfo& info) {
    digests.push_back(info.digest);
    return absl::OkStatus();
  }));
  std::sort(digests.begin(), digests.end());
  return digests;
}

namespace {

std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

std::vector<std::string> StatusRefs(ContentStore& store, const std::vector<std::string>& filters) {
  auto statuses = store.ListStatuses(filters);
  LIMAN_REQUIRE_OK(statuses);
  std::vector<std::string> refs;
  for (const IngestStatus& status : *statuses) refs.push_back(status.ref);
  return Sorted(refs);
}

void WriteInChunks(ContentWriter& writer, std::string_view data, size_t chunk) {
  for (size_t pos = 0; pos < data.size(); pos += chunk) LIMAN_REQUIRE_OK(writer.Write(data.substr(pos, chunk)));
}

// Clocks of the store (filesystem, a daemon) and of the test may differ by a little.
void CheckTimeAround(absl::Time time, absl::Time before, absl::Time after) {
  INFO(fmt::format("{} not in [{}, {}]", absl::FormatTime(time), absl::FormatTime(before), absl::FormatTime(after)));
  CHECK(time >= before - absl::Seconds(2));
  CHECK(time <= after + absl::Seconds(2));
}

// A digest of content that is not in the store.
std::string AbsentDigest() { return Sha256Digest("content that no check ever writes"); }

// ---- Checks ----

void CheckWriteCommitRead(ContentStore& store, const ContentSuiteOptions&) {
  const std::string data = TestBlob(1000, 1);
  const std::string digest = Sha256Digest(data);
  const absl::Time before = WallClockNow();
  auto writer = store.Writer("small", static_cast<int64_t>(data.size()), digest);
  LIMAN_REQUIRE_OK(writer);
  ContentWriter& w = **writer;
  CHECK(w.Offset() == 0);
  CHECK(w.Digest() == Sha256Digest(""));
  IngestStatus status = w.Status();
  CHECK(status.ref == "small");
  CHECK(status.offset == 0);
  CHECK(status.total == 1000);
  CheckTimeAround(status.started_at, before, WallClockNow());

  LIMAN_REQUIRE_OK(w.Write(std::string_view(data).substr(0, 300)));
  CHECK(w.Offset() == 300);
  CHECK(w.Digest() == Sha256Digest(std::string_view(data).substr(0, 300)));
  CHECK(w.Status().offset == 300);
  LIMAN_REQUIRE_OK(w.Write(std::string_view(data).substr(300)));
  CHECK(w.Offset() == 1000);
  CHECK(w.Digest() == digest);

  // Not visible before the commit.
  LIMAN_CHECK_CODE(store.Info(digest), kNotFound);
  LIMAN_CHECK_CODE(store.ReaderAt(digest), kNotFound);
  CHECK(WalkDigests(store).empty());

  const absl::Time before_commit = WallClockNow();
  LIMAN_REQUIRE_OK(w.Commit(1000, digest, {}));
  const absl::Time after_commit = WallClockNow();

  auto info = store.Info(digest);
  LIMAN_REQUIRE_OK(info);
  CHECK(info->digest == digest);
  CHECK(info->size == 1000);
  CHECK(info->labels.empty());
  CheckTimeAround(info->created_at, before_commit, after_commit);
  CHECK(info->updated_at >= info->created_at);
  CHECK(ReadBlob(store, digest) == data);
  CHECK(WalkDigests(store) == std::vector<std::string>{digest});
  // The ingest is gone.
  LIMAN_CHECK_CODE(store.Status("small"), kNotFound);
  CHECK(StatusRefs(store, {}).empty());
}

void CheckLargeBlob(ContentStore& store, const ContentSuiteOptions&) {
  const std::string data = TestBlob((3 << 20) + 12345, 2);
  const std::string digest = Sha256Digest(data);
  const int64_t size = static_cast<int64_t>(data.size());
  auto writer = store.Writer("large", 0, "");  // size and digest unknown up front
  LIMAN_REQUIRE_OK(writer);
  WriteInChunks(**writer, data, 64 << 10);
  CHECK((*writer)->Digest() == digest);
  LIMAN_REQUIRE_OK((*writer)->Commit(size, digest, {}));

  auto reader = store.ReaderAt(digest);
  LIMAN_REQUIRE_OK(reader);
  ContentReader& r = **reader;
  CHECK(r.Size() == size);
  for (int64_t offset : {int64_t{0}, int64_t{1}, int64_t{65535}, int64_t{1} << 20, size / 2, size - 4096}) {
    auto chunk = r.ReadAt(offset, 4096);
    LIMAN_REQUIRE_OK(chunk);
    CHECK(*chunk == data.substr(static_cast<size_t>(offset), 4096));
  }
  // Reading past the end is a short read, starting at the end an empty one…
  auto tail = r.ReadAt(size - 10, 100);
  LIMAN_REQUIRE_OK(tail);
  CHECK(*tail == data.substr(data.size() - 10));
  auto at_end = r.ReadAt(size, 100);
  LIMAN_REQUIRE_OK(at_end);
  CHECK(at_end->empty());
  // …and starting beyond it an error.
  LIMAN_CHECK_CODE(r.ReadAt(size + 1, 10), kOutOfRange);
  CHECK(ReadBlob(store, digest) == data);
}

void CheckEmptyBlob(ContentStore& store, const ContentSuiteOptions&) {
  const std::string digest = Sha256Digest("");
  auto writer = store.Writer("empty", 0, "");
  LIMAN_REQUIRE_OK(writer);
  LIMAN_REQUIRE_OK((*writer)->Commit(0, digest, {}));
  auto info = store.Info(digest);
  LIMAN_REQUIRE_OK(info);
  CHECK(info->size == 0);
  auto reader = store.ReaderAt(digest);
  LIMAN_REQUIRE_OK(reader);
  CHECK((*reader)->Size() == 0);
  auto read = (*reader)->ReadAt(0, 10);
  LIMAN_REQUIRE_OK(read);
  CHECK(read->empty());
}

void CheckResume(ContentStore& store, const ContentSuiteOptions& options) {
  const std::string data = TestBlob(200000, 3);
  const std::string digest = Sha256Digest(data);
  const std::string_view view = data;
  absl::Time started_at;
  {
    auto writer = store.Writer("resume", static_cast<int64_t>(data.size()), digest);
    LIMAN_REQUIRE_OK(writer);
    started_at = (*writer)->Status().started_at;
    LIMAN_REQUIRE_OK((*writer)->Write(view.substr(0, 70000)));
  }  // dropped: the ingest stays
  auto status = store.Status("resume");
  LIMAN_REQUIRE_OK(status);
  CHECK(status->ref == "resume");
  CHECK(status->offset == 70000);
  CHECK(status->total == 200000);
  CHECK(status->started_at == started_at);
  CHECK(StatusRefs(store, {}) == std::vector<std::string>{"resume"});
  LIMAN_CHECK_CODE(store.Info(digest), kNotFound);

  {
    auto writer = store.Writer("resume", static_cast<int64_t>(data.size()), digest);
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == 70000);
    CHECK((*writer)->Status().offset == 70000);
    CHECK((*writer)->Status().started_at == started_at);
    CHECK((*writer)->Digest() == Sha256Digest(view.substr(0, 70000)));
    LIMAN_REQUIRE_OK((*writer)->Write(view.substr(70000, 30000)));
  }
  // Resumed without repeating total and digest: the ingest remembers its total.
  auto writer = store.Writer("resume", 0, "");
  LIMAN_REQUIRE_OK(writer);
  CHECK((*writer)->Offset() == 100000);
  CHECK((*writer)->Status().total == (options.resumed_writer_reports_stored_total ? 200000 : 0));
  status = store.Status("resume");
  LIMAN_REQUIRE_OK(status);
  CHECK(status->total == 200000);
  LIMAN_REQUIRE_OK((*writer)->Write(view.substr(100000)));
  LIMAN_REQUIRE_OK((*writer)->Commit(static_cast<int64_t>(data.size()), digest, {}));
  CHECK(ReadBlob(store, digest) == data);
  LIMAN_CHECK_CODE(store.Status("resume"), kNotFound);
}

void CheckFailedCommits(ContentStore& store, const ContentSuiteOptions& options) {
  const std::string data = TestBlob(5000, 4);
  const std::string digest = Sha256Digest(data);
  const std::string wrong = Sha256Digest(TestBlob(5000, 5));
  const int64_t size = static_cast<int64_t>(data.size());
  {
    auto writer = store.Writer("failing", 0, "");
    LIMAN_REQUIRE_OK(writer);
    LIMAN_REQUIRE_OK((*writer)->Write(data));
    absl::Status commit = (*writer)->Commit(size, wrong, {});
    LIMAN_CHECK_CODE(commit, kFailedPrecondition);
    CHECK_THAT(std::string(commit.message()), Catch::Contains("unexpected commit digest"));
  }
  LIMAN_CHECK_CODE(store.Info(wrong), kNotFound);
  LIMAN_CHECK_CODE(store.Info(digest), kNotFound);
  CHECK(WalkDigests(store).empty());
  // The refused ingest is kept as it was.
  auto status = store.Status("failing");
  LIMAN_REQUIRE_OK(status);
  CHECK(status->offset == size);
  {
    auto writer = store.Writer("failing", 0, "");
    LIMAN_REQUIRE_OK(writer);
    CHECK((*writer)->Offset() == size);
    absl::Status commit = (*writer)->Commit(size + 1, "", {});
    LIMAN_CHECK_CODE(commit, kFailedPrecondition);
    const std::string message(commit.message());
    CHECK_THAT(message, Catch::Contains(std::to_string(size)) && Catch::Contains(std::to_string(size + 1)));
    if (options.exact_error_messages) CHECK_THAT(message, Catch::Contains("unexpected commit size"));
  }
  {
    auto writer = store.Writer("failing", 0, "");
    LIMAN_REQUIRE_OK(writer);
    absl::Status commit = (*writer)->Commit(size - 1, digest, {});
    LIMAN_CHECK_CODE(commit, kFailedPrecondition);
  }
  CHECK(WalkDigests(store).empty());
  auto writer = store.Writer("failing", 0, "");
  LIMAN_REQUIRE_OK(writer);
  LIMAN_REQUIRE_OK((*writer)->Commit(size, digest, {}));
  CHECK(ReadBlob(store, digest) == data);
}

void CheckOneWriterPerRef(ContentStore& store, const ContentSuiteOptions&) {
  auto first = store.Writer("busy", 0, "");
  LIMAN_REQUIRE_OK(first);
  auto second = store.Writer("busy", 0, "");
  LIMAN_CHECK_CODE(second, kUnavailable);
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("busy"));
  // Other refs are not affected.
  auto other = store.Writer("other", 0, "");
  LIMAN_REQUIRE_OK(other);
  LIMAN_REQUIRE_OK((*first)->Write("first"));
  LIMAN_REQUIRE_OK((*other)->Write("other"));
  first->reset();
  auto again = store.Writer("busy", 0, "");
  LIMAN_REQUIRE_OK(again);
  CHECK((*again)->Offset() == 5);
  // After a commit the ref is free and starts afresh.
  LIMAN_REQUIRE_OK((*again)->Commit(5, Sha256Digest("first"), {}));
  auto fresh = store.Writer("busy", 0, "");
  LIMAN_REQUIRE_OK(fresh);
  CHECK((*fresh)->Offset() == 0);
}

void CheckRacingWriters(ContentStore& store, const ContentSuiteOptions&) {
  // Every thread tries once and keeps what it got until all have tried, so exactly one can
  // have won, whatever the interleaving.
  constexpr int kThreads = 8;
  std::latch tried(kThreads);
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto writer = store.Writer("raced", 0, "");
      results[i] = writer.status();
      tried.arrive_and_wait();
    });
  }
  for (std::thread& thread : threads) thread.join();
  int won = 0;
  for (const absl::Status& result : results) {
    if (result.ok()) {
      ++won;
    } else {
      LIMAN_CHECK_CODE(result, kUnavailable);
    }
  }
  CHECK(won == 1);
}

void CheckStatuses(ContentStore& store, const ContentSuiteOptions& options) {
  const std::string data = TestBlob(4096, 6);
  const std::string digest = Sha256Digest(data);
  const absl::Time before = WallClockNow();
  auto a1 = store.Writer("a-1", 4096, digest);
  LIMAN_REQUIRE_OK(a1);
  LIMAN_REQUIRE_OK((*a1)->Write(std::string_view(data).substr(0, 1000)));
  {
    auto a2 = store.Writer("a-2", 0, "");
    LIMAN_REQUIRE_OK(a2);
    LIMAN_REQUIRE_OK((*a2)->Write("abc"));
  }
  auto b1 = store.Writer("b-1", 0, "");
  LIMAN_REQUIRE_OK(b1);
  const absl::Time after = WallClockNow();

  auto status = store.Status("a-1");
  LIMAN_REQUIRE_OK(status);
  CHECK(status->ref == "a-1");
  CHECK(status->offset == 1000);
  CHECK(status->total == 4096);
  // containerd leaves it empty (ContentSuiteOptions::status_reports_expected).
  CHECK(status->expected == (options.status_reports_expected ? digest : ""));
  CheckTimeAround(status->started_at, before, after);
  CHECK(status->updated_at >= status->started_at);
  auto a2 = store.Status("a-2");
  LIMAN_REQUIRE_OK(a2);
  CHECK(a2->offset == 3);
  CHECK(a2->total == 0);
  CHECK(a2->expected.empty());
  LIMAN_CHECK_CODE(store.Status("nope"), kNotFound);

  CHECK(StatusRefs(store, {}) == std::vector<std::string>{"a-1", "a-2", "b-1"});
  CHECK(StatusRefs(store, {""}) == std::vector<std::string>{"a-1", "a-2", "b-1"});
  CHECK(StatusRefs(store, {"ref==a-2"}) == std::vector<std::string>{"a-2"});
  CHECK(StatusRefs(store, {"ref~=^a-"}) == std::vector<std::string>{"a-1", "a-2"});
  CHECK(StatusRefs(store, {"ref!=a-1"}) == std::vector<std::string>{"a-2", "b-1"});
  CHECK(StatusRefs(store, {"ref==a-1", "ref==b-1"}) == std::vector<std::string>{"a-1", "b-1"});
  CHECK(StatusRefs(store, {"ref==nope"}).empty());
  LIMAN_CHECK_CODE(store.ListStatuses({"ref=="}), kInvalidArgument);
}

void CheckAbort(ContentStore& store, const ContentSuiteOptions&) {
  {
    auto writer = store.Writer("doomed", 0, "");
    LIMAN_REQUIRE_OK(writer);
    LIMAN_REQUIRE_OK((*writer)->Write("partial"));
  }
  LIMAN_REQUIRE_OK(store.Abort("doomed"));
  LIMAN_CHECK_CODE(store.Status("doomed"), kNotFound);
  CHECK(StatusRefs(store, {}).empty());
  LIMAN_CHECK_CODE(store.Abort("doomed"), kNotFound);
  LIMAN_CHECK_CODE(store.Abort("never-started"), kNotFound);
  auto writer = store.Writer("doomed", 0, "");
  LIMAN_REQUIRE_OK(writer);
  CHECK((*writer)->Offset() == 0);
  CHECK(WalkDigests(store).empty());
}

void CheckLabels(ContentStore& store, const ContentSuiteOptions&) {
  const Labels labels = {{"k1", "v1"}, {"k2", "v2"}, {"containerd.io/gc.root", "2024-01-01T00:00:00Z"}};
  const std::string digest = CommitBlob(store, "labelled", TestBlob(256, 7), labels);
  auto info = store.Info(digest);
  LIMAN_REQUIRE_OK(info);
  CHECK(info->labels == labels);

  // No field paths: all labels replaced.
  ContentInfo update = *info;
  update.labels = {{"k1", "new"}, {"k3", "v3"}};
  const absl::Time before = WallClockNow();
  auto updated = store.Update(update, {});
  const absl::Time after = WallClockNow();
  LIMAN_REQUIRE_OK(updated);
  CHECK(updated->digest == digest);
  CHECK(updated->size == 256);
  CHECK(updated->labels == update.labels);
  CheckTimeAround(updated->updated_at, before, after);
  CHECK(updated->created_at == info->created_at);
  auto reread = store.Info(digest);
  LIMAN_REQUIRE_OK(reread);
  CHECK(reread->labels == update.labels);

  // labels.<key>: set the named ones, remove those named but absent; others stay.
  update.labels = {{"k1", "v1"}, {"k9", "unnamed"}};
  updated = store.Update(update, {"labels.k1", "labels.k3", "labels.k4"});
  LIMAN_REQUIRE_OK(updated);
  CHECK(updated->labels == Labels{{"k1", "v1"}});
  update.labels = {{"a.b/c", "dotted"}};
  updated = store.Update(update, {"labels.a.b/c"});
  LIMAN_REQUIRE_OK(updated);
  CHECK(updated->labels == Labels{{"a.b/c", "dotted"}, {"k1", "v1"}});
  reread = store.Info(digest);
  LIMAN_REQUIRE_OK(reread);
  CHECK(reread->labels == updated->labels);

  // "labels": replace all.
  update.labels = {{"only", "this"}};
  updated = store.Update(update, {"labels"});
  LIMAN_REQUIRE_OK(updated);
  CHECK(updated->labels == update.labels);
  update.labels = {};
  updated = store.Update(update, {"labels"});
  LIMAN_REQUIRE_OK(updated);
  CHECK(updated->labels.empty());

  LIMAN_CHECK_CODE(store.Update(update, {"size"}), kInvalidArgument);
  ContentInfo absent;
  absent.digest = AbsentDigest();
  absent.labels = {{"k", "v"}};
  LIMAN_CHECK_CODE(store.Update(absent, {}), kNotFound);
  LIMAN_CHECK_CODE(store.Info(absent.digest), kNotFound);
}

void CheckWalk(ContentStore& store, const ContentSuiteOptions&) {
  const std::string web = CommitBlob(store, "web", TestBlob(100, 8), {{"tier", "web"}, {"com.example/team", "a"}});
  const std::string db = CommitBlob(store, "db", TestBlob(200, 9), {{"tier", "db"}});
  const std::string plain = CommitBlob(store, "plain", TestBlob(300, 10));
  {
    auto ingest = store.Writer("in-progress", 0, "");
    LIMAN_REQUIRE_OK(ingest);
    LIMAN_REQUIRE_OK((*ingest)->Write(TestBlob(50, 11)));
  }
  CHECK(WalkDigests(store) == Sorted({web, db, plain}));
  CHECK(WalkDigests(store, {""}) == Sorted({web, db, plain}));
  CHECK(WalkDigests(store, {"labels.tier==web"}) == std::vector<std::string>{web});
  CHECK(WalkDigests(store, {"labels.tier"}) == Sorted({web, db}));
  CHECK(WalkDigests(store, {"labels.tier!=web"}) == Sorted({db, plain}));
  CHECK(WalkDigests(store, {"labels.tier~=^(web|db)$,labels.\"com.example/team\"==a"}) ==
        std::vector<std::string>{web});
  CHECK(WalkDigests(store, {"labels.tier==web", "labels.tier==db"}) == Sorted({web, db}));
  CHECK(WalkDigests(store, {fmt::format("digest=={}", plain)}) == std::vector<std::string>{plain});
  CHECK(WalkDigests(store, {"labels.tier==none"}).empty());

  // The infos carry size and labels.
  std::vector<ContentInfo> infos;
  LIMAN_REQUIRE_OK(store.Walk({"labels.tier==db"}, [&](const ContentInfo& info) {
    infos.push_back(info);
    return absl::OkStatus();
  }));
  REQUIRE(infos.size() == 1);
  CHECK(infos[0].size == 200);
  CHECK(infos[0].labels == Labels{{"tier", "db"}});

  // The callback's error stops the walk and comes back.
  int calls = 0;
  absl::Status stopped = store.Walk({}, [&](const ContentInfo&) {
    ++calls;
    return absl::CancelledError("enough");
  });
  LIMAN_CHECK_CODE(stopped, kCancelled);
  CHECK(calls == 1);
  LIMAN_CHECK_CODE(store.Walk({"labels."}, [](const ContentInfo&) { return absl::OkStatus(); }), kInvalidArgument);
}

void CheckDelete(ContentStore& store, const ContentSuiteOptions&) {
  const std::string data = TestBlob(512, 12);
  const std::string digest = CommitBlob(store, "deleted", data, {{"k", "v"}});
  const std::string kept = CommitBlob(store, "kept", TestBlob(512, 13));
  LIMAN_REQUIRE_OK(store.Delete(digest));
  LIMAN_CHECK_CODE(store.Info(digest), kNotFound);
  LIMAN_CHECK_CODE(store.ReaderAt(digest), kNotFound);
  LIMAN_CHECK_CODE(store.Delete(digest), kNotFound);
  CHECK(WalkDigests(store) == std::vector<std::string>{kept});
  LIMAN_CHECK_CODE(store.Delete(AbsentDigest()), kNotFound);
  // It can be written again, and comes back without its old labels.
  CHECK(CommitBlob(store, "rewritten", data) == digest);
  auto info = store.Info(digest);
  LIMAN_REQUIRE_OK(info);
  CHECK(info->labels.empty());
  CHECK(ReadBlob(store, digest) == data);
}

void CheckAlreadyExists(ContentStore& store, const ContentSuiteOptions&) {
  const std::string data = TestBlob(256, 14);
  const std::string digest = CommitBlob(store, "original", data, {{"k", "original"}});
  const int64_t size = static_cast<int64_t>(data.size());
  // Writer for a committed digest.
  LIMAN_CHECK_CODE(store.Writer("again", size, digest), kAlreadyExists);
  LIMAN_CHECK_CODE(store.Status("again"), kNotFound);
  // Committing the same bytes under another ref, with or without the digest.
  for (std::string expected : {digest, std::string()}) {
    auto writer = store.Writer("same-bytes", 0, "");
    LIMAN_REQUIRE_OK(writer);
    LIMAN_REQUIRE_OK((*writer)->Write(data));
    LIMAN_CHECK_CODE((*writer)->Commit(size, expected, {{"k", "replaced?"}}), kAlreadyExists);
    writer->reset();
    // The ingest is gone, the blob and its labels are unchanged.
    LIMAN_CHECK_CODE(store.Status("same-bytes"), kNotFound);
    auto info = store.Info(digest);
    LIMAN_REQUIRE_OK(info);
    CHECK(info->labels == Labels{{"k", "original"}});
  }
  CHECK(ReadBlob(store, digest) == data);
  CHECK(WalkDigests(store) == std::vector<std::string>{digest});
}

void CheckInvalidDigests(ContentStore& store, const ContentSuiteOptions& options) {
  const std::string hex = Sha256Digest("x").substr(kSha256Prefix.size());
  std::string upper = hex;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(toupper(c)); });
  const std::vector<std::string> invalid = {
      "sha256:", "sha256:abc", "sha256:" + upper, "sha256:" + hex + "0", "sha256:" + hex.substr(1) + "g",
      hex,       "md5:" + hex, "sha256:../../../etc/passwd",  "SHA256:" + hex};
  for (size_t i = 0; i < invalid.size(); ++i) {
    const std::string& digest = invalid[i];
    INFO("digest " << digest);
    auto info = store.Info(digest);
    LIMAN_CHECK_CODE(info, kInvalidArgument);
    CHECK_THAT(std::string(info.status().message()), Catch::Contains(digest));
    LIMAN_CHECK_CODE(store.ReaderAt(digest), kInvalidArgument);
    LIMAN_CHECK_CODE(store.Delete(digest), kInvalidArgument);
    ContentInfo update;
    update.digest = digest;
    LIMAN_CHECK_CODE(store.Update(update, {}), kInvalidArgument);
    if (options.writer_validates_expected_digest) {
      LIMAN_CHECK_CODE(store.Writer("invalid-expected", 0, digest), kInvalidArgument);
    } else {
      // containerd opens the writer; the commit against the digest it was given fails.
      auto writer = store.Writer(fmt::format("invalid-expected-{}", i), 0, digest);
      LIMAN_REQUIRE_OK(writer);
      LIMAN_REQUIRE_OK((*writer)->Write("x"));
      absl::Status commit = (*writer)->Commit(1, "", {});
      INFO(Describe(commit));
      CHECK((absl::IsInvalidArgument(commit) || absl::IsFailedPrecondition(commit)));
    }
  }
  // A commit against an invalid digest fails and publishes nothing.
  auto writer = store.Writer("invalid-commit", 0, "");
  LIMAN_REQUIRE_OK(writer);
  LIMAN_REQUIRE_OK((*writer)->Write("x"));
  absl::Status commit = (*writer)->Commit(1, "sha256:abc", {});
  CHECK(!commit.ok());
  CHECK((absl::IsInvalidArgument(commit) || absl::IsFailedPrecondition(commit)));
  CHECK(WalkDigests(store).empty());
}

void CheckConcurrentRefs(ContentStore& store, const ContentSuiteOptions&) {
  // Independent ingests proceed side by side.
  constexpr int kThreads = 4;
  std::vector<std::string> blobs;
  for (int i = 0; i < kThreads; ++i) blobs.push_back(TestBlob(300000 + i, 20 + i));
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto writer = store.Writer(fmt::format("parallel-{}", i), 0, "");
      if (!writer.ok()) {
        results[i] = writer.status();
        return;
      }
      std::string_view data = blobs[i];
      for (size_t pos = 0; pos < data.size() && results[i].ok(); pos += 10000)
        results[i] = (*writer)->Write(data.substr(pos, 10000));
      if (results[i].ok())
        results[i] = (*writer)->Commit(static_cast<int64_t>(data.size()), Sha256Digest(data), {});
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> digests;
  for (int i = 0; i < kThreads; ++i) {
    LIMAN_CHECK_CODE(results[i], kOk);
    digests.push_back(Sha256Digest(blobs[i]));
  }
  CHECK(WalkDigests(store) == Sorted(digests));
  for (int i = 0; i < kThreads; ++i) CHECK(ReadBlob(store, digests[i]) == blobs[i]);
}

}  // namespace

void RunContentStoreSuite(const ContentStoreFactory& factory, const ContentSuiteOptions& options) {
  struct Check {
    const char* name;
    void (*run)(ContentStore&, const ContentSuiteOptions&);
  };
  static const Check kChecks[] = {
      {"write, commit and read back", CheckWriteCommitRead},
      {"a few-MiB blob, read at offsets", CheckLargeBlob},
      {"an empty blob", CheckEmptyBlob},
      {"an ingest resumes at its offset after its writer is dropped", CheckResume},
      {"a wrong digest or size is refused and nothing becomes visible", CheckFailedCommits},
      {"one writer per ref", CheckOneWriterPerRef},
      {"racing writers on one ref: exactly one wins", CheckRacingWriters},
      {"Status and ListStatuses, with filters", CheckStatuses},
      {"Abort removes an ingest", CheckAbort},
      {"labels: commit, Info and Update", CheckLabels},
      {"Walk with digest and label filters", CheckWalk},
      {"Delete, then NotFound", CheckDelete},
      {"existing content is AlreadyExists", CheckAlreadyExists},
      {"invalid digests are InvalidArgument", CheckInvalidDigests},
      {"ingests on different refs proceed concurrently", CheckConcurrentRefs},
  };
  for (const Check& check : kChecks) {
    SECTION(check.name) {
      std::shared_ptr<ContentStore> store = factory();
      REQUIRE(store != nullptr);
      check.run(*store, options);
    }
  }
}

}  // namespace liman::containerd::content::testing
