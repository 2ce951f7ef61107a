// Import (OCI layout and docker save archives), export, and unpacking from the content store.
#include "containerd/remotes/image_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/fmt_absl.h"
#include "common/sha256.h"
#include "containerd/archive/byte_source.h"
#include "containerd/remotes/content_util.h"
#include "containerd/remotes/platforms.h"
#include "containerd/remotes/tests/test_registry.h"
#include "containerd/remotes/tests/test_stores.h"
#include "containerd/remotes/unpacker.h"

namespace liman::containerd::remotes {
namespace {

using nlohmann::json;
using testing::MakeConfig;
using testing::MakeIndex;
using testing::MakeLayer;
using testing::MakeManifest;
using testing::MakeTar;
using testing::RequireOk;
using testing::Stores;
using testing::TarEntry;
using testing::TestBlob;
using testing::TestLayer;
using Type = TarEntry::Type;

const Platform kAmd64{.os = "linux", .architecture = "amd64"};

// A two-platform image written straight into a content store.
struct StoredImage {
  TestLayer base = MakeLayer({{.path = "etc", .type = Type::kDir, .mode = 0755}, {.path = "etc/base", .data = "base"}});
  TestLayer top = MakeLayer({{.path = "etc", .type = Type::kDir, .mode = 0755},
                             {.path = "etc/.wh.base", .data = ""},
                             {.path = "etc/top", .data = "top"}});
  TestBlob config = MakeConfig({base.diff_id, top.diff_id});
  TestBlob manifest = MakeManifest(config, {base, top});
  TestLayer arm = MakeLayer({{.path = "arm", .data = "arm"}});
  TestBlob arm_config = MakeConfig({arm.diff_id}, "arm64");
  TestBlob arm_manifest = MakeManifest(arm_config, {arm});
  TestBlob index = MakeIndex({{arm_manifest, "linux/arm64"}, {manifest, "linux/amd64"}});

  void WriteTo(ContentStore& content) const {
    for (const TestBlob* blob :
         {&base.blob, &top.blob, &config, &manifest, &arm.blob, &arm_config, &arm_manifest, &index}) {
      RequireOk(WriteBlob(content, DescriptorOf(*blob), blob->data, {}));
    }
  }
};

// Tar members: name → content (regular files), "<dir>" for directories.
std::map<std::string, std::string> ReadTar(const std::string& tar) {
  std::map<std::string, std::string> members;
  ::archive* reader = archive_read_new();
  archive_read_support_format_tar(reader);
  REQUIRE(archive_read_open_memory(reader, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(entry);
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      members[name] = "<dir>";
      continue;
    }
    std::string data(static_cast<size_t>(archive_entry_size(entry)), '\0');
    if (!data.empty())
      REQUIRE(archive_read_data(reader, data.data(), data.size()) == static_cast<la_ssize_t>(data.size()));
    members[name] = data;
  }
  archive_read_free(reader);
  return members;
}

absl::StatusOr<ImportResult> Import(Stores& stores, const std::string& tar, const ImportOptions& options = {}) {
  archive::MemoryByteSource source(tar, 4096);
  return ImportArchive(source, *stores.content, options);
}

std::string Export(Stores& stores, const std::vector<NamedImage>& images, const ExportOptions& options) {
  std::string tar;
  RequireOk(ExportArchive(images, *stores.content, options, [&](std::string_view chunk) {
    tar.append(chunk);
    return absl::OkStatus();
  }));
  return tar;
}

const std::map<std::string, std::string> kImageTree = {{"etc", "d"}, {"etc/top", "f:top"}};

TEST_CASE("unpack: an image already in the content store, for the chosen platform") {
  Stores stores;
  StoredImage image;
  image.WriteTo(*stores.content);
  UnpackResult result = RequireOk(UnpackImage(DescriptorOf(image.index), kAmd64, *stores.content, *stores.snapshots,
                                              stores.snapshots.get(), "overlayfs", UnpackOptions{}));
  CHECK(result.manifest.digest == image.manifest.digest);
  CHECK(result.config_digest == image.config.digest);
  CHECK(result.chain_id == ChainId({image.base.diff_id, image.top.diff_id}));
  CHECK(stores.Tree(result.chain_id) == kImageTree);
  CHECK(stores.LabelsOf(image.config.digest).at("containerd.io/gc.ref.snapshot.overlayfs") == result.chain_id);
  CHECK(stores.LabelsOf(image.top.blob.digest).at("containerd.io/uncompressed") == image.top.diff_id);
  stores.CheckNothingPending();

  // A missing blob is an error naming it, and leaves nothing behind.
  Stores partial;
  for (const TestBlob* blob : {&image.base.blob, &image.config, &image.manifest}) {
    RequireOk(WriteBlob(*partial.content, DescriptorOf(*blob), blob->data, {}));
  }
  absl::Status missing = UnpackImage(DescriptorOf(image.manifest), kAmd64, *partial.content, *partial.snapshots,
                                     partial.snapshots.get(), "overlayfs", UnpackOptions{})
                             .status();
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.message()), Catch::Contains(image.top.blob.digest));
  partial.CheckNothingPending();
}

