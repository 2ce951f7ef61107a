#include "common/fmt_absl.h"
#include "containerd/content/digest.h"
#include "containerd/content/testsuite.h"
#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

using content::Sha256Digest;

std::string ReadAll(ContentStore& store, const std::string& digest) {
  std::unique_ptr<ContentReader> reader = Must(store.ReaderAt(digest));
  return Must(reader->ReadAt(0, reader->Size()));
}

TEST_CASE("content view: namespaces see only their own content") {
  Env env;
  std::unique_ptr<ContentStore> one = env.Content("one");
  std::unique_ptr<ContentStore> two = env.Content("two");
  std::string digest = CommitBlob(*one, "ref", "shared bytes", {{"owner", "one"}});
  CHECK(Must(one->Info(digest)).labels == Labels{{"owner", "one"}});
  CHECK(CodeOf(two->Info(digest)) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(two->ReaderAt(digest)) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(two->Delete(digest)) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(two->Update(ContentInfo{.digest = digest}, {})) == absl::StatusCode::kNotFound);
  CHECK(Digests(*two).empty());
  CHECK(Digests(*one) == std::vector<std::string>{digest});

  // The second namespace writes the same bytes: one blob in the backend, two rows with their
  // own labels and times.
  env.clock().Advance(absl::Seconds(3));
  CHECK(CommitBlob(*two, "ref", "shared bytes", {{"owner", "two"}}) == digest);
  CHECK(BackendBlobs(env) == std::vector<std::string>{digest});
  CHECK(Must(one->Info(digest)).labels == Labels{{"owner", "one"}});
  CHECK(Must(two->Info(digest)).labels == Labels{{"owner", "two"}});
  CHECK(Must(two->Info(digest)).created_at == Must(one->Info(digest)).created_at + absl::Seconds(3));
  CHECK(ReadAll(*two, digest) == "shared bytes");

  // Deleting in one namespace leaves the other's, and the blob.
  Must(one->Delete(digest));
  CHECK(CodeOf(one->Info(digest)) == absl::StatusCode::kNotFound);
  CHECK(ReadAll(*two, digest) == "shared bytes");
  Must(env.db().Images().Create("two", TestImage("keep", digest, 12)));
  Must(env.db().GarbageCollect());
  CHECK(BackendBlobs(env) == std::vector<std::string>{digest});
}

TEST_CASE("content view: ingest refs are namespaced") {
  Env env;
  std::unique_ptr<ContentStore> one = env.Content("one");
  std::unique_ptr<ContentStore> two = env.Content("two");
  std::unique_ptr<ContentWriter> first = Must(one->Writer("layer", 0, ""));
  Must(first->Write("from one"));
  // The same ref in another namespace is another ingest, not a locked one.
  std::unique_ptr<ContentWriter> second = Must(two->Writer("layer", 0, ""));
  Must(second->Write("two"));
  CHECK(Must(one->Status("layer")).offset == 8);
  CHECK(Must(two->Status("layer")).offset == 3);
  CHECK(Must(one->Status("layer")).ref == "layer");
  CHECK(CodeOf(env.Content("three")->Status("layer")) == absl::StatusCode::kNotFound);
  // In the backend they carry their namespace.
  std::vector<std::string> backend_refs;
  for (const IngestStatus& status : Must(env.backend_content().ListStatuses({}))) backend_refs.push_back(status.ref);
  std::sort(backend_refs.begin(), backend_refs.end());
  REQUIRE(backend_refs.size() == 2);
  CHECK(backend_refs[0].starts_with("one/"));
  CHECK(backend_refs[0].ends_with("/layer"));
  CHECK(backend_refs[1].starts_with("two/"));
  // The same ref in the same namespace is locked while its writer lives.
  CHECK(CodeOf(one->Writer("layer", 0, "")) == absl::StatusCode::kUnavailable);
  first.reset();
  Must(one->Abort("layer"));
  CHECK(CodeOf(one->Status("layer")) == absl::StatusCode::kNotFound);
  CHECK(Must(two->Status("layer")).offset == 3);
}

