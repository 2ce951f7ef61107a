// The leases service over real gRPC, with content written through the content service under a
// lease: what the lease holds survives garbage collection until Delete(sync) lets it go.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "containerd/content/digest.h"
#include "containerd/services/content/content_service.h"
#include "containerd/services/content/tests/content_client.h"
#include "containerd/services/leases/leases_service.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::leases::v1;
using testing::ContentClient;
using testing::ServiceFixture;
using testing::WriteOptions;
using Map = std::map<std::string, std::string>;

class LeasesTest {
 public:
  LeasesTest() {
    fixture_.Serve(MakeLeasesService);
    fixture_.Serve(MakeContentService);
    fixture_.Start();
    stub_ = api::Leases::NewStub(fixture_.channel());
    content_ = std::make_unique<ContentClient>(fixture_.channel());
  }
  ServiceFixture& fixture() { return fixture_; }
  ContentClient& content() { return *content_; }

  grpc::Status Create(const std::string& id, const Map& labels, api::Lease* out = nullptr,
                      const std::string& ns = "default") {
    api::CreateRequest request;
    request.set_id(id);
    request.mutable_labels()->insert(labels.begin(), labels.end());
    api::CreateResponse response;
    grpc::Status status = stub_->Create(ServiceFixture::Context(ns).get(), request, &response);
    if (out != nullptr) *out = response.lease();
    return status;
  }
  grpc::Status Delete(const std::string& id, bool sync, const std::string& ns = "default") {
    api::DeleteRequest request;
    request.set_id(id);
    request.set_sync(sync);
    google::protobuf::Empty response;
    return stub_->Delete(ServiceFixture::Context(ns).get(), request, &response);
  }
  grpc::Status List(const std::vector<std::string>& filters, std::vector<std::string>* ids,
                    const std::string& ns = "default") {
    api::ListRequest request;
    for (const std::string& filter : filters) request.add_filters(filter);
    api::ListResponse response;
    grpc::Status status = stub_->List(ServiceFixture::Context(ns).get(), request, &response);
    for (const auto& lease : response.leases()) ids->push_back(lease.id());
    return status;
  }
  grpc::Status AddResource(const std::string& lease, const std::string& id, const std::string& type,
                           const std::string& ns = "default") {
    api::AddResourceRequest request;
    request.set_id(lease);
    request.mutable_resource()->set_id(id);
    request.mutable_resource()->set_type(type);
    google::protobuf::Empty response;
    return stub_->AddResource(ServiceFixture::Context(ns).get(), request, &response);
  }
  grpc::Status DeleteResource(const std::string& lease, const std::string& id, const std::string& type) {
    api::DeleteResourceRequest request;
    request.set_id(lease);
    request.mutable_resource()->set_id(id);
    request.mutable_resource()->set_type(type);
    google::protobuf::Empty response;
    return stub_->DeleteResource(ServiceFixture::Context().get(), request, &response);
  }
  // "type:id" of every resource the lease holds.
  grpc::Status ListResources(const std::string& lease, std::vector<std::string>* resources) {
    api::ListResourcesRequest request;
    request.set_id(lease);
    api::ListResourcesResponse response;
    grpc::Status status = stub_->ListResources(ServiceFixture::Context().get(), request, &response);
    for (const auto& resource : response.resources()) resources->push_back(resource.type() + ":" + resource.id());
    return status;
  }

 private:
  ServiceFixture fixture_;
  std::unique_ptr<api::Leases::Stub> stub_;
  std::unique_ptr<ContentClient> content_;
};

std::string Digest(std::string_view data) { return content::Sha256Digest(data); }

TEST_CASE("leases service: Create, List and Delete leases") {
  LeasesTest test;
  api::Lease lease;
  REQUIRE(test.Create("build-1", {{"purpose", "build"}}, &lease).ok());
  CHECK(lease.id() == "build-1");
  CHECK(lease.labels().at("purpose") == "build");
  CHECK(lease.created_at().seconds() > 0);
  CHECK(test.Create("build-1", {}).error_code() == grpc::StatusCode::ALREADY_EXISTS);

  // Without an id the service makes one, as containerd's WithRandomID.
  api::Lease generated;
  REQUIRE(test.Create("", {{"containerd.io/gc.expire", "2100-01-01T00:00:00Z"}}, &generated).ok());
  CHECK(std::regex_match(generated.id(), std::regex("[0-9]+-[A-Za-z0-9_-]{4}")));
  CHECK(generated.labels().at("containerd.io/gc.expire") == "2100-01-01T00:00:00Z");

  std::vector<std::string> ids;
  REQUIRE(test.List({}, &ids).ok());
  CHECK(std::set<std::string>(ids.begin(), ids.end()) == std::set<std::string>{"build-1", generated.id()});
  ids.clear();
  REQUIRE(test.List({"labels.purpose==build"}, &ids).ok());
  CHECK(ids == std::vector<std::string>{"build-1"});
  ids.clear();
  REQUIRE(test.List({"id==" + generated.id()}, &ids).ok());
  CHECK(ids == std::vector<std::string>{generated.id()});
  ids.clear();
  REQUIRE(test.List({}, &ids, "elsewhere").ok());
  CHECK(ids.empty());

  REQUIRE(test.Delete("build-1", false).ok());
  CHECK(test.Delete("build-1", false).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.Delete(generated.id(), true, "elsewhere").error_code() == grpc::StatusCode::NOT_FOUND);
  ids.clear();
  REQUIRE(test.List({}, &ids).ok());
  CHECK(ids == std::vector<std::string>{generated.id()});
}

