// The images service through real gRPC calls against an in-process daemon.
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "common/sha256.h"
#include "containerd/events/image.pb.h"
#include "containerd/services/images/images_service.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::images::v1;
using testing::ServiceFixture;

constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";

struct ImagesFixture {
  ImagesFixture() {
    fixture.Serve(MakeImagesService);
    fixture.Start();
    stub = api::Images::NewStub(fixture.channel());
  }
  ServiceFixture fixture;
  std::unique_ptr<api::Images::Stub> stub;
};

api::Image MakeImage(const std::string& name, const std::string& blob = "manifest") {
  api::Image image;
  image.set_name(name);
  image.mutable_target()->set_media_type(kManifestType);
  image.mutable_target()->set_digest("sha256:" + Sha256Hex(blob));
  image.mutable_target()->set_size(static_cast<int64_t>(blob.size()));
  return image;
}

grpc::Status Create(api::Images::Stub& stub, const api::Image& image, const std::string& ns = "default",
                    api::Image* created = nullptr) {
  api::CreateImageRequest request;
  *request.mutable_image() = image;
  api::CreateImageResponse response;
  grpc::Status status = stub.Create(ServiceFixture::Context(ns).get(), request, &response);
  if (created != nullptr) *created = response.image();
  return status;
}

grpc::Status Get(api::Images::Stub& stub, const std::string& name, api::Image* image,
                 const std::string& ns = "default") {
  api::GetImageRequest request;
  request.set_name(name);
  api::GetImageResponse response;
  grpc::Status status = stub.Get(ServiceFixture::Context(ns).get(), request, &response);
  *image = response.image();
  return status;
}

grpc::Status Update(api::Images::Stub& stub, const api::Image& image, std::initializer_list<const char*> paths,
                    api::Image* updated) {
  api::UpdateImageRequest request;
  *request.mutable_image() = image;
  for (const char* path : paths) request.mutable_update_mask()->add_paths(path);
  api::UpdateImageResponse response;
  grpc::Status status = stub.Update(ServiceFixture::Context().get(), request, &response);
  *updated = response.image();
  return status;
}

grpc::Status List(api::Images::Stub& stub, std::initializer_list<const char*> filters, std::vector<std::string>* names,
                  const std::string& ns = "default") {
  api::ListImagesRequest request;
  for (const char* filter : filters) request.add_filters(filter);
  api::ListImagesResponse response;
  grpc::Status status = stub.List(ServiceFixture::Context(ns).get(), request, &response);
  names->clear();
  for (const api::Image& image : response.images()) names->push_back(image.name());
  return status;
}

grpc::Status Delete(api::Images::Stub& stub, const std::string& name, bool sync = false) {
  api::DeleteImageRequest request;
  request.set_name(name);
  request.set_sync(sync);
  google::protobuf::Empty response;
  return stub.Delete(ServiceFixture::Context().get(), request, &response);
}

// Writes `blob` into namespace `ns`'s content (no lease: only references keep it).
void WriteBlob(ServiceFixture& fixture, const std::string& ns, const std::string& blob) {
  auto view = fixture.deps().db->ContentView(ns);
  REQUIRE(view.ok());
  std::string digest = "sha256:" + Sha256Hex(blob);
  auto writer = (*view)->Writer("ref-" + digest, static_cast<int64_t>(blob.size()), digest);
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Write(blob).ok());
  REQUIRE((*writer)->Commit(static_cast<int64_t>(blob.size()), digest, {}).ok());
}

bool HasBlob(ServiceFixture& fixture, const std::string& ns, const std::string& blob) {
  auto view = fixture.deps().db->ContentView(ns);
  REQUIRE(view.ok());
  return (*view)->Info("sha256:" + Sha256Hex(blob)).ok();
}

