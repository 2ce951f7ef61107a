// The snapshots service over real gRPC: the fixture's overlay snapshotter through the metadata
// DB's namespaced views, answered as containerd 1.6 answers.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "containerd/events/snapshot.pb.h"
#include "containerd/services/snapshots/snapshots_service.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::snapshots::v1;
using testing::ServiceFixture;

constexpr char kSnapshotter[] = "overlayfs";

class SnapshotsClient {
 public:
  SnapshotsClient() {
    fixture_.Serve(MakeSnapshotsService);
    fixture_.Start();
    stub_ = api::Snapshots::NewStub(fixture_.channel());
  }
  ServiceFixture& fixture() { return fixture_; }
  api::Snapshots::Stub& stub() { return *stub_; }

  grpc::Status Prepare(const std::string& key, const std::string& parent, api::PrepareSnapshotResponse* out = nullptr,
                       const std::string& ns = "default", const std::string& snapshotter = kSnapshotter) {
    api::PrepareSnapshotRequest request;
    request.set_snapshotter(snapshotter);
    request.set_key(key);
    request.set_parent(parent);
    api::PrepareSnapshotResponse response;
    return stub_->Prepare(ServiceFixture::Context(ns).get(), request, out != nullptr ? out : &response);
  }
  grpc::Status View(const std::string& key, const std::string& parent, api::ViewSnapshotResponse* out = nullptr) {
    api::ViewSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(key);
    request.set_parent(parent);
    api::ViewSnapshotResponse response;
    return stub_->View(ServiceFixture::Context().get(), request, out != nullptr ? out : &response);
  }
  grpc::Status Commit(const std::string& name, const std::string& key,
                      const std::map<std::string, std::string>& labels = {}) {
    api::CommitSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_name(name);
    request.set_key(key);
    request.mutable_labels()->insert(labels.begin(), labels.end());
    google::protobuf::Empty response;
    return stub_->Commit(ServiceFixture::Context().get(), request, &response);
  }
  grpc::Status Remove(const std::string& key, const std::string& ns = "default") {
    api::RemoveSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(key);
    google::protobuf::Empty response;
    return stub_->Remove(ServiceFixture::Context(ns).get(), request, &response);
  }
  grpc::Status Stat(const std::string& key, api::Info* info = nullptr, const std::string& ns = "default") {
    api::StatSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(key);
    api::StatSnapshotResponse response;
    grpc::Status status = stub_->Stat(ServiceFixture::Context(ns).get(), request, &response);
    if (info != nullptr) *info = response.info();
    return status;
  }
  grpc::Status Mounts(const std::string& key, api::MountsResponse* out) {
    api::MountsRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key(key);
    return stub_->Mounts(ServiceFixture::Context().get(), request, out);
  }
  // Every info List streams, and how many messages carried them.
  std::vector<api::Info> List(const std::vector<std::string>& filters, int* messages = nullptr) {
    api::ListSnapshotsRequest request;
    request.set_snapshotter(kSnapshotter);
    for (const std::string& filter : filters) request.add_filters(filter);
    auto context = ServiceFixture::Context();
    auto reader = stub_->List(context.get(), request);
    std::vector<api::Info> infos;
    api::ListSnapshotsResponse response;
    int count = 0;
    while (reader->Read(&response)) {
      ++count;
      infos.insert(infos.end(), response.info().begin(), response.info().end());
    }
    grpc::Status status = reader->Finish();
    INFO(status.error_message());
    REQUIRE(status.ok());
    if (messages != nullptr) *messages = count;
    return infos;
  }

 private:
  ServiceFixture fixture_;
  std::unique_ptr<api::Snapshots::Stub> stub_;
};

std::set<std::string> Names(const std::vector<api::Info>& infos) {
  std::set<std::string> names;
  for (const api::Info& info : infos) names.insert(info.name());
  return names;
}

std::string OptionStartingWith(const ::containerd::types::Mount& mount, const std::string& prefix) {
  for (const std::string& option : mount.options())
    if (option.starts_with(prefix)) return option.substr(prefix.size());
  return "";
}

bool HasOption(const ::containerd::types::Mount& mount, const std::string& wanted) {
  for (const std::string& option : mount.options())
    if (option == wanted) return true;
  return false;
}

template <typename Message>
Message NextEvent(events::Subscription& subscription, const std::string& topic) {
  auto envelope = subscription.Next(absl::Now() + absl::Seconds(30));
  REQUIRE(envelope.ok());
  CHECK(envelope->namespace_name == "default");
  CHECK(envelope->topic == topic);
  Message message;
  REQUIRE(events::UnpackEvent(envelope->event, &message));
  return message;
}