TEST_CASE("export: an OCI layout tar with index.json names and a docker manifest.json; import restores it") {
  Stores stores;
  StoredImage image;
  image.WriteTo(*stores.content);
  std::vector<NamedImage> images = {{.name = "docker.io/library/app:v1", .target = DescriptorOf(image.index)},
                                    {.name = "example.com/team/app:v2", .target = DescriptorOf(image.manifest)}};
  std::string tar = Export(stores, images, ExportOptions{.platform = kAmd64});
  std::map<std::string, std::string> members = ReadTar(tar);

  auto blob = [](const TestBlob& b) { return "blobs/sha256/" + b.digest.substr(7); };
  CHECK(members.at("oci-layout") == R"({"imageLayoutVersion":"1.0.0"})");
  CHECK(members.at("blobs/") == "<dir>");
  CHECK(members.at("blobs/sha256/") == "<dir>");
  for (const TestBlob* b : {&image.index, &image.manifest, &image.config, &image.base.blob, &image.top.blob}) {
    CHECK(members.at(blob(*b)) == b->data);
  }
  // The other platform's manifest is not followed.
  CHECK(members.count(blob(image.arm_manifest)) == 0);
  CHECK(members.count(blob(image.arm.blob)) == 0);

  json index = json::parse(members.at("index.json"));
  REQUIRE(index["manifests"].size() == 2);
  CHECK(index["manifests"][0]["digest"] == image.index.digest);
  CHECK(index["manifests"][0]["annotations"]["io.containerd.image.name"] == "docker.io/library/app:v1");
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "v1");
  CHECK(index["manifests"][1]["digest"] == image.manifest.digest);
  json docker = json::parse(members.at("manifest.json"));
  REQUIRE(docker.size() == 1);  // both names lead to the same amd64 manifest
  CHECK(docker[0]["Config"] == blob(image.config));
  CHECK(docker[0]["RepoTags"] == json::array({"app:v1", "example.com/team/app:v2"}));
  CHECK(docker[0]["Layers"] == json::array({blob(image.base.blob), blob(image.top.blob)}));

  // Members are sorted by name, as containerd writes them.
  std::vector<std::string> order;
  ::archive* reader = archive_read_new();
  archive_read_support_format_tar(reader);
  REQUIRE(archive_read_open_memory(reader, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(reader, &entry) == ARCHIVE_OK) order.push_back(archive_entry_pathname(entry));
  archive_read_free(reader);
  CHECK(std::is_sorted(order.begin(), order.end()));

  Stores restored;
  ImportResult imported = RequireOk(Import(restored, tar));
  CHECK(imported.index.media_type == media_type::kOciIndex);
  REQUIRE(imported.images.size() == 2);
  CHECK(imported.images[0].name == "docker.io/library/app:v1");
  CHECK(imported.images[0].target.digest == image.index.digest);
  CHECK(imported.images[1].name == "example.com/team/app:v2");
  CHECK(restored.LabelsOf(image.index.digest).at("containerd.io/gc.ref.content.m.1") == image.manifest.digest);
  CHECK(restored.LabelsOf(image.manifest.digest).at("containerd.io/gc.ref.content.l.1") == image.top.blob.digest);
  UnpackResult unpacked = RequireOk(UnpackImage(imported.images[0].target, kAmd64, *restored.content,
                                                *restored.snapshots, restored.snapshots.get(), "overlayfs", {}));
  CHECK(restored.Tree(unpacked.chain_id) == kImageTree);
  // The arm64 content was not in the archive: unpacking it fails, naming what is missing.
  CHECK(absl::IsNotFound(UnpackImage(imported.images[0].target, Platform{.os = "linux", .architecture = "arm64"},
                                     *restored.content, *restored.snapshots, restored.snapshots.get(), "overlayfs", {})
                             .status()));
  restored.CheckNothingPending();

  // All platforms: everything is exported, and no docker manifest.json for the index.
  std::map<std::string, std::string> all = ReadTar(Export(stores, {images[0]}, ExportOptions{}));
  CHECK(all.count(blob(image.arm.blob)) == 1);
  CHECK(all.count("manifest.json") == 0);
}

