// The containers service through real gRPC calls against an in-process daemon.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "containerd/events/container.pb.h"
#include "containerd/services/containers/containers_service.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::containers::v1;
using testing::ServiceFixture;

constexpr char kSpecType[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kRuntime[] = "io.containerd.runc.v2";

struct ContainersFixture {
  ContainersFixture() {
    fixture.Serve(MakeContainersService);
    fixture.Start();
    stub = api::Containers::NewStub(fixture.channel());
  }
  ServiceFixture fixture;
  std::unique_ptr<api::Containers::Stub> stub;
};

google::protobuf::Any MakeAny(const std::string& type, const std::string& value) {
  google::protobuf::Any any;
  any.set_type_url(type);
  any.set_value(value);
  return any;
}

api::Container MakeContainer(const std::string& id) {
  api::Container container;
  container.set_id(id);
  container.set_image("docker.io/library/alpine:3");
  container.mutable_runtime()->set_name(kRuntime);
  *container.mutable_spec() = MakeAny(kSpecType, R"({"ociVersion":"1.0.2"})");
  container.set_snapshotter("overlayfs");
  container.set_snapshot_key(id + "-snapshot");
  return container;
}

grpc::Status Create(api::Containers::Stub& stub, const api::Container& container, const std::string& ns = "default",
                    api::Container* created = nullptr) {
  api::CreateContainerRequest request;
  *request.mutable_container() = container;
  api::CreateContainerResponse response;
  grpc::Status status = stub.Create(ServiceFixture::Context(ns).get(), request, &response);
  if (created != nullptr) *created = response.container();
  return status;
}

grpc::Status Get(api::Containers::Stub& stub, const std::string& id, api::Container* container,
                 const std::string& ns = "default") {
  api::GetContainerRequest request;
  request.set_id(id);
  api::GetContainerResponse response;
  grpc::Status status = stub.Get(ServiceFixture::Context(ns).get(), request, &response);
  *container = response.container();
  return status;
}

grpc::Status Update(api::Containers::Stub& stub, const api::Container& container,
                    std::initializer_list<const char*> paths, api::Container* updated) {
  api::UpdateContainerRequest request;
  *request.mutable_container() = container;
  for (const char* path : paths) request.mutable_update_mask()->add_paths(path);
  api::UpdateContainerResponse response;
  grpc::Status status = stub.Update(ServiceFixture::Context().get(), request, &response);
  *updated = response.container();
  return status;
}

grpc::Status List(api::Containers::Stub& stub, std::initializer_list<const char*> filters, std::vector<std::string>* ids,
                  const std::string& ns = "default") {
  api::ListContainersRequest request;
  for (const char* filter : filters) request.add_filters(filter);
  api::ListContainersResponse response;
  grpc::Status status = stub.List(ServiceFixture::Context(ns).get(), request, &response);
  ids->clear();
  for (const api::Container& container : response.containers()) ids->push_back(container.id());
  return status;
}

// ListStream, checking that every message carries exactly one container.
grpc::Status ListStream(api::Containers::Stub& stub, std::initializer_list<const char*> filters,
                        std::vector<api::Container>* containers, const std::string& ns = "default") {
  api::ListContainersRequest request;
  for (const char* filter : filters) request.add_filters(filter);
  std::unique_ptr<grpc::ClientContext> context = ServiceFixture::Context(ns);
  std::unique_ptr<grpc::ClientReader<api::ListContainerMessage>> reader = stub.ListStream(context.get(), request);
  containers->clear();
  api::ListContainerMessage message;
  while (reader->Read(&message)) {
    CHECK(message.has_container());
    containers->push_back(message.container());
  }
  return reader->Finish();
}

grpc::Status Delete(api::Containers::Stub& stub, const std::string& id, const std::string& ns = "default") {
  api::DeleteContainerRequest request;
  request.set_id(id);
  google::protobuf::Empty response;
  return stub.Delete(ServiceFixture::Context(ns).get(), request, &response);
}

TEST_CASE("containers: create, get, list, list stream, delete", "[containers]") {
  ContainersFixture f;
  api::Container container = MakeContainer("c1");
  (*container.mutable_labels())["app"] = "web";
  *container.mutable_runtime()->mutable_options() = MakeAny("containerd.runc.v1.Options", "\x08\x01");
  (*container.mutable_extensions())["ext"] = MakeAny("example.com/Ext", "data");

  api::Container created;
  REQUIRE(Create(*f.stub, container, "default", &created).ok());
  CHECK(created.id() == "c1");
  CHECK(created.created_at().seconds() > 0);
  CHECK(created.updated_at().seconds() > 0);

  grpc::Status status = Create(*f.stub, container);
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(status.error_message(), Catch::Contains("c1"));

  api::Container got;
  REQUIRE(Get(*f.stub, "c1", &got).ok());
  CHECK(got.labels().at("app") == "web");
  CHECK(got.image() == "docker.io/library/alpine:3");
  CHECK(got.runtime().name() == kRuntime);
  CHECK(got.runtime().options().type_url() == "containerd.runc.v1.Options");
  CHECK(got.runtime().options().value() == "\x08\x01");
  CHECK(got.spec().type_url() == kSpecType);
  CHECK(got.spec().value() == R"({"ociVersion":"1.0.2"})");
  CHECK(got.snapshotter() == "overlayfs");
  CHECK(got.snapshot_key() == "c1-snapshot");
  CHECK(got.extensions().at("ext").value() == "data");
  CHECK(got.created_at().seconds() == created.created_at().seconds());

  status = Get(*f.stub, "nope", &got);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), Catch::Contains("nope"));

  api::Container c2 = MakeContainer("c2");
  c2.set_image("quay.io/x/y:1");
  REQUIRE(Create(*f.stub, c2).ok());
  api::Container c3 = MakeContainer("c3");
  (*c3.mutable_labels())["app"] = "db";
  c3.mutable_runtime()->set_name("io.containerd.runsc.v1");
  REQUIRE(Create(*f.stub, c3).ok());

  std::vector<std::string> ids;
  REQUIRE(List(*f.stub, {}, &ids).ok());
  CHECK(ids == std::vector<std::string>{"c1", "c2", "c3"});
  REQUIRE(List(*f.stub, {"labels.app==web"}, &ids).ok());
  CHECK(ids == std::vector<std::string>{"c1"});
  REQUIRE(List(*f.stub, {"image~=^quay.io/"}, &ids).ok());
  CHECK(ids == std::vector<std::string>{"c2"});
  REQUIRE(List(*f.stub, {"runtime.name==io.containerd.runsc.v1", "id==c1"}, &ids).ok());
  CHECK(ids == std::vector<std::string>{"c1", "c3"});
  REQUIRE(List(*f.stub, {"labels.app", "id!=c1"}, &ids).ok());  // OR of the two
  CHECK(ids == std::vector<std::string>{"c1", "c2", "c3"});
  REQUIRE(List(*f.stub, {"labels.app,id!=c1"}, &ids).ok());  // AND within one
  CHECK(ids == std::vector<std::string>{"c3"});
  status = List(*f.stub, {"id=="}, &ids);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("parse error"));

  std::vector<api::Container> streamed;
  REQUIRE(ListStream(*f.stub, {}, &streamed).ok());
  REQUIRE(streamed.size() == 3);
  CHECK(streamed[0].id() == "c1");
  CHECK(streamed[0].spec().value() == R"({"ociVersion":"1.0.2"})");
  CHECK(streamed[0].extensions().at("ext").value() == "data");
  CHECK(streamed[2].id() == "c3");
  REQUIRE(ListStream(*f.stub, {"labels.app==db"}, &streamed).ok());
  REQUIRE(streamed.size() == 1);
  CHECK(streamed[0].id() == "c3");
  REQUIRE(ListStream(*f.stub, {}, &streamed, "empty-ns").ok());
  CHECK(streamed.empty());
  status = ListStream(*f.stub, {"labels.\"unterminated"}, &streamed);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(ListStream(*f.stub, {}, &streamed, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  REQUIRE(Delete(*f.stub, "c2").ok());
  CHECK(Get(*f.stub, "c2", &got).error_code() == grpc::StatusCode::NOT_FOUND);
  status = Delete(*f.stub, "c2");
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), Catch::Contains("c2"));
  REQUIRE(List(*f.stub, {}, &ids).ok());
  CHECK(ids == std::vector<std::string>{"c1", "c3"});
}

