// End to end: images the test builds are pushed to Debian's docker-registry and pulled into the
// real content store (LocalStore) and overlay snapshotter; and pushed from there (remotes::Push)
// to registries and pulled back.
#include "containerd/remotes/pull.h"
#include "containerd/remotes/push.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/mount.h"
#include "containerd/content/local_store.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/tests/test_registry.h"
#include "containerd/remotes/tests/test_stores.h"
#include "containerd/snapshots/overlay_snapshotter.h"

namespace liman::containerd::remotes {
namespace {

using testing::MakeConfig;
using testing::MakeIndex;
using testing::MakeLayer;
using testing::MakeManifest;
using testing::RequireOk;
using testing::Stores;
using testing::TarEntry;
using testing::TempDir;
using testing::TestBlob;
using testing::TestLayer;
using testing::TestRegistry;
using Stage = PullProgress::Stage;
using Type = TarEntry::Type;

constexpr char kSourceLabel[] = "containerd.io/distribution.source.127.0.0.1";

struct Recorder {
  std::mutex mutex;
  std::vector<PullProgress> events;
  std::function<void(const PullProgress&)> Callback() {
    return [this](const PullProgress& p) {
      std::lock_guard lock(mutex);
      events.push_back(p);
    };
  }
  size_t Count(Stage stage) {
    return std::count_if(events.begin(), events.end(), [&](const PullProgress& p) { return p.stage == stage; });
  }
  size_t Count(Stage stage, const std::string& digest) {
    return std::count_if(events.begin(), events.end(),
                         [&](const PullProgress& p) { return p.stage == stage && p.digest == digest; });
  }
};

// Layers exercising files, modes, links, a whiteout and an opaque directory.
std::vector<TestLayer> BaseLayers() {
  return {
      MakeLayer({{.path = "etc", .type = Type::kDir, .mode = 0755},
                 {.path = "etc/os-release", .data = "ID=liman\n"},
                 {.path = "etc/gone", .data = "deleted by layer 2"},
                 {.path = "bin", .type = Type::kDir, .mode = 0755},
                 {.path = "bin/tool", .data = "#!/bin/sh\necho tool\n", .mode = 0755},
                 {.path = "bin/link", .type = Type::kSymlink, .data = "tool"},
                 {.path = "bin/hard", .type = Type::kHardlink, .data = "bin/tool"},
                 {.path = "var", .type = Type::kDir, .mode = 0755},
                 {.path = "var/old", .data = "hidden by layer 3"}}),
      MakeLayer({{.path = "etc", .type = Type::kDir, .mode = 0755},
                 {.path = "etc/.wh.gone", .data = ""},
                 {.path = "etc/new", .data = "added by layer 2"}}),
      MakeLayer({{.path = "var", .type = Type::kDir, .mode = 0755},
                 {.path = "var/.wh..wh..opq", .data = ""},
                 {.path = "var/keep", .data = "layer 3"}}),
  };
}

std::map<std::string, std::string> BaseTree() {
  return {{"etc", "d"},
          {"etc/os-release", "f:ID=liman\n"},
          {"etc/new", "f:added by layer 2"},
          {"bin", "d"},
          {"bin/tool", "f:#!/bin/sh\necho tool\n"},
          {"bin/link", "l:tool"},
          {"bin/hard", "f:#!/bin/sh\necho tool\n"},
          {"var", "d"},
          {"var/keep", "f:layer 3"}};
}

std::vector<std::string> DiffIds(const std::vector<TestLayer>& layers) {
  std::vector<std::string> ids;
  for (const TestLayer& layer : layers) ids.push_back(layer.diff_id);
  return ids;
}

PullOptions Options(Recorder* recorder = nullptr) {
  PullOptions options;
  options.platform = Platform{.os = "linux", .architecture = "amd64"};
  options.registry.docker_config = "/nonexistent/config.json";
  options.max_concurrent_downloads = 2;
  if (recorder != nullptr) options.progress = recorder->Callback();
  return options;
}

absl::StatusOr<PullResult> PullInto(Stores& stores, const std::string& ref, const PullOptions& options,
                                    bool with_staging = true) {
  return Pull(ref, options, *stores.content, *stores.snapshots, with_staging ? stores.snapshots.get() : nullptr,
              "overlayfs");
}

// A multi-platform image: an OCI index with an arm64 manifest first and the amd64 one second.
struct MultiPlatformImage {
  std::vector<TestLayer> layers = BaseLayers();
  TestBlob config = MakeConfig(DiffIds(layers));
  TestBlob manifest = MakeManifest(config, layers);
  TestLayer arm_layer = MakeLayer({{.path = "arm", .data = "arm64 only"}});
  TestBlob arm_config = MakeConfig({arm_layer.diff_id}, "arm64");
  TestBlob arm_manifest = MakeManifest(arm_config, {arm_layer});
  TestBlob index = MakeIndex({{arm_manifest, "linux/arm64"}, {manifest, "linux/amd64"}});

