#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

const std::string kLeasedDigest = "sha256:" + std::string(64, 'c');

std::vector<std::string> LeaseIds(DB& db, const std::string& ns, const std::vector<std::string>& filters = {}) {
  std::vector<std::string> ids;
  for (const Lease& lease : Must(db.Leases().List(ns, filters))) ids.push_back(lease.id);
  return ids;
}

TEST_CASE("leases: create, list, delete") {
  Env env;
  LeaseStore& leases = env.db().Leases();
  Lease created =
      Must(leases.Create("default", {.id = "pull-1", .labels = {{"containerd.io/gc.expire", "2999-01-01T00:00:00Z"}}}));
  CHECK(created.created_at == env.clock().Now());
  Must(leases.Create("default", {.id = "pull-2", .labels = {{"kind", "unpack"}}}));
  CHECK(CodeOf(leases.Create("default", {.id = "pull-1"})) == absl::StatusCode::kAlreadyExists);
  CHECK(CodeOf(leases.Create("default", {.id = ""})) == absl::StatusCode::kInvalidArgument);

  std::vector<Lease> all = Must(leases.List("default", {}));
  REQUIRE(all.size() == 2);
  CHECK(all[0].id == "pull-1");
  CHECK(all[0].labels == Labels{{"containerd.io/gc.expire", "2999-01-01T00:00:00Z"}});
  CHECK(all[0].created_at == created.created_at);
  CHECK(LeaseIds(env.db(), "default", {"id==pull-2"}) == std::vector<std::string>{"pull-2"});
  CHECK(LeaseIds(env.db(), "default", {"labels.kind==unpack"}) == std::vector<std::string>{"pull-2"});
  CHECK(LeaseIds(env.db(), "default", {"labels.\"containerd.io/gc.expire\""}) == std::vector<std::string>{"pull-1"});
  CHECK(LeaseIds(env.db(), "other").empty());

  Must(leases.Delete("default", "pull-1"));
  CHECK(LeaseIds(env.db(), "default") == std::vector<std::string>{"pull-2"});
  CHECK(CodeOf(leases.Delete("default", "pull-1")) == absl::StatusCode::kNotFound);
  CHECK(MessageOf(leases.Delete("default", "pull-1")) == "lease \"pull-1\": not found");
}

TEST_CASE("leases: resources") {
  Env env;
  LeaseStore& leases = env.db().Leases();
  Must(leases.Create("default", {.id = "l"}));
  Must(leases.AddResource("default", "l", {.id = "snap-b", .type = "snapshots/overlayfs"}));
  Must(leases.AddResource("default", "l", {.id = "ref-1", .type = "ingests"}));
  Must(leases.AddResource("default", "l", {.id = kLeasedDigest, .type = "content"}));
  Must(leases.AddResource("default", "l", {.id = kLeasedDigest, .type = "content"}));  // twice is fine
  Must(leases.AddResource("default", "l", {.id = "snap-a", .type = "snapshots/overlayfs"}));
  Must(leases.AddResource("default", "l", {.id = "snap-a", .type = "snapshots/native"}));
  CHECK(Must(leases.ListResources("default", "l")) == std::vector<LeaseResource>{{kLeasedDigest, "content"},
                                                                                 {"ref-1", "ingests"},
                                                                                 {"snap-a", "snapshots/native"},
                                                                                 {"snap-a", "snapshots/overlayfs"},
                                                                                 {"snap-b", "snapshots/overlayfs"}});

  Must(leases.DeleteResource("default", "l", {.id = "snap-b", .type = "snapshots/overlayfs"}));
  Must(leases.DeleteResource("default", "l", {.id = "never-added", .type = "ingests"}));
  CHECK(Must(leases.ListResources("default", "l")).size() == 4);

  // Errors as containerd's parseLeaseResource.
  CHECK(CodeOf(leases.AddResource("default", "l", {.id = "not-a-digest", .type = "content"})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(leases.AddResource("default", "l", {.id = "x", .type = "content/extra"})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(leases.AddResource("default", "l", {.id = "x", .type = "snapshots"})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(leases.AddResource("default", "l", {.id = "x", .type = "snapshots/a/b"})) ==
        absl::StatusCode::kInvalidArgument);
  CHECK(CodeOf(leases.AddResource("default", "l", {.id = "x", .type = "volumes"})) == absl::StatusCode::kUnimplemented);
  CHECK(CodeOf(leases.AddResource("default", "missing", {.id = kLeasedDigest, .type = "content"})) ==
        absl::StatusCode::kNotFound);
  CHECK(CodeOf(leases.ListResources("default", "missing")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(leases.ListResources("other", "l")) == absl::StatusCode::kNotFound);

  // Resources go with their lease.
  Must(leases.Delete("default", "l"));
  Must(leases.Create("default", {.id = "l"}));
  CHECK(Must(leases.ListResources("default", "l")).empty());
}

TEST_CASE("leases: views add what they create to their lease") {
  Env env;
  DB& db = env.db();
  Must(db.Leases().Create("default", {.id = "l"}));
  std::unique_ptr<ContentStore> content = env.Content("default", "l");
  std::string digest = CommitBlob(*content, "blob-ref", "blob");
  {
    std::unique_ptr<ContentWriter> writer = Must(content->Writer("partial", 0, ""));
    Must(writer->Write("part"));
  }
  std::unique_ptr<Snapshotter> snapshots = env.Snapshots("default", "l");
  Must(snapshots->Prepare("active", "", {}));
  Must(snapshots->Commit("committed", "active", {}));
  Must(snapshots->Prepare("child", "committed", {}));
  CHECK(Must(db.Leases().ListResources("default", "l")) ==
        std::vector<LeaseResource>{{digest, "content"},
                                   {"partial", "ingests"},
                                   {"child", "snapshots/overlayfs"},
                                   {"committed", "snapshots/overlayfs"}});
  // Removing through the leased view drops the resource too.
  Must(snapshots->Remove("child"));
  Must(content->Abort("partial"));
  Must(content->Delete(digest));
  CHECK(Must(db.Leases().ListResources("default", "l")) ==
        std::vector<LeaseResource>{{"committed", "snapshots/overlayfs"}});
  // A view with a lease that does not exist cannot create anything.
  std::unique_ptr<ContentStore> dangling = env.Content("default", "missing");
  CHECK(CodeOf(dangling->Writer("ref", 0, "")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(env.Snapshots("default", "missing")->Prepare("x", "", {})) == absl::StatusCode::kNotFound);
  CHECK(SnapshotNames(*snapshots) == std::vector<std::string>{"committed"});
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
