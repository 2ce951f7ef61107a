// The events service through real gRPC calls against an in-process daemon, with the images
// service publishing too.
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "containerd/events/image.pb.h"
#include "containerd/events/task.pb.h"
#include "containerd/services/events/envelope_adaptor.h"
#include "containerd/services/events/events_service.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/images/images_service.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/testing/service_fixture.h"
#include "shim/proto_time.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::events::v1;
namespace images_api = ::containerd::services::images::v1;
using testing::ServiceFixture;

struct EventsFixture {
  EventsFixture() {
    fixture.Serve(MakeEventsService);
    fixture.Serve(MakeImagesService);
    fixture.Start();
    stub = api::Events::NewStub(fixture.channel());
    images = images_api::Images::NewStub(fixture.channel());
  }
  ServiceFixture fixture;
  std::unique_ptr<api::Events::Stub> stub;
  std::unique_ptr<images_api::Images::Stub> images;
};

// A live Subscribe call. The server sends its headers once the subscription is in place, so
// after the constructor everything published reaches it: no sleeping for it to start.
struct Subscriber {
  Subscriber(api::Events::Stub& stub, std::initializer_list<const char*> filters) {
    api::SubscribeRequest request;
    for (const char* filter : filters) request.add_filters(filter);
    context = ServiceFixture::Context("");
    reader = stub.Subscribe(context.get(), request);
    reader->WaitForInitialMetadata();
  }
  api::Envelope Next() {
    api::Envelope envelope;
    REQUIRE(reader->Read(&envelope));
    return envelope;
  }
  std::unique_ptr<grpc::ClientContext> context;
  std::unique_ptr<grpc::ClientReader<api::Envelope>> reader;
};

::containerd::events::TaskExit MakeExit(const std::string& container_id, uint32_t status) {
  ::containerd::events::TaskExit exit;
  exit.set_container_id(container_id);
  exit.set_id(container_id);
  exit.set_pid(42);
  exit.set_exit_status(status);
  return exit;
}

grpc::Status Publish(api::Events::Stub& stub, const std::string& ns, const std::string& topic,
                     const google::protobuf::Message& event) {
  api::PublishRequest request;
  request.set_topic(topic);
  *request.mutable_event() = events::PackEvent(event);
  google::protobuf::Empty empty;
  return stub.Publish(ServiceFixture::Context(ns).get(), request, &empty);
}

grpc::Status CreateImage(images_api::Images::Stub& stub, const std::string& ns, const std::string& name,
                         const std::string& tier) {
  images_api::CreateImageRequest request;
  request.mutable_image()->set_name(name);
  (*request.mutable_image()->mutable_labels())["tier"] = tier;
  request.mutable_image()->mutable_target()->set_media_type("application/vnd.oci.image.manifest.v1+json");
  request.mutable_image()->mutable_target()->set_digest(
      "sha256:0000000000000000000000000000000000000000000000000000000000000000");
  request.mutable_image()->mutable_target()->set_size(1);
  images_api::CreateImageResponse response;
  return stub.Create(ServiceFixture::Context(ns).get(), request, &response);
}