TEST_CASE("leases service: resources are added, listed and removed") {
  LeasesTest test;
  REQUIRE(test.Create("l", {}).ok());
  const std::string digest = Digest("anything");
  REQUIRE(test.AddResource("l", digest, "content").ok());
  REQUIRE(test.AddResource("l", digest, "content").ok());  // twice is fine
  REQUIRE(test.AddResource("l", "ingest-ref", "ingests").ok());
  REQUIRE(test.AddResource("l", "snap-1", "snapshots/overlayfs").ok());

  std::vector<std::string> resources;
  REQUIRE(test.ListResources("l", &resources).ok());
  CHECK(resources == std::vector<std::string>{"content:" + digest, "ingests:ingest-ref", "snapshots/overlayfs:snap-1"});

  REQUIRE(test.DeleteResource("l", "ingest-ref", "ingests").ok());
  REQUIRE(test.DeleteResource("l", "not-held", "ingests").ok());
  resources.clear();
  REQUIRE(test.ListResources("l", &resources).ok());
  CHECK(resources == std::vector<std::string>{"content:" + digest, "snapshots/overlayfs:snap-1"});

  CHECK(test.AddResource("l", "not-a-digest", "content").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.AddResource("l", "x", "snapshots").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.AddResource("l", "x", "volumes").error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(test.AddResource("missing", digest, "content").error_code() == grpc::StatusCode::NOT_FOUND);
  resources.clear();
  CHECK(test.ListResources("missing", &resources).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("leases service: a lease keeps unreferenced content and ingests until Delete(sync)") {
  LeasesTest test;
  REQUIRE(test.Create("pull", {}).ok());
  const std::string blob = "a layer nothing references";
  REQUIRE(test.content().WriteBlob("layer", blob, {.lease = "pull"}).ok());
  REQUIRE(test.content().WritePartial("half", "half a layer", {.lease = "pull"}).ok());
  // The same without a lease: nothing keeps the committed blob.
  const std::string loose = "loose blob";
  REQUIRE(test.content().WriteBlob("loose", loose).ok());

  std::vector<std::string> resources;
  REQUIRE(test.ListResources("pull", &resources).ok());
  CHECK(resources == std::vector<std::string>{"content:" + Digest(blob), "ingests:half"});

  REQUIRE(test.fixture().deps().db->GarbageCollect().ok());
  CHECK(test.content().Info(Digest(blob)).ok());
  CHECK(test.content().Status("half").ok());
  CHECK(test.content().Info(Digest(loose)).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absl::IsNotFound(test.fixture().content().Info(Digest(loose)).status()));

  REQUIRE(test.Delete("pull", /*sync=*/true).ok());
  // Collected before the answer: the rows and the backend's blob are gone.
  CHECK(test.content().Info(Digest(blob)).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(test.content().Status("half").error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(absl::IsNotFound(test.fixture().content().Info(Digest(blob)).status()));
}

TEST_CASE("leases service: an expired lease protects nothing") {
  LeasesTest test;
  REQUIRE(test.Create("old", {{"containerd.io/gc.expire", "2001-01-01T00:00:00Z"}}).ok());
  const std::string blob = "held by an expired lease";
  REQUIRE(test.content().WriteBlob("expired", blob, {.lease = "old"}).ok());
  REQUIRE(test.fixture().deps().db->GarbageCollect().ok());
  CHECK(test.content().Info(Digest(blob)).error_code() == grpc::StatusCode::NOT_FOUND);
  std::vector<std::string> ids;
  REQUIRE(test.List({}, &ids).ok());
  CHECK(ids.empty());
}

TEST_CASE("leases service: malformed requests get a clear status") {
  LeasesTest test;
  grpc::Status status = test.Create("x", {}, nullptr, "");
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find("namespace is required") != std::string::npos);
  std::vector<std::string> ids;
  CHECK(test.List({}, &ids, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(test.List({"!!!"}, &ids).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Create("x", {{std::string(5000, 'k'), "v"}}).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(test.Delete("x", false, "bad/ns").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // A resource without a type is not one containerd supports.
  REQUIRE(test.Create("x", {}).ok());
  CHECK(test.AddResource("x", "", "").error_code() == grpc::StatusCode::UNIMPLEMENTED);
}

}  // namespace
}  // namespace liman::containerd::services