  void Push(const std::string& registry, const std::string& repo, const std::string& tag) {
    RequireOk(testing::PushImage(registry, repo, manifest.digest, layers, config, manifest));
    RequireOk(testing::PushImage(registry, repo, arm_manifest.digest, {arm_layer}, arm_config, arm_manifest));
    RequireOk(testing::PushManifest(registry, repo, tag, index));
  }
};

TEST_CASE("pull: an OCI index into the content store and overlay snapshots, with containerd's labels") {
  TestRegistry registry;
  MultiPlatformImage image;
  image.Push(registry.addr(), "test/app", "v1");
  Stores stores;
  Recorder recorder;
  std::string ref = registry.addr() + "/test/app:v1";

  PullResult result = RequireOk(PullInto(stores, ref, Options(&recorder)));
  std::vector<std::string> chain = ChainIds(DiffIds(image.layers));
  CHECK(result.name == ref);
  CHECK(result.target.digest == image.index.digest);
  CHECK(result.target.media_type == image.index.media_type);
  CHECK(result.target.size == image.index.size());
  CHECK(result.manifest.digest == image.manifest.digest);
  CHECK(result.config_digest == image.config.digest);
  CHECK(result.chain_id == chain.back());

  // The snapshots: the chain, committed, labelled as containerd labels them.
  std::vector<SnapshotInfo> snapshots = stores.AllSnapshots();
  REQUIRE(snapshots.size() == 3);
  for (size_t i = 0; i < chain.size(); ++i) {
    SnapshotInfo info = RequireOk(stores.snapshots->Stat(chain[i]));
    CHECK(info.kind == SnapshotKind::kCommitted);
    CHECK(info.parent == (i == 0 ? "" : chain[i - 1]));
    CHECK(info.labels.at("containerd.io/snapshot.ref") == chain[i]);
  }
  CHECK(stores.Tree(result.chain_id) == BaseTree());

  // The content: index, amd64 manifest, config and layers with their GC and source labels.
  Labels index_labels = stores.LabelsOf(image.index.digest);
  CHECK(index_labels.at("containerd.io/gc.ref.content.m.0") == image.arm_manifest.digest);
  CHECK(index_labels.at("containerd.io/gc.ref.content.m.1") == image.manifest.digest);
  CHECK(index_labels.at(kSourceLabel) == "test/app");
  Labels manifest_labels = stores.LabelsOf(image.manifest.digest);
  CHECK(manifest_labels.at("containerd.io/gc.ref.content.config") == image.config.digest);
  for (size_t i = 0; i < image.layers.size(); ++i) {
    CHECK(manifest_labels.at(fmt::format("containerd.io/gc.ref.content.l.{}", i)) == image.layers[i].blob.digest);
    Labels layer_labels = stores.LabelsOf(image.layers[i].blob.digest);
    CHECK(layer_labels.at("containerd.io/uncompressed") == image.layers[i].diff_id);
    CHECK(layer_labels.at(kSourceLabel) == "test/app");
    CHECK(RequireOk(stores.content->Info(image.layers[i].blob.digest)).size == image.layers[i].blob.size());
  }
  Labels config_labels = stores.LabelsOf(image.config.digest);
  CHECK(config_labels.at("containerd.io/gc.ref.snapshot.overlayfs") == result.chain_id);
  CHECK(config_labels.at(kSourceLabel) == "test/app");
  // The other platform's content was not fetched.
  CHECK_FALSE(stores.HasBlob(image.arm_manifest.digest));
  CHECK_FALSE(stores.HasBlob(image.arm_config.digest));
  CHECK_FALSE(stores.HasBlob(image.arm_layer.blob.digest));
  stores.CheckNothingPending();

  CHECK(recorder.Count(Stage::kResolved, image.index.digest) == 1);
  CHECK(recorder.Count(Stage::kDownloaded) == 3);
  CHECK(recorder.Count(Stage::kUnpacked) == 3);
  CHECK(recorder.Count(Stage::kCommitted) == 3);
  CHECK(recorder.Count(Stage::kDone, image.config.digest) == 1);

  SECTION("the arm64 manifest for another platform") {
    PullOptions arm = Options();
    arm.platform = Platform{.os = "linux", .architecture = "arm64"};
    PullResult arm_result = RequireOk(PullInto(stores, ref, arm));
    CHECK(arm_result.manifest.digest == image.arm_manifest.digest);
    CHECK(stores.Tree(arm_result.chain_id) == std::map<std::string, std::string>{{"arm", "f:arm64 only"}});
  }
  SECTION("the same image by digest") {
    Recorder again;
    std::string pinned = registry.addr() + "/test/app@" + image.index.digest;
    PullResult by_digest = RequireOk(PullInto(stores, pinned, Options(&again)));
    CHECK(by_digest.name == pinned);
    CHECK(by_digest.target.digest == image.index.digest);
    CHECK(by_digest.chain_id == result.chain_id);
    CHECK(again.Count(Stage::kExists) == 3);
  }
  SECTION("a platform the index lacks") {
    PullOptions s390x = Options();
    s390x.platform = Platform{.os = "linux", .architecture = "s390x"};
    absl::Status status = PullInto(stores, ref, s390x).status();
    CHECK(status.code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(status.message()), Catch::Contains("no match for platform linux/s390x"));
  }
}

TEST_CASE("pull: existing snapshots are skipped, shared layers are not fetched again") {
  TestRegistry registry;
  MultiPlatformImage image;
  image.Push(registry.addr(), "test/app", "v1");
  Stores stores;
  RequireOk(PullInto(stores, registry.addr() + "/test/app:v1", Options()).status());

  SECTION("pulling the same image again fetches no layer") {
    Recorder recorder;
    PullResult again = RequireOk(PullInto(stores, registry.addr() + "/test/app:v1", Options(&recorder)));
    CHECK(recorder.Count(Stage::kExists) == 3);
    CHECK(recorder.Count(Stage::kDownloading) == 0);
    CHECK(stores.AllSnapshots().size() == 3);
    CHECK(stores.LabelsOf(image.config.digest).at("containerd.io/gc.ref.snapshot.overlayfs") == again.chain_id);
  }

  SECTION("an image sharing the base layers, in Docker schema 2 media types, fetches only its own") {
    std::vector<TestLayer> layers = {
        image.layers[0], image.layers[1],
        MakeLayer({{.path = "app", .type = Type::kDir, .mode = 0755}, {.path = "app/main", .data = "second image"}})};
    TestBlob config = MakeConfig(DiffIds(layers));
    TestBlob manifest = MakeManifest(config, layers, "application/vnd.docker.distribution.manifest.v2+json");
    TestBlob list = MakeIndex({{manifest, "linux/amd64"}}, "application/vnd.docker.distribution.manifest.list.v2+json");
    RequireOk(testing::PushImage(registry.addr(), "test/other", manifest.digest, layers, config, manifest));
    RequireOk(testing::PushManifest(registry.addr(), "test/other", "latest", list));

    Recorder recorder;
    PullResult other = RequireOk(PullInto(stores, registry.addr() + "/test/other", Options(&recorder)));
    CHECK(other.name == registry.addr() + "/test/other:latest");
    CHECK(other.target.media_type == "application/vnd.docker.distribution.manifest.list.v2+json");
    CHECK(recorder.Count(Stage::kExists) == 2);
    CHECK(recorder.Count(Stage::kDownloaded) == 1);
    CHECK(recorder.Count(Stage::kDownloaded, layers[2].blob.digest) == 1);
    std::map<std::string, std::string> tree = stores.Tree(other.chain_id);
    CHECK(tree.at("app/main") == "f:second image");
    CHECK(tree.at("etc/new") == "f:added by layer 2");
    CHECK(tree.count("var/old") == 1);  // the third base layer is not in this image
    CHECK(stores.LabelsOf(layers[2].blob.digest).at("containerd.io/uncompressed") == layers[2].diff_id);
    CHECK(stores.AllSnapshots().size() == 4);

    // A layer whose blob is in the content store but whose snapshot is gone is unpacked from
    // the store, not fetched.
    RequireOk(stores.snapshots->Remove(other.chain_id));
    Recorder again;
    RequireOk(PullInto(stores, registry.addr() + "/test/other", Options(&again)).status());
    CHECK(again.Count(Stage::kDownloading) == 0);
    CHECK(again.Count(Stage::kUnpacked, layers[2].blob.digest) == 1);
    CHECK(stores.Tree(other.chain_id).at("app/main") == "f:second image");
    stores.CheckNothingPending();
  }
}

TEST_CASE("pull: without staging directories layers are unpacked one after the other through mounts") {
  TestRegistry registry;
  MultiPlatformImage image;
  image.Push(registry.addr(), "test/app", "v1");
  Stores stores;
  Recorder recorder;
  PullResult result = RequireOk(PullInto(stores, registry.addr() + "/test/app:v1", Options(&recorder), false));
  CHECK(stores.Tree(result.chain_id) == BaseTree());
  CHECK(recorder.Count(Stage::kCommitted) == 3);
  for (const TestLayer& layer : image.layers) {
    CHECK(stores.LabelsOf(layer.blob.digest).at("containerd.io/uncompressed") == layer.diff_id);
  }
  stores.CheckNothingPending();
}

TEST_CASE("pull: a corrupt blob fails cleanly, naming the layer") {
  TestRegistry registry;
  std::vector<TestLayer> layers = BaseLayers();
  TestBlob config = MakeConfig(DiffIds(layers));
  TestBlob manifest = MakeManifest(config, layers);
  RequireOk(testing::PushImage(registry.addr(), "test/bad", "v1", layers, config, manifest));

  // The registry serves what its storage holds: change a byte of the top layer's blob there.
  // Byte 4 is in gzip's MTIME field (the layer still decompresses); one in the middle breaks
  // the deflate stream.
  const TestLayer& bad = layers[2];
  size_t offset = GENERATE(size_t{4}, size_t{0});
  if (offset == 0) offset = bad.blob.data.size() / 2;
  {
    std::fstream data(registry.BlobDataPath(bad.blob.digest), std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(data.good());
    data.seekp(static_cast<std::streamoff>(offset));
    data.put(static_cast<char>(bad.blob.data[offset] ^ 0x55));
  }

  Stores stores;
  std::string ref = registry.addr() + "/test/bad:v1";
  absl::Status status = PullInto(stores, ref, Options()).status();
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(status.message()), Catch::StartsWith("pull " + ref + ": layer " + bad.blob.digest + ": "));
  // Nothing of the bad layer is visible; the layers below it are complete and may stay.
  CHECK_FALSE(stores.HasBlob(bad.blob.digest));
  CHECK_FALSE(stores.snapshots->Stat(ChainId(DiffIds(layers))).ok());
  stores.CheckNothingPending();
}

TEST_CASE("pull: a layer whose content does not match the config's diff id is refused") {
  TestRegistry registry;
  std::vector<TestLayer> layers = {MakeLayer({{.path = "a", .data = "a"}})};
  std::string wrong_diff_id = "sha256:" + std::string(64, 'e');
  TestBlob config = MakeConfig({wrong_diff_id});
  TestBlob manifest = MakeManifest(config, layers);
  RequireOk(testing::PushImage(registry.addr(), "test/diff", "v1", layers, config, manifest));
  Stores stores;
  absl::Status status = PullInto(stores, registry.addr() + "/test/diff:v1", Options()).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(status.message()), Catch::Contains(layers[0].blob.digest) &&
                                                Catch::Contains(layers[0].diff_id) && Catch::Contains(wrong_diff_id));
  CHECK(stores.AllSnapshots().empty());
  // The blob itself was right: kept, as containerd keeps fetched content, but not marked unpacked.
  CHECK(stores.LabelsOf(layers[0].blob.digest).count("containerd.io/uncompressed") == 0);
  stores.CheckNothingPending();
}

TEST_CASE("pull: registry and image errors") {
  TestRegistry registry;
  Stores stores;
  std::vector<TestLayer> layers = {MakeLayer({{.path = "a", .data = "a"}})};

  SECTION("an unknown tag") {
    RequireOk(testing::PushImage(registry.addr(), "test/app", "v1", layers, MakeConfig(DiffIds(layers)),
                                 MakeManifest(MakeConfig(DiffIds(layers)), layers)));
    absl::Status status = PullInto(stores, registry.addr() + "/test/app:nope", Options()).status();
    CHECK(status.code() == absl::StatusCode::kNotFound);
    CHECK(std::string(status.message()) == "pull " + registry.addr() + "/test/app:nope: manifest unknown");
  }
  SECTION("an invalid reference") {
    absl::Status status = PullInto(stores, registry.addr() + "/Test/App", Options()).status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains("must be lowercase"));
  }
  SECTION("a config whose diff ids do not match the layers") {
    TestBlob config = MakeConfig({layers[0].diff_id, layers[0].diff_id});
    TestBlob manifest = MakeManifest(config, layers);
    RequireOk(testing::PushImage(registry.addr(), "test/count", "v1", layers, config, manifest));
    absl::Status status = PullInto(stores, registry.addr() + "/test/count:v1", Options()).status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains("2 diff ids for the 1 layers"));
  }
  SECTION("an image without layers") {
    TestBlob config = MakeConfig({});
    TestBlob manifest = MakeManifest(config, {});
    RequireOk(testing::PushImage(registry.addr(), "test/empty", "v1", {}, config, manifest));
    PullResult result = RequireOk(PullInto(stores, registry.addr() + "/test/empty:v1", Options()));
    CHECK(result.chain_id.empty());
    CHECK(result.target.digest == manifest.digest);
    CHECK(result.manifest.digest == manifest.digest);
  }
  stores.CheckNothingPending();
}