TEST_CASE("events: a subscription sees what the images service and Publish publish", "[events]") {
  EventsFixture f;
  Subscriber all(*f.stub, {});

  REQUIRE(CreateImage(*f.images, "default", "docker.io/library/busybox:1", "web").ok());
  api::Envelope envelope = all.Next();
  CHECK(envelope.namespace_() == "default");
  CHECK(envelope.topic() == "/images/create");
  CHECK(envelope.timestamp().seconds() > 0);
  ::containerd::services::images::v1::ImageCreate create;
  REQUIRE(events::UnpackEvent(envelope.event(), &create));
  CHECK(create.name() == "docker.io/library/busybox:1");
  CHECK(create.labels().at("tier") == "web");

  REQUIRE(Publish(*f.stub, "other", "/tasks/exit", MakeExit("c1", 3)).ok());
  envelope = all.Next();
  CHECK(envelope.namespace_() == "other");  // the publisher's namespace
  CHECK(envelope.topic() == "/tasks/exit");
  CHECK(envelope.event().type_url() == "containerd.events.TaskExit");  // as the client packed it
  ::containerd::events::TaskExit exit;
  REQUIRE(events::UnpackEvent(envelope.event(), &exit));
  CHECK(exit.container_id() == "c1");
  CHECK(exit.exit_status() == 3);

  all.context->TryCancel();
  grpc::Status status = all.reader->Finish();
  CHECK(status.error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("events: subscription filters on topic, namespace and event fields", "[events]") {
  EventsFixture f;
  Subscriber exits(*f.stub, {"topic==\"/tasks/exit\""});
  Subscriber other_ns(*f.stub, {"namespace==other"});
  Subscriber by_container(*f.stub, {"event.container_id==c2"});
  Subscriber by_label(*f.stub, {"topic~=^/images/,event.labels.tier==db"});
  Subscriber either(*f.stub, {"event.name==img-b", "event.id==c1"});

  REQUIRE(CreateImage(*f.images, "default", "img-a", "web").ok());
  REQUIRE(Publish(*f.stub, "default", "/tasks/exit", MakeExit("c1", 0)).ok());
  REQUIRE(CreateImage(*f.images, "other", "img-b", "db").ok());
  REQUIRE(Publish(*f.stub, "other", "/tasks/exit", MakeExit("c2", 1)).ok());

  // Each subscriber's events come in publishing order, so the first one it gets shows that
  // the ones published before were filtered out.
  ::containerd::events::TaskExit exit;
  api::Envelope envelope = exits.Next();
  REQUIRE(events::UnpackEvent(envelope.event(), &exit));
  CHECK(exit.container_id() == "c1");
  envelope = exits.Next();
  REQUIRE(events::UnpackEvent(envelope.event(), &exit));
  CHECK(exit.container_id() == "c2");

  envelope = other_ns.Next();
  CHECK(envelope.topic() == "/images/create");
  CHECK(envelope.namespace_() == "other");
  envelope = other_ns.Next();
  CHECK(envelope.topic() == "/tasks/exit");

  envelope = by_container.Next();
  REQUIRE(events::UnpackEvent(envelope.event(), &exit));
  CHECK(exit.container_id() == "c2");
  CHECK(envelope.namespace_() == "other");

  envelope = by_label.Next();
  ::containerd::services::images::v1::ImageCreate create;
  REQUIRE(events::UnpackEvent(envelope.event(), &create));
  CHECK(create.name() == "img-b");

  envelope = either.Next();
  CHECK(envelope.topic() == "/tasks/exit");
  envelope = either.Next();
  CHECK(envelope.topic() == "/images/create");
}

TEST_CASE("events: Forward passes the envelope on as given", "[events]") {
  EventsFixture f;
  Subscriber subscriber(*f.stub, {"namespace==forwarded"});

  api::ForwardRequest request;
  api::Envelope* envelope = request.mutable_envelope();
  *envelope->mutable_timestamp() = shim::ToProtoTimestamp(absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(5));
  envelope->set_namespace_("forwarded");
  envelope->set_topic("/tasks/exit");
  *envelope->mutable_event() = events::PackEvent(MakeExit("shim-c", 9));
  google::protobuf::Empty empty;
  // The call's own namespace plays no part in a forward.
  REQUIRE(f.stub->Forward(ServiceFixture::Context("default").get(), request, &empty).ok());

  api::Envelope got = subscriber.Next();
  CHECK(got.namespace_() == "forwarded");
  CHECK(got.topic() == "/tasks/exit");
  CHECK(got.timestamp().seconds() == 1700000000);
  CHECK(got.timestamp().nanos() == 5);
  ::containerd::events::TaskExit exit;
  REQUIRE(events::UnpackEvent(got.event(), &exit));
  CHECK(exit.exit_status() == 9);

  api::ForwardRequest no_time = request;
  no_time.mutable_envelope()->clear_timestamp();
  grpc::Status status = f.stub->Forward(ServiceFixture::Context().get(), no_time, &empty);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("timestamp"));

  api::ForwardRequest bad_namespace = request;
  bad_namespace.mutable_envelope()->set_namespace_("");
  CHECK(f.stub->Forward(ServiceFixture::Context().get(), bad_namespace, &empty).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  api::ForwardRequest bad_topic = request;
  bad_topic.mutable_envelope()->set_topic("tasks/exit");
  CHECK(f.stub->Forward(ServiceFixture::Context().get(), bad_topic, &empty).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("events: malformed requests", "[events]") {
  EventsFixture f;
  grpc::Status status = Publish(*f.stub, "", "/tasks/exit", MakeExit("c", 0));
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains("namespace is required"));
  CHECK(Publish(*f.stub, "bad ns", "/tasks/exit", MakeExit("c", 0)).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  for (const char* topic : {"", "/", "tasks/exit", "/tasks//exit", "/tasks/exit!"}) {
    INFO(topic);
    status = Publish(*f.stub, "default", topic, MakeExit("c", 0));
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_FALSE(status.error_message().empty());
  }

  api::SubscribeRequest request;
  request.add_filters("topic==");
  std::unique_ptr<grpc::ClientContext> context = ServiceFixture::Context("");
  std::unique_ptr<grpc::ClientReader<api::Envelope>> reader = f.stub->Subscribe(context.get(), request);
  api::Envelope envelope;
  CHECK_FALSE(reader->Read(&envelope));
  status = reader->Finish();
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("parse error"));
}

TEST_CASE("events: daemon shutdown ends live subscriptions", "[events]") {
  EventsFixture f;
  Subscriber first(*f.stub, {});
  Subscriber second(*f.stub, {"topic==\"/never\""});
  REQUIRE(f.fixture.deps().events->subscriber_count() == 2);

  // Without the shutdown hook the streams would hold this for its whole grace period and then
  // be cancelled; with it they end at once, telling the clients why.
  f.fixture.deps().daemon->Shutdown(absl::Minutes(1));
  for (Subscriber* subscriber : {&first, &second}) {
    api::Envelope envelope;
    CHECK_FALSE(subscriber->reader->Read(&envelope));
    grpc::Status status = subscriber->reader->Finish();
    CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
    CHECK_THAT(status.error_message(), Catch::Contains("shutting down"));
  }
  CHECK(f.fixture.deps().events->subscriber_count() == 0);
}

TEST_CASE("events: envelope fields as containerd's Envelope.Field", "[events]") {
  events::Envelope envelope;
  envelope.namespace_name = "ns";
  envelope.topic = "/images/create";
  ::containerd::services::images::v1::ImageCreate create;
  create.set_name("img");
  create.mutable_labels()->insert({"a.b", "c"});
  envelope.event = events::PackEvent(create);
  filters::Adaptor adaptor = AdaptEnvelope(envelope);

  using Path = std::vector<std::string>;
  CHECK(adaptor(Path{"namespace"}) == "ns");
  CHECK(adaptor(Path{"topic"}) == "/images/create");
  CHECK(adaptor(Path{"event", "name"}) == "img");
  CHECK(adaptor(Path{"event", "labels", "a", "b"}) == "c");
  CHECK(adaptor(Path{"event", "labels", "a.b"}) == "c");
  CHECK_FALSE(adaptor(Path{"event", "labels", "x"}));
  CHECK_FALSE(adaptor(Path{"event", "nope"}));
  CHECK_FALSE(adaptor(Path{"timestamp"}));
  CHECK_FALSE(adaptor(Path{}));

  // Numbers are not addressable; empty strings are absent; unknown event types expose nothing.
  events::Envelope exit_envelope;
  exit_envelope.event = events::PackEvent(MakeExit("", 1));
  filters::Adaptor exit_adaptor = AdaptEnvelope(exit_envelope);
  CHECK_FALSE(exit_adaptor(Path{"event", "pid"}));
  CHECK_FALSE(exit_adaptor(Path{"event", "container_id"}));
  CHECK_FALSE(exit_adaptor(Path{"namespace"}));
  events::Envelope unknown;
  unknown.event.set_type_url("example.com/Unknown");
  CHECK_FALSE(AdaptEnvelope(unknown)(Path{"event", "name"}));
}

}  // namespace
}  // namespace liman::containerd::services