TEST_CASE("containers: malformed requests", "[containers]") {
  ContainersFixture f;
  grpc::Status status = Create(*f.stub, MakeContainer(""));
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_FALSE(status.error_message().empty());
  CHECK(Create(*f.stub, MakeContainer("bad id!")).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Create(*f.stub, MakeContainer(std::string(300, 'a'))).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  api::Container no_runtime = MakeContainer("c");
  no_runtime.clear_runtime();
  CHECK(Create(*f.stub, no_runtime).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  api::Container no_spec = MakeContainer("c");
  no_spec.clear_spec();
  CHECK(Create(*f.stub, no_spec).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  api::Container key_without_snapshotter = MakeContainer("c");
  key_without_snapshotter.clear_snapshotter();
  CHECK(Create(*f.stub, key_without_snapshotter).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  api::Container got;
  CHECK(Get(*f.stub, "c", &got).error_code() == grpc::StatusCode::NOT_FOUND);  // nothing half-made

  status = Create(*f.stub, MakeContainer("c"), "");
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains("namespace is required"));
  CHECK(Create(*f.stub, MakeContainer("c"), "no/slashes").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Delete(*f.stub, "c", "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  api::Container updated;
  status = Update(*f.stub, MakeContainer(""), {"labels"}, &updated);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() == "Container.ID required");
  CHECK(Update(*f.stub, MakeContainer("missing"), {"labels"}, &updated).error_code() ==
        grpc::StatusCode::NOT_FOUND);

  CHECK(Get(*f.stub, "", &got).error_code() != grpc::StatusCode::OK);
  CHECK(Delete(*f.stub, "").error_code() != grpc::StatusCode::OK);
}

TEST_CASE("containers: namespaces are isolated", "[containers]") {
  ContainersFixture f;
  api::Container a = MakeContainer("same");
  a.set_image("image-a");
  api::Container b = MakeContainer("same");
  b.set_image("image-b");
  REQUIRE(Create(*f.stub, a, "ns-a").ok());
  REQUIRE(Create(*f.stub, b, "ns-b").ok());

  api::Container got;
  REQUIRE(Get(*f.stub, "same", &got, "ns-a").ok());
  CHECK(got.image() == "image-a");
  REQUIRE(Get(*f.stub, "same", &got, "ns-b").ok());
  CHECK(got.image() == "image-b");
  CHECK(Get(*f.stub, "same", &got, "default").error_code() == grpc::StatusCode::NOT_FOUND);

  REQUIRE(Delete(*f.stub, "same", "ns-a").ok());
  REQUIRE(Get(*f.stub, "same", &got, "ns-b").ok());
  std::vector<std::string> ids;
  REQUIRE(List(*f.stub, {}, &ids, "ns-a").ok());
  CHECK(ids.empty());
  REQUIRE(List(*f.stub, {}, &ids, "ns-b").ok());
  CHECK(ids == std::vector<std::string>{"same"});
}

TEST_CASE("containers: update applies the field mask as containerd does", "[containers]") {
  ContainersFixture f;
  api::Container container = MakeContainer("u");
  (*container.mutable_labels())["keep"] = "1";
  (*container.mutable_labels())["change"] = "old";
  (*container.mutable_extensions())["e1"] = MakeAny("example.com/E", "one");
  (*container.mutable_extensions())["e2"] = MakeAny("example.com/E", "two");
  api::Container created;
  REQUIRE(Create(*f.stub, container, "default", &created).ok());

  api::Container patch = MakeContainer("u");
  patch.set_image("patched-image");
  *patch.mutable_spec() = MakeAny(kSpecType, "{}");
  patch.set_snapshot_key("patched-key");
  (*patch.mutable_labels())["change"] = "new";
  (*patch.mutable_extensions())["e1"] = MakeAny("example.com/E", "uno");
  (*patch.mutable_extensions())["e3"] = MakeAny("example.com/E", "tres");

  api::Container updated;
  REQUIRE(Update(*f.stub, patch, {"labels.change"}, &updated).ok());
  CHECK(updated.labels().at("change") == "new");
  CHECK(updated.labels().at("keep") == "1");
  CHECK(updated.image() == "docker.io/library/alpine:3");  // not in the mask
  CHECK(updated.created_at().seconds() == created.created_at().seconds());

  REQUIRE(Update(*f.stub, patch, {"image"}, &updated).ok());
  CHECK(updated.image() == "patched-image");
  CHECK(updated.spec().value() == R"({"ociVersion":"1.0.2"})");
  REQUIRE(Update(*f.stub, patch, {"spec"}, &updated).ok());
  CHECK(updated.spec().value() == "{}");
  REQUIRE(Update(*f.stub, patch, {"snapshotkey"}, &updated).ok());
  CHECK(updated.snapshot_key() == "patched-key");

  REQUIRE(Update(*f.stub, patch, {"extensions.e1"}, &updated).ok());
  CHECK(updated.extensions().size() == 2);
  CHECK(updated.extensions().at("e1").value() == "uno");
  CHECK(updated.extensions().at("e2").value() == "two");
  REQUIRE(Update(*f.stub, patch, {"extensions"}, &updated).ok());
  CHECK(updated.extensions().size() == 2);
  CHECK(updated.extensions().at("e3").value() == "tres");
  CHECK(updated.extensions().count("e2") == 0);

  REQUIRE(Update(*f.stub, patch, {"labels"}, &updated).ok());
  CHECK(updated.labels().size() == 1);

  // The runtime and the snapshotter are immutable: containerd refuses them as paths, and refuses
  // a full replace that changes them.
  api::Container other_runtime = patch;
  other_runtime.mutable_runtime()->set_name("io.containerd.runsc.v1");
  grpc::Status status = Update(*f.stub, other_runtime, {"runtime"}, &updated);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("runtime"));
  CHECK(Update(*f.stub, patch, {"snapshotter"}, &updated).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Update(*f.stub, patch, {"id"}, &updated).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  status = Update(*f.stub, other_runtime, {}, &updated);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("immutable"));
  api::Container other_snapshotter = patch;
  other_snapshotter.set_snapshotter("native");
  CHECK(Update(*f.stub, other_snapshotter, {}, &updated).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  // No mask: labels, spec, extensions, image and snapshot key are replaced.
  api::Container whole = MakeContainer("u");
  (*whole.mutable_labels())["whole"] = "1";
  REQUIRE(Update(*f.stub, whole, {}, &updated).ok());
  CHECK(updated.labels().size() == 1);
  CHECK(updated.image() == "docker.io/library/alpine:3");
  CHECK(updated.snapshot_key() == "u-snapshot");
  CHECK(updated.extensions().empty());
  CHECK(updated.runtime().name() == kRuntime);

  // A failed update leaves the container as it was.
  api::Container got;
  REQUIRE(Get(*f.stub, "u", &got).ok());
  CHECK(got.labels().at("whole") == "1");
  CHECK(got.runtime().name() == kRuntime);
}

TEST_CASE("containers: create, update and delete publish events", "[containers]") {
  ContainersFixture f;
  std::unique_ptr<events::Subscription> subscription = f.fixture.deps().events->Subscribe();
  auto next = [&] {
    absl::StatusOr<events::Envelope> envelope = subscription->Next(absl::Now() + absl::Seconds(30));
    REQUIRE(envelope.ok());
    return *std::move(envelope);
  };

  api::Container container = MakeContainer("ev");
  *container.mutable_runtime()->mutable_options() = MakeAny("containerd.runc.v1.Options", "opts");
  REQUIRE(Create(*f.stub, container, "default").ok());
  events::Envelope envelope = next();
  CHECK(envelope.namespace_name == "default");
  CHECK(envelope.topic == "/containers/create");
  ::containerd::events::ContainerCreate create;
  REQUIRE(events::UnpackEvent(envelope.event, &create));
  CHECK(create.id() == "ev");
  CHECK(create.image() == "docker.io/library/alpine:3");
  CHECK(create.runtime().name() == kRuntime);
  CHECK(create.runtime().options().value() == "opts");

  api::Container patch = container;
  (*patch.mutable_labels())["l"] = "v";
  api::Container updated;
  REQUIRE(Update(*f.stub, patch, {"labels"}, &updated).ok());
  envelope = next();
  CHECK(envelope.topic == "/containers/update");
  ::containerd::events::ContainerUpdate update;
  REQUIRE(events::UnpackEvent(envelope.event, &update));
  CHECK(update.id() == "ev");
  CHECK(update.labels().at("l") == "v");
  CHECK(update.snapshot_key() == "ev-snapshot");

  CHECK(Create(*f.stub, container).error_code() == grpc::StatusCode::ALREADY_EXISTS);  // publishes nothing
  REQUIRE(Delete(*f.stub, "ev").ok());
  envelope = next();
  CHECK(envelope.topic == "/containers/delete");
  ::containerd::events::ContainerDelete remove;
  REQUIRE(events::UnpackEvent(envelope.event, &remove));
  CHECK(remove.id() == "ev");
}

}  // namespace
}  // namespace liman::containerd::services
