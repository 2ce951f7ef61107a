// The namespaces service over real gRPC: the metadata store's namespaces, their labels, the
// events containerd publishes, and deletion refused while a namespace still holds content.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "containerd/content/digest.h"
#include "containerd/events/namespace.pb.h"
#include "containerd/services/content/content_service.h"
#include "containerd/services/content/tests/content_client.h"
#include "containerd/services/namespaces/namespaces_service.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::namespaces::v1;
using testing::ContentClient;
using testing::ServiceFixture;
using Map = std::map<std::string, std::string>;

class NamespacesTest {
 public:
  NamespacesTest() {
    fixture_.Serve(MakeNamespacesService);
    fixture_.Serve(MakeContentService);
    fixture_.Start();
    stub_ = api::Namespaces::NewStub(fixture_.channel());
    content_ = std::make_unique<ContentClient>(fixture_.channel());
  }
  ServiceFixture& fixture() { return fixture_; }
  ContentClient& content() { return *content_; }

  // Calls are made as ctr makes them: in the "default" namespace unless told otherwise.
  grpc::Status Create(const std::string& name, const Map& labels, api::Namespace* out = nullptr,
                      const std::string& caller = "default") {
    api::CreateNamespaceRequest request;
    request.mutable_namespace_()->set_name(name);
    request.mutable_namespace_()->mutable_labels()->insert(labels.begin(), labels.end());
    api::CreateNamespaceResponse response;
    grpc::Status status = stub_->Create(ServiceFixture::Context(caller).get(), request, &response);
    if (out != nullptr) *out = response.namespace_();
    return status;
  }
  grpc::Status Get(const std::string& name, Map* labels = nullptr) {
    api::GetNamespaceRequest request;
    request.set_name(name);
    api::GetNamespaceResponse response;
    grpc::Status status = stub_->Get(ServiceFixture::Context().get(), request, &response);
    if (labels != nullptr) *labels = Map(response.namespace_().labels().begin(), response.namespace_().labels().end());
    return status;
  }
  grpc::Status Update(const std::string& name, const Map& labels, const std::vector<std::string>& paths) {
    api::UpdateNamespaceRequest request;
    request.mutable_namespace_()->set_name(name);
    request.mutable_namespace_()->mutable_labels()->insert(labels.begin(), labels.end());
    for (const std::string& path : paths) request.mutable_update_mask()->add_paths(path);
    api::UpdateNamespaceResponse response;
    return stub_->Update(ServiceFixture::Context().get(), request, &response);
  }
  grpc::Status Delete(const std::string& name) {
    api::DeleteNamespaceRequest request;
    request.set_name(name);
    google::protobuf::Empty response;
    return stub_->Delete(ServiceFixture::Context("").get(), request, &response);
  }
  std::vector<std::string> List() {
    api::ListNamespacesResponse response;
    REQUIRE(stub_->List(ServiceFixture::Context("").get(), api::ListNamespacesRequest(), &response).ok());
    std::vector<std::string> names;
    for (const auto& ns : response.namespaces()) names.push_back(ns.name());
    return names;
  }

 private:
  ServiceFixture fixture_;
  std::unique_ptr<api::Namespaces::Stub> stub_;
  std::unique_ptr<ContentClient> content_;
};

template <typename Message>
Message NextEvent(events::Subscription& subscription, const std::string& topic, const std::string& ns) {
  auto envelope = subscription.Next(absl::Now() + absl::Seconds(30));
  REQUIRE(envelope.ok());
  CHECK(envelope->topic == topic);
  CHECK(envelope->namespace_name == ns);
  Message event;
  REQUIRE(events::UnpackEvent(envelope->event, &event));
  return event;
}