PushOptions PushOptionsFor(Recorder* recorder, std::optional<Platform> platform) {
  PushOptions options;
  options.platform = std::move(platform);
  options.registry.docker_config = "/nonexistent/config.json";
  if (recorder != nullptr) options.progress = recorder->Callback();
  return options;
}

TEST_CASE("push: a pulled image's manifest mounted within its registry, uploaded to another, pulled back the same") {
  TestRegistry registry;
  MultiPlatformImage image;
  image.Push(registry.addr(), "test/app", "v1");
  Stores stores;
  PullResult pulled = RequireOk(PullInto(stores, registry.addr() + "/test/app:v1", Options()));
  const Platform amd64{.os = "linux", .architecture = "amd64"};
  const size_t blobs = image.layers.size() + 1;  // and the config

  // The whole index needs the arm64 content, which was never pulled.
  absl::Status whole = Push(registry.addr() + "/copy/app:v1", pulled.target, PushOptionsFor(nullptr, std::nullopt),
                            *stores.content)
                           .status();
  CHECK(whole.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(whole.message()), Catch::Contains(image.arm_manifest.digest) &&
                                               Catch::Contains("(linux/arm64)") &&
                                               Catch::Contains("push one platform"));

  // One platform, within the registry: every blob is mounted from the repository it came from.
  Recorder mounted;
  PushResult result = RequireOk(
      Push(registry.addr() + "/copy/app:v2", pulled.target, PushOptionsFor(&mounted, amd64), *stores.content));
  CHECK(result.name == registry.addr() + "/copy/app:v2");
  CHECK(result.manifest.digest == image.manifest.digest);
  CHECK(mounted.Count(Stage::kMounted) == blobs);
  CHECK(mounted.Count(Stage::kUploaded) == 0);
  CHECK(mounted.Count(Stage::kDone, image.manifest.digest) == 1);
  testing::HttpResult manifest = RequireOk(testing::HttpCall(
      "GET", "http://" + registry.addr() + "/v2/copy/app/manifests/v2", {"Accept: " + image.manifest.media_type}));
  CHECK(manifest.status == 200);
  CHECK(manifest.body == image.manifest.data);
  CHECK(manifest.headers["docker-content-digest"] == image.manifest.digest);

  // Again: the registry has every blob now.
  Recorder again;
  RequireOk(Push(registry.addr() + "/copy/app:v3", pulled.target, PushOptionsFor(&again, amd64), *stores.content));
  CHECK(again.Count(Stage::kExists) == blobs);
  CHECK(again.Count(Stage::kMounted) + again.Count(Stage::kUploaded) == 0);

  // Another registry has none of them: uploaded, the bytes counted, and a pull gets the same image.
  TestRegistry other;
  Recorder uploaded;
  result = RequireOk(
      Push(other.addr() + "/moved/app:v1", pulled.target, PushOptionsFor(&uploaded, amd64), *stores.content));
  CHECK(uploaded.Count(Stage::kUploaded) == blobs);
  for (const TestLayer& layer : image.layers) {
    bool last_offset_whole = false;
    for (const PullProgress& event : uploaded.events)
      if (event.stage == Stage::kUploading && event.digest == layer.blob.digest)
        last_offset_whole = event.offset == layer.blob.size();
    CHECK(last_offset_whole);
  }
  Stores elsewhere;
  PullResult back = RequireOk(PullInto(elsewhere, other.addr() + "/moved/app:v1", Options()));
  CHECK(back.target.digest == image.manifest.digest);
  CHECK(back.chain_id == pulled.chain_id);
  CHECK(elsewhere.Tree(back.chain_id) == BaseTree());
}

