// The transfer service over real gRPC, pulling from Debian's docker-registry (the remotes test
// registry) into the fixture's content store and overlay snapshotter through the metadata DB.
#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "containerd/events/exchange.h"
#include "containerd/events/image.pb.h"
#include "containerd/remotes/platforms.h"
#include "containerd/remotes/tests/test_registry.h"
#include "containerd/remotes/unpacker.h"
#include "containerd/services/testing/service_fixture.h"
#include "containerd/services/transfer/transfer_service.h"
#include "liman/services/transfer/v1/transfer.grpc.pb.h"

namespace liman::containerd::services {
namespace {

namespace api = ::liman::services::transfer::v1;
using remotes::testing::MakeConfig;
using remotes::testing::MakeLayer;
using remotes::testing::MakeManifest;
using remotes::testing::TestBlob;
using remotes::testing::TestLayer;
using remotes::testing::TestRegistry;
using testing::ServiceFixture;
using Type = remotes::testing::TarEntry::Type;

// Incompressible bytes, so that a layer (and an export) spans several 1 MiB chunks.
std::string NoiseData(size_t size) {
  std::mt19937 random(42);
  std::string data(size, '\0');
  for (char& c : data) c = static_cast<char>(random());
  return data;
}

// A two-layer image for the host's platform (import unpacks for that platform).
struct TestImage {
  std::vector<TestLayer> layers = {
      MakeLayer({{.path = "etc", .type = Type::kDir, .mode = 0755}, {.path = "etc/hello", .data = "hello\n"}}),
      MakeLayer({{.path = "data", .type = Type::kDir, .mode = 0755},
                 {.path = "data/noise", .data = NoiseData(3 << 20)}}),
  };
  TestBlob config = MakeConfig({layers[0].diff_id, layers[1].diff_id}, remotes::DefaultPlatform().architecture);
  TestBlob manifest = MakeManifest(config, layers);
  std::string chain_id = remotes::ChainId({layers[0].diff_id, layers[1].diff_id});
};

// What a Pull or Push stream brought: its messages and how it ended.
template <typename Message>
struct StreamOutcome {
  grpc::Status status;
  std::vector<Message> messages;
};
using PullOutcome = StreamOutcome<api::PullProgress>;
using PushOutcome = StreamOutcome<api::PushProgress>;

template <typename Message>
StreamOutcome<Message> ReadAll(grpc::ClientReader<Message>& reader) {
  StreamOutcome<Message> outcome;
  Message message;
  while (reader.Read(&message)) outcome.messages.push_back(message);
  outcome.status = reader.Finish();
  return outcome;
}

class TransferClient {
 public:
  TransferClient() {
    fixture_.Serve(MakeTransferService);
    fixture_.Start();
    stub_ = api::Transfer::NewStub(fixture_.channel());
  }
  ServiceFixture& fixture() { return fixture_; }
  metadata::DB& db() { return *fixture_.deps().db; }

  PullOutcome Pull(const std::string& ref, const std::string& ns = "default",
                   const std::map<std::string, std::string>& labels = {}) {
    api::PullRequest request;
    request.set_ref(ref);
    request.set_platform("linux/" + remotes::DefaultPlatform().architecture);
    request.mutable_labels()->insert(labels.begin(), labels.end());
    auto context = ServiceFixture::Context(ns);
    return ReadAll(*stub_->Pull(context.get(), request));
  }

  PushOutcome Push(const std::string& name, const std::string& ref) {
    api::PushRequest request;
    request.set_name(name);
    request.set_ref(ref);
    auto context = ServiceFixture::Context("default");
    return ReadAll(*stub_->Push(context.get(), request));
  }

  grpc::Status Export(const std::vector<std::string>& names, std::string* archive, size_t* chunks = nullptr) {
    api::ExportRequest request;
    for (const std::string& name : names) request.add_names(name);
    auto context = ServiceFixture::Context("default");
    auto reader = stub_->Export(context.get(), request);
    api::ExportChunk chunk;
    size_t count = 0;
    while (reader->Read(&chunk)) {
      CHECK(chunk.data().size() <= (1u << 20));
      archive->append(chunk.data());
      ++count;
    }
    if (chunks != nullptr) *chunks = count;
    return reader->Finish();
  }