TEST_CASE("images: create, get, list, delete and their errors", "[images]") {
  ImagesFixture f;
  api::Image image = MakeImage("docker.io/library/alpine:3");
  (*image.mutable_labels())["tier"] = "web";
  (*image.mutable_target()->mutable_annotations())["org.opencontainers.image.ref.name"] = "3";

  api::Image created;
  grpc::Status status = Create(*f.stub, image, "default", &created);
  REQUIRE(status.ok());
  CHECK(created.name() == image.name());
  CHECK(created.target().digest() == image.target().digest());
  CHECK(created.created_at().seconds() > 0);
  CHECK(created.updated_at().seconds() > 0);

  status = Create(*f.stub, image);
  CHECK(status.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK_THAT(status.error_message(), Catch::Contains("alpine:3"));

  api::Image got;
  REQUIRE(Get(*f.stub, image.name(), &got).ok());
  CHECK(got.labels().at("tier") == "web");
  CHECK(got.target().media_type() == kManifestType);
  CHECK(got.target().size() == 8);
  CHECK(got.target().annotations().at("org.opencontainers.image.ref.name") == "3");
  CHECK(got.created_at().seconds() == created.created_at().seconds());

  status = Get(*f.stub, "docker.io/library/missing:1", &got);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), Catch::Contains("missing:1"));

  REQUIRE(Create(*f.stub, MakeImage("quay.io/x/y:1", "other")).ok());
  std::vector<std::string> names;
  REQUIRE(List(*f.stub, {}, &names).ok());
  CHECK(names == std::vector<std::string>{"docker.io/library/alpine:3", "quay.io/x/y:1"});
  REQUIRE(List(*f.stub, {"name~=^docker.io/"}, &names).ok());
  CHECK(names == std::vector<std::string>{"docker.io/library/alpine:3"});
  REQUIRE(List(*f.stub, {"labels.tier==web"}, &names).ok());
  CHECK(names == std::vector<std::string>{"docker.io/library/alpine:3"});
  // Several filters are OR-ed.
  REQUIRE(List(*f.stub, {"labels.tier==db", "name==quay.io/x/y:1"}, &names).ok());
  CHECK(names == std::vector<std::string>{"quay.io/x/y:1"});
  REQUIRE(List(*f.stub, {"target.digest==sha256:nope"}, &names).ok());
  CHECK(names.empty());

  status = List(*f.stub, {"labels. >"}, &names);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("parse error"));

  REQUIRE(Delete(*f.stub, "quay.io/x/y:1").ok());
  CHECK(Get(*f.stub, "quay.io/x/y:1", &got).error_code() == grpc::StatusCode::NOT_FOUND);
  status = Delete(*f.stub, "quay.io/x/y:1");
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), Catch::Contains("quay.io/x/y:1"));
}