TEST_CASE("push: credentials, refusals and missing content") {
  TestRegistry registry(TestRegistry::Options{.users = {{"ann", "secret"}}});
  Stores stores;
  std::vector<TestLayer> layers = {MakeLayer({{.path = "hello", .data = "hello"}})};
  TestBlob config = MakeConfig(DiffIds(layers));
  TestBlob manifest = MakeManifest(config, layers);
  for (const TestBlob& blob : {layers[0].blob, config, manifest}) RequireOk(WriteBlob(*stores.content, DescriptorOf(blob), blob.data, {}));
  std::string ref = registry.addr() + "/private/app:v1";

  SECTION("with the registry's credentials") {
    PushOptions options = PushOptionsFor(nullptr, std::nullopt);
    options.registry.credentials = Credentials{.username = "ann", .password = "secret"};
    PushResult result = RequireOk(Push(ref, DescriptorOf(manifest), options, *stores.content));
    CHECK(result.manifest.digest == manifest.digest);
    Stores back;
    PullOptions pull = Options();
    pull.registry.credentials = options.registry.credentials;
    CHECK(RequireOk(PullInto(back, ref, pull)).config_digest == config.digest);
  }
  SECTION("without them") {
    absl::Status status = Push(ref, DescriptorOf(manifest), PushOptionsFor(nullptr, std::nullopt), *stores.content).status();
    CHECK_THAT(std::string(status.message()), Catch::StartsWith("push " + ref + ": "));
    CHECK_THAT(std::string(status.message()), Catch::Contains("no credentials"));
  }
  SECTION("a layer the content store lacks") {
    RequireOk(stores.content->Delete(layers[0].blob.digest));
    PushOptions options = PushOptionsFor(nullptr, std::nullopt);
    options.registry.credentials = Credentials{.username = "ann", .password = "secret"};
    absl::Status status = Push(ref, DescriptorOf(manifest), options, *stores.content).status();
    CHECK(status.code() == absl::StatusCode::kNotFound);
    CHECK_THAT(std::string(status.message()), Catch::Contains("blob " + layers[0].blob.digest));
    // Nothing names the missing blob on the registry: the manifest was not pushed.
    testing::HttpResult head = RequireOk(testing::HttpCall(
        "HEAD", "http://ann:secret@" + registry.addr() + "/v2/private/app/manifests/v1", {"Accept: " + manifest.media_type}));
    CHECK(head.status == 404);
  }
}

}  // namespace
}  // namespace liman::containerd::remotes