  grpc::Status Import(const std::string& archive, const std::string& ns, api::ImportResponse* response,
                      bool no_unpack = false) {
    auto context = ServiceFixture::Context(ns);
    auto writer = stub_->Import(context.get(), response);
    api::ImportRequest first;
    first.mutable_options()->set_no_unpack(no_unpack);
    first.mutable_options()->mutable_labels()->insert({"imported", "yes"});
    bool open = writer->Write(first);
    constexpr size_t kChunk = 100000;  // deliberately not a tar block multiple
    for (size_t offset = 0; open && offset < archive.size(); offset += kChunk) {
      api::ImportRequest request;
      request.set_data(archive.substr(offset, kChunk));
      open = writer->Write(request);
    }
    writer->WritesDone();
    return writer->Finish();
  }

 private:
  ServiceFixture fixture_;
  std::unique_ptr<api::Transfer::Stub> stub_;
};

void RequireOk(const grpc::Status& status) {
  INFO(status.error_code() << ": " << status.error_message());
  REQUIRE(status.ok());
}

template <typename Message>
std::vector<api::ContentProgress> AllProgress(const StreamOutcome<Message>& outcome) {
  std::vector<api::ContentProgress> all;
  for (const Message& message : outcome.messages) {
    all.insert(all.end(), message.progress().begin(), message.progress().end());
  }
  return all;
}

bool HasProgress(const std::vector<api::ContentProgress>& all, const std::string& status, const std::string& digest) {
  return std::any_of(all.begin(), all.end(),
                     [&](const api::ContentProgress& p) { return p.status() == status && p.digest() == digest; });
}

void RequireNoLeases(metadata::DB& db, const std::string& ns) {
  auto leases = db.Leases().List(ns, {});
  REQUIRE(leases.ok());
  CHECK(leases->empty());
}

void RequireSnapshot(metadata::DB& db, const std::string& ns, const std::string& chain_id) {
  auto snapshotter = db.SnapshotterView("overlayfs", ns);
  REQUIRE(snapshotter.ok());
  auto info = (*snapshotter)->Stat(chain_id);
  INFO(info.status().ToString());
  REQUIRE(info.ok());
  CHECK(info->kind == SnapshotKind::kCommitted);
}

std::string PushTestImage(const TestRegistry& registry, const TestImage& image, const std::string& tag = "v1") {
  absl::Status pushed = remotes::testing::PushImage(registry.addr(), "test/app", tag, image.layers, image.config,
                                                    image.manifest);
  INFO(pushed.ToString());
  REQUIRE(pushed.ok());
  return registry.addr() + "/test/app:" + tag;
}

TEST_CASE("transfer: pull records the image, unpacks it and streams progress", "[transfer]") {
  TestRegistry registry;
  TestImage image;
  std::string ref = PushTestImage(registry, image);
  TransferClient client;
  auto events = client.fixture().deps().events->Subscribe();

  PullOutcome outcome = client.Pull(ref, "default", {{"origin", "test"}});
  RequireOk(outcome.status);
  REQUIRE(!outcome.messages.empty());
  for (size_t i = 0; i + 1 < outcome.messages.size(); ++i) CHECK(!outcome.messages[i].has_result());

  const api::PullProgress& last = outcome.messages.back();
  REQUIRE(last.has_result());
  CHECK(last.result().name() == ref);
  CHECK(last.result().target().digest() == image.manifest.digest);
  CHECK(last.result().target().media_type() == image.manifest.media_type);
  CHECK(last.result().target().size() == image.manifest.size());
  CHECK(last.result().config_digest() == image.config.digest);
  CHECK(last.result().chain_id() == image.chain_id);

  std::vector<api::ContentProgress> all = AllProgress(outcome);
  CHECK(HasProgress(all, "resolved", image.manifest.digest));
  CHECK(HasProgress(all, "done", image.config.digest));
  for (const TestLayer& layer : image.layers) {
    CHECK(HasProgress(all, "downloading", layer.blob.digest));
    CHECK(HasProgress(all, "downloaded", layer.blob.digest));
  }

  auto recorded = client.db().Images().Get("default", ref);
  REQUIRE(recorded.ok());
  CHECK(recorded->target.digest == image.manifest.digest);
  CHECK(recorded->labels == Labels{{"origin", "test"}});
  RequireSnapshot(client.db(), "default", image.chain_id);

  // The content is the namespace's, not another's; the pull's lease is gone.
  auto content = client.db().ContentView("default");
  REQUIRE(content.ok());
  for (const std::string& digest : {image.manifest.digest, image.config.digest, image.layers[1].blob.digest}) {
    INFO(digest);
    CHECK((*content)->Info(digest).ok());
  }
  auto other = client.db().ContentView("other");
  REQUIRE(other.ok());
  CHECK(absl::IsNotFound((*other)->Info(image.layers[1].blob.digest).status()));
  RequireNoLeases(client.db(), "default");

  auto event = events->Next(absl::Now() + absl::Seconds(30));
  REQUIRE(event.ok());
  CHECK(event->topic == "/images/create");
  CHECK(event->namespace_name == "default");
  ::containerd::services::images::v1::ImageCreate create;
  REQUIRE(events::UnpackEvent(event->event, &create));
  CHECK(create.name() == ref);

  SECTION("pulling again updates the record and skips the unpacked layers") {
    PullOutcome again = client.Pull(ref);
    RequireOk(again.status);
    REQUIRE(again.messages.back().has_result());
    CHECK(again.messages.back().result().target().digest() == image.manifest.digest);
    std::vector<api::ContentProgress> progress = AllProgress(again);
    CHECK(HasProgress(progress, "exists", image.layers[1].blob.digest));
    CHECK(!HasProgress(progress, "downloading", image.layers[1].blob.digest));
    auto update = events->Next(absl::Now() + absl::Seconds(30));
    REQUIRE(update.ok());
    CHECK(update->topic == "/images/update");
    auto images = client.db().Images().List("default", {});
    REQUIRE(images.ok());
    CHECK(images->size() == 1);
    CHECK(images->front().labels.empty());  // replaced as containerd's client replaces it
    RequireNoLeases(client.db(), "default");
  }
}

TEST_CASE("transfer: failed pulls name the reference and record nothing", "[transfer]") {
  TestRegistry registry;
  TestImage image;
  PushTestImage(registry, image);
  TransferClient client;

  SECTION("a missing tag is NotFound") {
    std::string ref = registry.addr() + "/test/app:missing";
    PullOutcome outcome = client.Pull(ref);
    CHECK(outcome.status.error_code() == grpc::StatusCode::NOT_FOUND);
    INFO(outcome.status.error_message());
    CHECK(outcome.status.error_message().find(ref) != std::string::npos);
  }
  SECTION("a missing repository is NotFound") {
    PullOutcome outcome = client.Pull(registry.addr() + "/test/nothing:v1");
    CHECK(outcome.status.error_code() == grpc::StatusCode::NOT_FOUND);
  }
  SECTION("a malformed reference is InvalidArgument") {
    PullOutcome outcome = client.Pull("UPPER/case::x");
    CHECK(outcome.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    INFO(outcome.status.error_message());
    CHECK(outcome.status.error_message().find("UPPER/case::x") != std::string::npos);
  }
  SECTION("a bad platform is InvalidArgument") {
    api::PullRequest request;
    request.set_ref(registry.addr() + "/test/app:v1");
    request.set_platform("linux/amd64/v1/extra");
    auto context = ServiceFixture::Context();
    auto stub = api::Transfer::NewStub(client.fixture().channel());
    auto reader = stub->Pull(context.get(), request);
    api::PullProgress message;
    while (reader->Read(&message)) {
    }
    CHECK(reader->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("a call without namespace is refused") {
    PullOutcome outcome = client.Pull(registry.addr() + "/test/app:v1", "");
    CHECK(outcome.status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  }
  auto images = client.db().Images().List("default", {});
  REQUIRE(images.ok());
  CHECK(images->empty());
  RequireNoLeases(client.db(), "default");
}

TEST_CASE("transfer: push sends a recorded image to a registry, where a pull finds it", "[transfer]") {
  TestRegistry registry;
  TestImage image;
  std::string ref = PushTestImage(registry, image);
  TransferClient client;
  RequireOk(client.Pull(ref).status);

  // Within the registry the layers are mounted from the repository they came from.
  std::string copy = registry.addr() + "/test/copy:v2";
  PushOutcome pushed = client.Push(ref, copy);
  RequireOk(pushed.status);
  REQUIRE(!pushed.messages.empty());
  for (size_t i = 0; i + 1 < pushed.messages.size(); ++i) CHECK(!pushed.messages[i].has_pushed());
  REQUIRE(pushed.messages.back().has_pushed());
  CHECK(pushed.messages.back().pushed().digest() == image.manifest.digest);
  std::vector<api::ContentProgress> progress = AllProgress(pushed);
  for (const TestLayer& layer : image.layers) {
    auto mounted = std::find_if(progress.begin(), progress.end(), [&](const api::ContentProgress& p) {
      return p.status() == "mounted" && p.digest() == layer.blob.digest;
    });
    REQUIRE(mounted != progress.end());
    CHECK(mounted->source() == "test/app");
  }
  CHECK(HasProgress(progress, "done", image.manifest.digest));
  RequireNoLeases(client.db(), "default");

  // To another registry they are uploaded (the 3 MiB layer in several reported pieces).
  TestRegistry other;
  PushOutcome uploaded = client.Push(ref, other.addr() + "/moved/app:v1");
  RequireOk(uploaded.status);
  progress = AllProgress(uploaded);
  for (const TestLayer& layer : image.layers) CHECK(HasProgress(progress, "uploaded", layer.blob.digest));
  CHECK(HasProgress(progress, "uploading", image.layers[1].blob.digest));
  TransferClient elsewhere;
  PullOutcome back = elsewhere.Pull(other.addr() + "/moved/app:v1");
  RequireOk(back.status);
  CHECK(back.messages.back().result().chain_id() == image.chain_id);

  SECTION("an image the namespace does not have is NotFound, naming it") {
    PushOutcome missing = client.Push(registry.addr() + "/test/app:nope", "");
    CHECK(missing.status.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(missing.status.error_message().find(registry.addr() + "/test/app:nope") != std::string::npos);
  }
  SECTION("no name is InvalidArgument") {
    CHECK(client.Push("", copy).status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_CASE("transfer: export then import into another namespace round-trips", "[transfer]") {
  TestRegistry registry;
  TestImage image;
  std::string ref = PushTestImage(registry, image);
  TransferClient client;
  RequireOk(client.Pull(ref).status);

  std::string archive;
  size_t chunks = 0;
  RequireOk(client.Export({ref}, &archive, &chunks));
  CHECK(chunks >= 3);  // the 3 MiB layer spans several chunks
  CHECK(archive.size() > (3u << 20));

  api::ImportResponse response;
  RequireOk(client.Import(archive, "other", &response));
  REQUIRE(response.images_size() == 1);
  CHECK(response.images(0).name() == ref);
  CHECK(response.images(0).target().digest() == image.manifest.digest);
  CHECK(response.images(0).config_digest() == image.config.digest);
  CHECK(response.images(0).chain_id() == image.chain_id);

  auto imported = client.db().Images().Get("other", ref);
  REQUIRE(imported.ok());
  CHECK(imported->target.digest == image.manifest.digest);
  CHECK(imported->labels == Labels{{"imported", "yes"}});
  RequireSnapshot(client.db(), "other", image.chain_id);
  RequireNoLeases(client.db(), "other");

  SECTION("importing again without unpack updates the target only") {
    api::ImportResponse again;
    RequireOk(client.Import(archive, "other", &again, /*no_unpack=*/true));
    REQUIRE(again.images_size() == 1);
    CHECK(again.images(0).chain_id().empty());
    CHECK(again.images(0).target().digest() == image.manifest.digest);
  }
  SECTION("exporting an unknown image is NotFound") {
    std::string ignored;
    grpc::Status status = client.Export({ref, "docker.io/library/nothing:latest"}, &ignored);
    CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
    INFO(status.error_message());
    CHECK(status.error_message().find("docker.io/library/nothing:latest") != std::string::npos);
  }
}

TEST_CASE("transfer: importing garbage is InvalidArgument and records nothing", "[transfer]") {
  TransferClient client;
  api::ImportResponse response;
  SECTION("random bytes") {
    grpc::Status status = client.Import(NoiseData(300000), "default", &response);
    INFO(status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("a tar that is not an image archive") {
    std::string tar = remotes::testing::MakeTar({{.path = "hello.txt", .data = "hi"}});
    grpc::Status status = client.Import(tar, "default", &response);
    INFO(status.error_message());
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  SECTION("an empty stream") {
    auto context = ServiceFixture::Context();
    auto stub = api::Transfer::NewStub(client.fixture().channel());
    auto writer = stub->Import(context.get(), &response);
    writer->WritesDone();
    CHECK(writer->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
  auto images = client.db().Images().List("default", {});
  REQUIRE(images.ok());
  CHECK(images->empty());
  RequireNoLeases(client.db(), "default");
}

}  // namespace
}  // namespace liman::containerd::services