TEST_CASE("content view: isolated policy, a blob of another namespace must be written again") {
  Env env({.content_sharing = ContentSharingPolicy::kIsolated});
  const std::string data = content::testing::TestBlob(100000, 1);
  const std::string digest = Sha256Digest(data);
  CommitBlob(*env.Content("one"), "ref", data);
  std::unique_ptr<ContentStore> two = env.Content("two");
  std::unique_ptr<ContentWriter> writer = Must(two->Writer("ref", static_cast<int64_t>(data.size()), digest));
  CHECK(writer->Offset() == 0);
  // Committing without the bytes fails: nothing proves namespace two has them.
  CHECK(CodeOf(writer->Commit(static_cast<int64_t>(data.size()), digest, {})) == absl::StatusCode::kFailedPrecondition);
  CHECK(CodeOf(two->Info(digest)) == absl::StatusCode::kNotFound);
  // Wrong bytes are refused too.
  std::string wrong = data;
  wrong[500] ^= 1;
  Must(writer->Truncate(0));
  Must(writer->Write(wrong));
  CHECK(CodeOf(writer->Commit(static_cast<int64_t>(data.size()), digest, {})) == absl::StatusCode::kFailedPrecondition);
  CHECK(CodeOf(two->Info(digest)) == absl::StatusCode::kNotFound);
  // The right bytes: committed (the backend had them already, that is fine).
  Must(writer->Truncate(0));
  Must(writer->Write(data));
  Must(writer->Commit(static_cast<int64_t>(data.size()), digest, {{"k", "v"}}));
  CHECK(Must(two->Info(digest)).size == static_cast<int64_t>(data.size()));
  CHECK(Must(two->Info(digest)).labels == Labels{{"k", "v"}});
  CHECK(ReadAll(*two, digest) == data);
  CHECK(CodeOf(two->Status("ref")) == absl::StatusCode::kNotFound);
}

TEST_CASE("content view: shared policy, naming a digest another namespace has is enough") {
  Env env({.content_sharing = ContentSharingPolicy::kShared});
  const std::string data = content::testing::TestBlob(70000, 2);
  const std::string digest = Sha256Digest(data);
  const int64_t size = static_cast<int64_t>(data.size());
  CommitBlob(*env.Content("one"), "ref", data);
  std::unique_ptr<ContentStore> two = env.Content("two");

  SECTION("commit without writing") {
    std::unique_ptr<ContentWriter> writer = Must(two->Writer("ref", 0, digest));
    CHECK(writer->Offset() == size);
    CHECK(writer->Status().total == size);
    CHECK(writer->Status().expected == digest);
    CHECK(writer->Digest() == digest);
    CHECK(CodeOf(writer->Commit(size + 1, "", {})) == absl::StatusCode::kFailedPrecondition);
    Must(writer->Commit(size, digest, {{"k", "v"}}));
    CHECK(Must(two->Info(digest)).labels == Labels{{"k", "v"}});
    CHECK(ReadAll(*two, digest) == data);
  }
  SECTION("a size that does not match is not shared") {
    std::unique_ptr<ContentWriter> writer = Must(two->Writer("ref", size + 1, digest));
    CHECK(writer->Offset() == 0);
  }
  SECTION("the shared blob survives its namespace while the ingest lives") {
    std::unique_ptr<ContentWriter> writer = Must(two->Writer("ref", 0, digest));
    Must(env.Content("one")->Delete(digest));
    Must(env.db().GarbageCollect());
    CHECK(BackendBlobs(env) == std::vector<std::string>{digest});
    Must(writer->Commit(size, digest, {}));
    CHECK(ReadAll(*two, digest) == data);
  }
  SECTION("truncating turns it into a real ingest") {
    std::unique_ptr<ContentWriter> writer = Must(two->Writer("ref", 0, digest));
    Must(writer->Truncate(0));
    CHECK(writer->Offset() == 0);
    Must(writer->Write(data));
    Must(writer->Commit(size, digest, {}));
    CHECK(ReadAll(*two, digest) == data);
  }
}