TEST_CASE("snapshots service: prepare, commit and view chains with their mounts and events", "[snapshots]") {
  SnapshotsClient client;
  auto subscription = client.fixture().deps().events->Subscribe();

  api::PrepareSnapshotResponse base;
  REQUIRE(client.Prepare("base-key", "", &base).ok());
  REQUIRE(base.mounts_size() == 1);
  CHECK(base.mounts(0).type() == "bind");
  CHECK(HasOption(base.mounts(0), "rw"));
  const std::string base_dir = base.mounts(0).source();
  REQUIRE(WriteFileAtomic(JoinPath(base_dir, "hello"), "world").ok());

  auto prepared = NextEvent<::containerd::events::SnapshotPrepare>(*subscription, "/snapshot/prepare");
  CHECK(prepared.key() == "base-key");
  CHECK(prepared.parent().empty());

  REQUIRE(client.Commit("base", "base-key", {{"team", "a"}}).ok());
  auto committed = NextEvent<::containerd::events::SnapshotCommit>(*subscription, "/snapshot/commit");
  CHECK(committed.key() == "base-key");
  CHECK(committed.name() == "base");

  // The active key is gone once committed.
  CHECK(client.Stat("base-key").error_code() == grpc::StatusCode::NOT_FOUND);
  api::Info info;
  REQUIRE(client.Stat("base", &info).ok());
  CHECK(info.kind() == api::COMMITTED);
  CHECK(info.parent().empty());
  CHECK(info.labels().at("team") == "a");
  CHECK(info.created_at().seconds() > 0);

  // A child on one layer: overlay with that layer as its only lower.
  api::PrepareSnapshotResponse child;
  REQUIRE(client.Prepare("child", "base", &child).ok());
  REQUIRE(child.mounts_size() == 1);
  CHECK(child.mounts(0).type() == "overlay");
  CHECK(OptionStartingWith(child.mounts(0), "lowerdir=") == base_dir);
  CHECK_FALSE(OptionStartingWith(child.mounts(0), "upperdir=").empty());
  CHECK_FALSE(OptionStartingWith(child.mounts(0), "workdir=").empty());
  auto child_event = NextEvent<::containerd::events::SnapshotPrepare>(*subscription, "/snapshot/prepare");
  CHECK(child_event.key() == "child");
  CHECK(child_event.parent() == "base");

  api::MountsResponse mounts;
  REQUIRE(client.Mounts("child", &mounts).ok());
  REQUIRE(mounts.mounts_size() == 1);
  CHECK(mounts.mounts(0).SerializeAsString() == child.mounts(0).SerializeAsString());

  REQUIRE(client.Stat("child", &info).ok());
  CHECK(info.kind() == api::ACTIVE);
  CHECK(info.parent() == "base");

  // A view of the single layer is a read-only bind of it; views publish no event.
  api::ViewSnapshotResponse view;
  REQUIRE(client.View("view", "base", &view).ok());
  REQUIRE(view.mounts_size() == 1);
  CHECK(view.mounts(0).type() == "bind");
  CHECK(view.mounts(0).source() == base_dir);
  CHECK(HasOption(view.mounts(0), "ro"));
  REQUIRE(client.Stat("view", &info).ok());
  CHECK(info.kind() == api::VIEW);

  // Two layers down: lowerdir lists the top layer first.
  REQUIRE(client.Commit("second", "child").ok());
  (void)NextEvent<::containerd::events::SnapshotCommit>(*subscription, "/snapshot/commit");
  api::ViewSnapshotResponse view2;
  REQUIRE(client.View("view2", "second", &view2).ok());
  REQUIRE(view2.mounts_size() == 1);
  CHECK(view2.mounts(0).type() == "overlay");
  std::string lowers = OptionStartingWith(view2.mounts(0), "lowerdir=");
  CHECK(lowers.ends_with(":" + base_dir));
  CHECK(OptionStartingWith(view2.mounts(0), "upperdir=").empty());

  // Committed snapshots have no mounts.
  CHECK(client.Mounts("second", &mounts).error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  REQUIRE(client.Remove("view2").ok());
  auto removed = NextEvent<::containerd::events::SnapshotRemove>(*subscription, "/snapshot/remove");
  CHECK(removed.key() == "view2");
}

TEST_CASE("snapshots service: stat, update, list, usage and remove", "[snapshots]") {
  SnapshotsClient client;
  api::PrepareSnapshotResponse base;
  REQUIRE(client.Prepare("base-key", "", &base).ok());
  REQUIRE(WriteFileAtomic(JoinPath(base.mounts(0).source(), "data"), std::string(64 * 1024, 'x')).ok());
  REQUIRE(client.Commit("base", "base-key", {{"keep", "1"}, {"drop", "1"}}).ok());
  REQUIRE(client.Prepare("work", "base").ok());
  REQUIRE(client.View("look", "base").ok());

  SECTION("update labels through the field mask") {
    api::UpdateSnapshotRequest request;
    request.set_snapshotter(kSnapshotter);
    request.mutable_info()->set_name("base");
    (*request.mutable_info()->mutable_labels())["new"] = "yes";
    (*request.mutable_info()->mutable_labels())["keep"] = "changed-but-masked-out";
    request.mutable_update_mask()->add_paths("labels.new");
    request.mutable_update_mask()->add_paths("labels.drop");  // absent from info: removed
    api::UpdateSnapshotResponse response;
    REQUIRE(client.stub().Update(ServiceFixture::Context().get(), request, &response).ok());
    const auto& labels = response.info().labels();
    CHECK(labels.at("new") == "yes");
    CHECK(labels.at("keep") == "1");
    CHECK(labels.count("drop") == 0);
    api::Info info;
    REQUIRE(client.Stat("base", &info).ok());
    CHECK(info.labels().size() == 2);

    // Without a mask every label is replaced.
    request.clear_update_mask();
    request.mutable_info()->clear_labels();
    (*request.mutable_info()->mutable_labels())["only"] = "this";
    REQUIRE(client.stub().Update(ServiceFixture::Context().get(), request, &response).ok());
    CHECK(response.info().labels().size() == 1);
    CHECK(response.info().labels().at("only") == "this");

    request.mutable_info()->set_name("missing");
    CHECK(client.stub().Update(ServiceFixture::Context().get(), request, &response).error_code() ==
          grpc::StatusCode::NOT_FOUND);
  }

  SECTION("list with filters") {
    CHECK(Names(client.List({})) == std::set<std::string>{"base", "work", "look"});
    CHECK(Names(client.List({"kind==committed"})) == std::set<std::string>{"base"});
    CHECK(Names(client.List({"kind==active"})) == std::set<std::string>{"work"});
    CHECK(Names(client.List({"parent==base"})) == std::set<std::string>{"work", "look"});
    CHECK(Names(client.List({"labels.keep==1"})) == std::set<std::string>{"base"});
    CHECK(Names(client.List({"kind==view", "name==base"})) == std::set<std::string>{"base", "look"});

    api::ListSnapshotsRequest request;
    request.set_snapshotter(kSnapshotter);
    request.add_filters("kind===");
    auto context = ServiceFixture::Context();
    auto reader = client.stub().List(context.get(), request);
    api::ListSnapshotsResponse response;
    while (reader->Read(&response)) {
    }
    CHECK(reader->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }

  SECTION("usage counts a snapshot's own layer") {
    api::UsageRequest request;
    request.set_snapshotter(kSnapshotter);
    request.set_key("base");
    api::UsageResponse response;
    REQUIRE(client.stub().Usage(ServiceFixture::Context().get(), request, &response).ok());
    CHECK(response.size() >= 64 * 1024);
    CHECK(response.inodes() >= 2);
    request.set_key("nothing");
    CHECK(client.stub().Usage(ServiceFixture::Context().get(), request, &response).error_code() ==
          grpc::StatusCode::NOT_FOUND);
  }

  SECTION("remove refuses a parent, then succeeds bottom-up; cleanup runs") {
    CHECK(client.Remove("base").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    REQUIRE(client.Remove("work").ok());
    REQUIRE(client.Remove("look").ok());
    REQUIRE(client.Remove("base").ok());
    CHECK(client.Stat("base").error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(client.Remove("base").error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(client.List({}).empty());

    api::CleanupRequest request;
    request.set_snapshotter(kSnapshotter);
    google::protobuf::Empty response;
    REQUIRE(client.stub().Cleanup(ServiceFixture::Context().get(), request, &response).ok());
  }
}

TEST_CASE("snapshots service: errors as containerd reports them", "[snapshots]") {
  SnapshotsClient client;
  REQUIRE(client.Prepare("a", "").ok());

  CHECK(client.Prepare("a", "").error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(client.Prepare("b", "no-such-parent").error_code() == grpc::StatusCode::NOT_FOUND);
  // An active snapshot cannot be a parent.
  CHECK(client.Prepare("b", "a").error_code() != grpc::StatusCode::OK);
  CHECK(client.Commit("c", "no-such-key").error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(client.Commit("c", "a").ok());
  REQUIRE(client.Prepare("a2", "").ok());
  CHECK(client.Commit("c", "a2").error_code() == grpc::StatusCode::ALREADY_EXISTS);
  // "c" is committed: not something to commit again.
  CHECK(client.Commit("d", "c").error_code() != grpc::StatusCode::OK);

  grpc::Status status = client.Prepare("x", "", nullptr, "default", "");
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() == "snapshotter argument missing");
  status = client.Prepare("x", "", nullptr, "default", "btrfs");
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() == "snapshotter not loaded: btrfs");
  CHECK(client.Prepare("x", "", nullptr, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(client.Prepare("x", "", nullptr, "bad/ns").error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  // Namespaces do not see each other's snapshots.
  CHECK(client.Stat("c", nullptr, "other").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(client.Remove("c", "other").error_code() == grpc::StatusCode::NOT_FOUND);
  REQUIRE(client.Prepare("a", "", nullptr, "other").ok());
  REQUIRE(client.Stat("c").ok());
}

TEST_CASE("snapshots service: list streams in batches of 100", "[snapshots]") {
  SnapshotsClient client;
  REQUIRE(client.Prepare("base-key", "").ok());
  REQUIRE(client.Commit("base", "base-key").ok());
  for (int i = 0; i < 149; ++i) REQUIRE(client.View("view-" + std::to_string(i), "base").ok());
  int messages = 0;
  std::vector<api::Info> infos = client.List({}, &messages);
  CHECK(infos.size() == 150);
  CHECK(messages == 2);
  CHECK(Names(infos).size() == 150);
}

}  // namespace
}  // namespace liman::containerd::services