TEST_CASE("namespaces service: create, get, list, update and delete, with their events") {
  NamespacesTest test;
  auto subscription = test.fixture().deps().events->Subscribe();

  api::Namespace created;
  REQUIRE(test.Create("team-a", {{"owner", "alice"}, {"tier", "gold"}}, &created).ok());
  CHECK(created.name() == "team-a");
  auto create = NextEvent<::containerd::events::NamespaceCreate>(*subscription, "/namespaces/create", "default");
  CHECK(create.name() == "team-a");
  CHECK(create.labels().at("owner") == "alice");
  CHECK(test.Create("team-a", {}).error_code() == grpc::StatusCode::ALREADY_EXISTS);
  REQUIRE(test.Create("team-b", {}, nullptr, "").ok());
  NextEvent<::containerd::events::NamespaceCreate>(*subscription, "/namespaces/create", "team-b");

  Map labels;
  REQUIRE(test.Get("team-a", &labels).ok());
  CHECK(labels == Map{{"owner", "alice"}, {"tier", "gold"}});
  CHECK(test.List() == std::vector<std::string>{"team-a", "team-b"});

  // One label by mask, then one removed by an empty value, then all replaced without a mask.
  REQUIRE(test.Update("team-a", {{"owner", "bob"}, {"ignored", "x"}}, {"labels.owner"}).ok());
  auto update = NextEvent<::containerd::events::NamespaceUpdate>(*subscription, "/namespaces/update", "default");
  CHECK(update.name() == "team-a");
  REQUIRE(test.Get("team-a", &labels).ok());
  CHECK(labels == Map{{"owner", "bob"}, {"tier", "gold"}});
  REQUIRE(test.Update("team-a", {}, {"labels.tier"}).ok());
  REQUIRE(test.Get("team-a", &labels).ok());
  CHECK(labels == Map{{"owner", "bob"}});
  REQUIRE(test.Update("team-a", {{"fresh", "1"}}, {}).ok());
  REQUIRE(test.Get("team-a", &labels).ok());
  CHECK(labels == Map{{"fresh", "1"}});
  // containerd accepts only "labels.<key>" paths.
  CHECK(test.Update("team-a", {}, {"labels"}).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Update("team-a", {}, {"name"}).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Update("nobody", {{"a", "b"}}, {}).error_code() == grpc::StatusCode::NOT_FOUND);

  REQUIRE(test.Delete("team-a").ok());
  // Drain the two label updates published in between.
  NextEvent<::containerd::events::NamespaceUpdate>(*subscription, "/namespaces/update", "default");
  NextEvent<::containerd::events::NamespaceUpdate>(*subscription, "/namespaces/update", "default");
  auto deleted = NextEvent<::containerd::events::NamespaceDelete>(*subscription, "/namespaces/delete", "team-a");
  CHECK(deleted.name() == "team-a");
  CHECK(test.Get("team-a").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.Delete("team-a").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.List() == std::vector<std::string>{"team-b"});
}

TEST_CASE("namespaces service: a namespace holding content cannot be deleted") {
  NamespacesTest test;
  const std::string blob = "content keeps its namespace";
  REQUIRE(test.content().WriteBlob("keep", blob, {.ns = "busy"}).ok());
  // Writing content made the namespace.
  CHECK(test.Get("busy").ok());

  grpc::Status refused = test.Delete("busy");
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(refused.error_message().find("must be empty") != std::string::npos);
  CHECK(refused.error_message().find("blobs") != std::string::npos);
  CHECK(test.content().Info(content::Sha256Digest(blob), nullptr, "busy").ok());

  REQUIRE(test.content().Delete(content::Sha256Digest(blob), "busy").ok());
  REQUIRE(test.Delete("busy").ok());
  CHECK(test.Get("busy").error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("namespaces service: malformed requests get a clear status") {
  NamespacesTest test;
  CHECK(test.Create("", {}).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Create("bad/name", {}).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Create(std::string(100, 'n'), {}).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Create("big-labels", {{std::string(5000, 'k'), "v"}}).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Get("").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.Get("missing").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.Delete("missing").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.List().empty());
}

}  // namespace
}  // namespace liman::containerd::services