TEST_CASE("content view: a writer for content the namespace has is AlreadyExists") {
  Env env;
  std::unique_ptr<ContentStore> store = env.Content("default");
  std::string digest = CommitBlob(*store, "ref", "bytes");
  CHECK(CodeOf(store->Writer("again", 5, digest)) == absl::StatusCode::kAlreadyExists);
  CHECK(CodeOf(store->Status("again")) == absl::StatusCode::kNotFound);
  // With a lease, the existing content joins the lease (so the caller's lease protects it).
  Must(env.db().Leases().Create("default", {.id = "l"}));
  CHECK(CodeOf(env.Content("default", "l")->Writer("again", 5, digest)) == absl::StatusCode::kAlreadyExists);
  CHECK(Must(env.db().Leases().ListResources("default", "l")) == std::vector<LeaseResource>{{digest, "content"}});
}

TEST_CASE("content view: ingests survive a reopen and resume") {
  Env env;
  const std::string data = content::testing::TestBlob(50000, 3);
  const std::string digest = Sha256Digest(data);
  {
    std::unique_ptr<ContentWriter> writer = Must(env.Content("default")->Writer("resumable", 50000, digest));
    Must(writer->Write(std::string_view(data).substr(0, 20000)));
  }
  env.Reopen();
  std::unique_ptr<ContentStore> store = env.Content("default");
  IngestStatus status = Must(store->Status("resumable"));
  CHECK(status.offset == 20000);
  CHECK(status.total == 50000);
  CHECK(status.expected == digest);
  std::unique_ptr<ContentWriter> writer = Must(store->Writer("resumable", 0, ""));
  CHECK(writer->Offset() == 20000);
  CHECK(writer->Status().expected == digest);
  Must(writer->Write(std::string_view(data).substr(20000)));
  Must(writer->Commit(50000, digest, {}));
  CHECK(ReadAll(*store, digest) == data);
}

// h2's suite, run against the namespaced view (isolated, the default policy): a fresh DB,
// backend and namespace per check.
TEST_CASE("content view passes the content store suite") {
  content::testing::RunContentStoreSuite([]() -> std::shared_ptr<ContentStore> {
    struct Fixture {
      Env env{{.real_clock = true}};
      std::unique_ptr<ContentStore> view;
    };
    auto fixture = std::make_shared<Fixture>();
    fixture->view = fixture->env.Content("suite");
    return std::shared_ptr<ContentStore>(fixture, fixture->view.get());
  });
}

// The suite again with a lease on the view and another namespace holding content: nothing of
// the other namespace may show.
TEST_CASE("content view with a lease, beside another namespace, passes the content store suite") {
  content::testing::RunContentStoreSuite([]() -> std::shared_ptr<ContentStore> {
    struct Fixture {
      Env env{{.real_clock = true}};
      std::unique_ptr<ContentStore> view;
    };
    auto fixture = std::make_shared<Fixture>();
    std::unique_ptr<ContentStore> neighbour = fixture->env.Content("neighbour");
    for (int i = 0; i < 3; ++i)
      CommitBlob(*neighbour, fmt::format("n{}", i), content::testing::TestBlob(300, 100 + i));
    std::unique_ptr<ContentWriter> partial = Must(neighbour->Writer("a-1", 0, ""));
    Must(partial->Write("neighbour's ingest"));
    Must(fixture->env.db().Leases().Create("suite", {.id = "lease"}));
    fixture->view = fixture->env.Content("suite", "lease");
    return std::shared_ptr<ContentStore>(fixture, fixture->view.get());
  });
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