TEST_CASE("import: a docker save archive becomes docker schema 2 manifests named by their repo tags") {
  std::string base_tar =
      MakeTar({{.path = "bin", .type = Type::kDir, .mode = 0755}, {.path = "bin/sh", .data = "sh", .mode = 0755}});
  std::string app_tar = MakeTar({{.path = "app", .data = "app"}});
  std::string base_id = Sha256Hex(base_tar), app_id = Sha256Hex(app_tar);
  // The third layer is the second again (docker save links duplicates).
  json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + base_id, "sha256:" + app_id, "sha256:" + app_id}}}}};
  std::string config_json = config.dump();
  std::string config_name = Sha256Hex(config_json) + ".json";
  json manifest = json::array({{{"Config", config_name},
                                {"RepoTags", {"app:v1", "example.com/x/app:v2"}},
                                {"Layers", {base_id + "/layer.tar", app_id + "/layer.tar", "dup/layer.tar"}}}});
  std::string tar = MakeTar({{.path = base_id, .type = Type::kDir, .mode = 0755},
                             {.path = base_id + "/layer.tar", .data = base_tar},
                             {.path = app_id + "/layer.tar", .data = app_tar},
                             {.path = "dup/layer.tar", .type = Type::kSymlink, .data = "../" + app_id + "/layer.tar"},
                             {.path = config_name, .data = config_json},
                             {.path = "manifest.json", .data = manifest.dump()},
                             {.path = "repositories", .data = "{}"}});

  Stores stores;
  ImportResult imported = RequireOk(Import(stores, tar));
  REQUIRE(imported.images.size() == 2);
  CHECK(imported.images[0].name == "docker.io/library/app:v1");
  CHECK(imported.images[1].name == "example.com/x/app:v2");
  const Descriptor& target = imported.images[0].target;
  CHECK(target.media_type == media_type::kDockerManifest);
  REQUIRE(target.platform);
  CHECK(target.platform->architecture == "amd64");
  CHECK(target.annotations.at("org.opencontainers.image.ref.name") == "v1");

  json written = json::parse(RequireOk(ReadBlob(*stores.content, target.digest, 1 << 20)));
  CHECK(written["mediaType"] == media_type::kDockerManifest);
  CHECK(written["config"]["mediaType"] == media_type::kDockerConfig);
  REQUIRE(written["layers"].size() == 3);
  CHECK(written["layers"][0]["mediaType"] == media_type::kDockerLayer);
  CHECK(written["layers"][0]["digest"] == "sha256:" + base_id);
  CHECK(written["layers"][2]["digest"] == "sha256:" + app_id);
  // Go's field order, so that the manifest hashes as containerd's does.
  CHECK(RequireOk(ReadBlob(*stores.content, target.digest, 1 << 20)).rfind(R"({"schemaVersion":2,"mediaType":)", 0) ==
        0);

  UnpackResult unpacked = RequireOk(
      UnpackImage(target, kAmd64, *stores.content, *stores.snapshots, stores.snapshots.get(), "overlayfs", {}));
  CHECK(stores.Tree(unpacked.chain_id) ==
        std::map<std::string, std::string>{{"bin", "d"}, {"bin/sh", "f:sh"}, {"app", "f:app"}});
  stores.CheckNothingPending();
}

TEST_CASE("import: bad archives are refused and leave no ingest behind") {
  Stores stores;
  SECTION("neither format") {
    absl::Status status = Import(stores, MakeTar({{.path = "hello", .data = "x"}})).status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains("unrecognized image format"));
  }
  SECTION("not a tar at all") { CHECK_FALSE(Import(stores, std::string(3000, 'z')).ok()); }
  SECTION("a blob whose content does not match its name") {
    std::string fake = "blobs/sha256/" + std::string(64, 'a');
    absl::Status status = Import(stores, MakeTar({{.path = "oci-layout", .data = R"({"imageLayoutVersion":"1.0.0"})"},
                                                  {.path = fake, .data = "not that"}}))
                              .status();
    CHECK(status.code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(std::string(status.message()), Catch::Contains(fake));
  }
  SECTION("an OCI layout without index.json") {
    absl::Status status =
        Import(stores, MakeTar({{.path = "oci-layout", .data = R"({"imageLayoutVersion":"1.0.0"})"}})).status();
    CHECK_THAT(std::string(status.message()), Catch::Contains("missing index.json"));
  }
  SECTION("a docker archive whose layer is missing") {
    std::string config = MakeConfig({}).data;
    json manifest = json::array({{{"Config", "c.json"}, {"RepoTags", {"a:b"}}, {"Layers", {"x/layer.tar"}}}});
    absl::Status status =
        Import(stores,
               MakeTar({{.path = "c.json", .data = config}, {.path = "manifest.json", .data = manifest.dump()}}))
            .status();
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()), Catch::Contains("x/layer.tar"));
  }
  CHECK(RequireOk(stores.content->ListStatuses({})).empty());
}

}  // namespace
}  // namespace liman::containerd::remotes