TEST_CASE("images: malformed requests", "[images]") {
  ImagesFixture f;

  grpc::Status status = Create(*f.stub, MakeImage(""));
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() == "Image.Name required");

  api::Image image = MakeImage("a:1");
  image.mutable_target()->set_digest("sha256:not-hex");
  status = Create(*f.stub, image);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_FALSE(status.error_message().empty());

  api::Image no_target;
  no_target.set_name("a:2");
  CHECK(Create(*f.stub, no_target).error_code() == grpc::StatusCode::INVALID_ARGUMENT);

  api::Image updated;
  status = Update(*f.stub, MakeImage(""), {"labels"}, &updated);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message() == "Image.Name required");

  // No namespace: FailedPrecondition, as containerd's NamespaceRequired; a bad one: invalid.
  status = Create(*f.stub, MakeImage("a:3"), "");
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains("namespace is required"));
  api::Image got;
  CHECK(Get(*f.stub, "a:3", &got, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(Get(*f.stub, "a:3", &got, "bad namespace!").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  std::vector<std::string> names;
  CHECK(List(*f.stub, {}, &names, "").error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  CHECK(Get(*f.stub, "", &got).error_code() != grpc::StatusCode::OK);
  CHECK(Delete(*f.stub, "").error_code() != grpc::StatusCode::OK);
}

TEST_CASE("images: namespaces are isolated", "[images]") {
  ImagesFixture f;
  REQUIRE(Create(*f.stub, MakeImage("shared:1", "a"), "ns-a").ok());
  REQUIRE(Create(*f.stub, MakeImage("shared:1", "b"), "ns-b").ok());  // same name, another namespace

  api::Image got;
  REQUIRE(Get(*f.stub, "shared:1", &got, "ns-a").ok());
  CHECK(got.target().digest() == "sha256:" + Sha256Hex("a"));
  REQUIRE(Get(*f.stub, "shared:1", &got, "ns-b").ok());
  CHECK(got.target().digest() == "sha256:" + Sha256Hex("b"));
  CHECK(Get(*f.stub, "shared:1", &got, "default").error_code() == grpc::StatusCode::NOT_FOUND);

  std::vector<std::string> names;
  REQUIRE(List(*f.stub, {}, &names, "default").ok());
  CHECK(names.empty());
  REQUIRE(List(*f.stub, {}, &names, "ns-a").ok());
  CHECK(names == std::vector<std::string>{"shared:1"});
}

TEST_CASE("images: update applies the field mask as containerd does", "[images]") {
  ImagesFixture f;
  api::Image image = MakeImage("app:1");
  (*image.mutable_labels())["keep"] = "1";
  (*image.mutable_labels())["change"] = "old";
  (*image.mutable_target()->mutable_annotations())["a"] = "1";
  api::Image created;
  REQUIRE(Create(*f.stub, image, "default", &created).ok());

  // labels.<key>: that label only; an absent value removes it.
  api::Image patch = MakeImage("app:1", "ignored");
  (*patch.mutable_labels())["change"] = "new";
  (*patch.mutable_labels())["ignored"] = "x";
  api::Image updated;
  REQUIRE(Update(*f.stub, patch, {"labels.change", "labels.keep"}, &updated).ok());
  CHECK(updated.labels().size() == 1);
  CHECK(updated.labels().at("change") == "new");
  CHECK(updated.target().digest() == image.target().digest());  // not in the mask
  CHECK(updated.created_at().seconds() == created.created_at().seconds());

  // labels: the whole map.
  patch.mutable_labels()->clear();
  (*patch.mutable_labels())["only"] = "this";
  REQUIRE(Update(*f.stub, patch, {"labels"}, &updated).ok());
  CHECK(updated.labels().size() == 1);
  CHECK(updated.labels().at("only") == "this");

  // target: the whole descriptor.
  REQUIRE(Update(*f.stub, patch, {"target"}, &updated).ok());
  CHECK(updated.target().digest() == "sha256:" + Sha256Hex("ignored"));
  CHECK(updated.target().annotations().empty());

  // annotations: the target's annotations.
  (*patch.mutable_target()->mutable_annotations())["b"] = "2";
  REQUIRE(Update(*f.stub, patch, {"annotations"}, &updated).ok());
  CHECK(updated.target().annotations().size() == 1);
  CHECK(updated.target().annotations().at("b") == "2");

  // A path containerd does not know.
  grpc::Status status = Update(*f.stub, patch, {"name"}, &updated);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("name"));

  // No mask: everything but the creation time.
  api::Image whole = MakeImage("app:1", "whole");
  (*whole.mutable_labels())["w"] = "1";
  REQUIRE(Update(*f.stub, whole, {}, &updated).ok());
  CHECK(updated.target().digest() == "sha256:" + Sha256Hex("whole"));
  CHECK(updated.labels().size() == 1);
  CHECK(updated.created_at().seconds() == created.created_at().seconds());

  REQUIRE(Get(*f.stub, "app:1", &updated).ok());
  CHECK(updated.labels().at("w") == "1");

  CHECK(Update(*f.stub, MakeImage("missing:1"), {"labels"}, &updated).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("images: create, update and delete publish events", "[images]") {
  ImagesFixture f;
  std::unique_ptr<events::Subscription> subscription = f.fixture.deps().events->Subscribe();
  auto next = [&] {
    absl::StatusOr<events::Envelope> envelope = subscription->Next(absl::Now() + absl::Seconds(30));
    REQUIRE(envelope.ok());
    return *std::move(envelope);
  };

  api::Image image = MakeImage("ev:1");
  (*image.mutable_labels())["l"] = "v";
  REQUIRE(Create(*f.stub, image, "ns-ev").ok());
  events::Envelope envelope = next();
  CHECK(envelope.namespace_name == "ns-ev");
  CHECK(envelope.topic == "/images/create");
  ::containerd::services::images::v1::ImageCreate create;
  REQUIRE(events::UnpackEvent(envelope.event, &create));
  CHECK(create.name() == "ev:1");
  CHECK(create.labels().at("l") == "v");

  api::UpdateImageRequest update;
  *update.mutable_image() = image;
  (*update.mutable_image()->mutable_labels())["l"] = "w";
  update.mutable_update_mask()->add_paths("labels");
  api::UpdateImageResponse updated;
  REQUIRE(f.stub->Update(ServiceFixture::Context("ns-ev").get(), update, &updated).ok());
  envelope = next();
  CHECK(envelope.topic == "/images/update");
  ::containerd::services::images::v1::ImageUpdate update_event;
  REQUIRE(events::UnpackEvent(envelope.event, &update_event));
  CHECK(update_event.labels().at("l") == "w");

  api::DeleteImageRequest remove;
  remove.set_name("ev:1");
  google::protobuf::Empty empty;
  REQUIRE(f.stub->Delete(ServiceFixture::Context("ns-ev").get(), remove, &empty).ok());
  envelope = next();
  CHECK(envelope.topic == "/images/delete");
  ::containerd::services::images::v1::ImageDelete delete_event;
  REQUIRE(events::UnpackEvent(envelope.event, &delete_event));
  CHECK(delete_event.name() == "ev:1");

  // A failed call publishes nothing: the next event is the one after it.
  CHECK(Create(*f.stub, MakeImage(""), "ns-ev").error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  REQUIRE(Create(*f.stub, MakeImage("ev:2"), "ns-ev").ok());
  envelope = next();
  CHECK(envelope.topic == "/images/create");
  REQUIRE(events::UnpackEvent(envelope.event, &create));
  CHECK(create.name() == "ev:2");
}

TEST_CASE("images: a sync delete collects what only the image held", "[images]") {
  ImagesFixture f;
  WriteBlob(f.fixture, "default", "manifest-a");
  WriteBlob(f.fixture, "default", "manifest-b");
  REQUIRE(Create(*f.stub, MakeImage("a:1", "manifest-a")).ok());
  REQUIRE(Create(*f.stub, MakeImage("b:1", "manifest-b")).ok());

  // Without sync the blob waits for the next collection.
  REQUIRE(Delete(*f.stub, "b:1").ok());
  CHECK(HasBlob(f.fixture, "default", "manifest-b"));

  REQUIRE(Delete(*f.stub, "a:1", /*sync=*/true).ok());
  CHECK_FALSE(HasBlob(f.fixture, "default", "manifest-a"));
  CHECK_FALSE(HasBlob(f.fixture, "default", "manifest-b"));
}

}  // namespace
}  // namespace liman::containerd::services
