#include "containerd/remotes/image_spec.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "containerd/remotes/platforms.h"

namespace liman::containerd::remotes {
namespace {

using nlohmann::json;

std::string Digest(char c) { return "sha256:" + std::string(64, c); }

json Entry(char c, std::string os, std::string arch, std::string variant = "") {
  json platform = {{"os", os}, {"architecture", arch}};
  if (!variant.empty()) platform["variant"] = variant;
  return {{"mediaType", media_type::kOciManifest}, {"digest", Digest(c)}, {"size", 100}, {"platform", platform}};
}

Index ParseTestIndex(const json& manifests) {
  json doc = {{"schemaVersion", 2}, {"mediaType", media_type::kOciIndex}, {"manifests", manifests}};
  Descriptor desc{.media_type = std::string(media_type::kOciIndex), .digest = Digest('0'), .size = 1};
  absl::StatusOr<Index> index = ParseIndex(doc.dump(), desc);
  REQUIRE(index.ok());
  return *index;
}

std::string Selected(const Index& index, std::string_view platform) {
  absl::StatusOr<Platform> parsed = ParsePlatform(platform);
  REQUIRE(parsed.ok());
  absl::StatusOr<Descriptor> chosen = SelectManifest(index, *parsed);
  if (!chosen.ok()) return std::string(chosen.status().message());
  return chosen->digest;
}

TEST_CASE("platform selection picks the platform's manifest from an index") {
  Index index = ParseTestIndex(json::array({
      Entry('1', "linux", "arm", "v6"), Entry('2', "linux", "amd64"), Entry('3', "linux", "arm64", "v8"),
      Entry('4', "linux", "arm", "v7"), Entry('5', "windows", "amd64"),
      Entry('6', "unknown", "unknown"),  // a buildx attestation
  }));
  REQUIRE(index.manifests.size() == 6);
  CHECK(Selected(index, "linux/amd64") == Digest('2'));
  CHECK(Selected(index, "linux/x86_64") == Digest('2'));
  CHECK(Selected(index, "linux/arm64") == Digest('3'));
  CHECK(Selected(index, "linux/aarch64") == Digest('3'));
  CHECK(Selected(index, "linux/arm/v7") == Digest('4'));
  CHECK(Selected(index, "linux/arm") == Digest('4'));  // arm means arm/v7
  CHECK(Selected(index, "linux/arm/v6") == Digest('1'));
  CHECK(Selected(index, "windows/amd64") == Digest('5'));
  CHECK_THAT(Selected(index, "linux/s390x"), Catch::Contains("no match for platform linux/s390x"));
}

TEST_CASE("platform selection falls back to what a platform can run, closest first") {
  Index index = ParseTestIndex(
      json::array({Entry('1', "linux", "arm", "v5"), Entry('2', "linux", "arm", "v6"), Entry('3', "linux", "386")}));
  CHECK(Selected(index, "linux/arm/v7") == Digest('2'));
  CHECK(Selected(index, "linux/arm64") == Digest('2'));  // arm64 runs arm/v8…v5
  CHECK(Selected(index, "linux/amd64") == Digest('3'));  // amd64 runs 386
  CHECK_THAT(Selected(index, "linux/ppc64le"), Catch::Contains("no match"));
}

TEST_CASE("platform selection prefers index order among equals and platform-less entries last") {
  json unlabelled = {{"mediaType", media_type::kOciManifest}, {"digest", Digest('9')}, {"size", 1}};
  Index index = ParseTestIndex(json::array({unlabelled, Entry('1', "linux", "amd64"), Entry('2', "linux", "amd64")}));
  CHECK(Selected(index, "linux/amd64") == Digest('1'));
  CHECK(Selected(index, "linux/arm64") == Digest('9'));
}

TEST_CASE("platform specifiers parse and normalize") {
  absl::StatusOr<Platform> p = ParsePlatform("linux/aarch64/8");
  REQUIRE(p.ok());
  CHECK(FormatPlatform(*p) == "linux/arm64");
  p = ParsePlatform("arm64");
  REQUIRE(p.ok());
  CHECK(FormatPlatform(*p) == "linux/arm64");
  p = ParsePlatform("Linux/ARMHF");
  REQUIRE(p.ok());
  CHECK(FormatPlatform(*p) == "linux/arm/v7");
  CHECK_FALSE(ParsePlatform("linux//amd64").ok());
  CHECK_FALSE(ParsePlatform("a/b/c/d").ok());
  CHECK_FALSE(ParsePlatform("").ok());
  Platform host = DefaultPlatform();
  CHECK(host.os == "linux");
  CHECK_FALSE(host.architecture.empty());
}

TEST_CASE("manifests parse with config, layers and annotations") {
  json doc = {{"schemaVersion", 2},
              {"mediaType", media_type::kDockerManifest},
              {"config", {{"mediaType", media_type::kDockerConfig}, {"digest", Digest('c')}, {"size", 10}}},
              {"layers", json::array({{{"mediaType", media_type::kDockerLayerGzip},
                                       {"digest", Digest('1')},
                                       {"size", 20},
                                       {"annotations", {{"containerd.io/snapshot/x", "y"}, {"other", "z"}}}}})}};
  Descriptor desc{.media_type = std::string(media_type::kDockerManifest), .digest = Digest('m'), .size = 1};
  absl::StatusOr<Manifest> manifest = ParseManifest(doc.dump(), desc);
  REQUIRE(manifest.ok());
  CHECK(manifest->config.digest == Digest('c'));
  REQUIRE(manifest->layers.size() == 1);
  CHECK(manifest->layers[0].size == 20);
  CHECK(InheritedSnapshotLabels(manifest->layers[0]) == Labels{{"containerd.io/snapshot/x", "y"}});
}

TEST_CASE("malformed and mismatched documents are refused naming the digest") {
  Descriptor manifest_desc{.media_type = std::string(media_type::kOciManifest), .digest = Digest('m'), .size = 1};
  Descriptor index_desc{.media_type = std::string(media_type::kOciIndex), .digest = Digest('i'), .size = 1};
  auto message = [](const absl::Status& status) { return std::string(status.message()); };

  CHECK_THAT(message(ParseManifest("{", manifest_desc).status()),
             Catch::Contains(Digest('m')) && Catch::Contains("invalid JSON"));
  CHECK_THAT(message(ParseManifest(R"({"manifests":[]})", manifest_desc).status()),
             Catch::Contains("expected manifest but found index"));
  CHECK_THAT(message(ParseIndex(R"({"config":{},"manifests":[]})", index_desc).status()),
             Catch::Contains("expected index but found manifest"));
  absl::Status schema1 = ParseManifest(R"({"schemaVersion":1,"fsLayers":[]})", manifest_desc).status();
  CHECK(schema1.code() == absl::StatusCode::kUnimplemented);
  CHECK_THAT(message(schema1), Catch::Contains("schema 1"));
  CHECK_THAT(message(ParseManifest(R"({"config":{"digest":"sha256:xyz","size":1}})", manifest_desc).status()),
             Catch::Contains("invalid or unsupported descriptor digest"));
  CHECK_THAT(
      message(ParseManifest(R"({"config":{"digest":")" + Digest('c') + R"(","size":-1}})", manifest_desc).status()),
      Catch::Contains("no valid size"));
  CHECK_THAT(message(ParseManifest(R"({"schemaVersion":"2","config":{"digest":")" + Digest('c') + R"(","size":"1"}})",
                                   manifest_desc)
                         .status()),
             Catch::Contains("no valid size"));

  Descriptor config_desc{.media_type = std::string(media_type::kOciConfig), .digest = Digest('c'), .size = 1};
  absl::StatusOr<ImageConfig> config = ParseImageConfig(
      R"({"os":"linux","rootfs":{"type":"layers","diff_ids":[")" + Digest('d') + R"("]}})", config_desc);
  REQUIRE(config.ok());
  CHECK(config->diff_ids == std::vector<std::string>{Digest('d')});
  CHECK_FALSE(ParseImageConfig(R"({"rootfs":{"diff_ids":["md5:x"]}})", config_desc).ok());
  CHECK_FALSE(ParseImageConfig(R"([1,2])", config_desc).ok());
}

TEST_CASE("manifest media types are detected from the document") {
  CHECK(DetectManifestMediaType(R"({"mediaType":"application/x"})") == "application/x");
  CHECK(DetectManifestMediaType(R"({"manifests":[]})") == media_type::kOciIndex);
  CHECK(DetectManifestMediaType(R"({"config":{}})") == media_type::kOciManifest);
  CHECK(DetectManifestMediaType(R"({"schemaVersion":1,"signatures":[]})") == media_type::kDockerSchema1SignedManifest);
  CHECK(DetectManifestMediaType("nope").empty());
}

TEST_CASE("GC labels number children as containerd does") {
  std::vector<Descriptor> manifest_children = {
      {.media_type = std::string(media_type::kOciConfig), .digest = Digest('c')},
      {.media_type = std::string(media_type::kOciLayerGzip), .digest = Digest('1')},
      {.media_type = std::string(media_type::kDockerLayerGzip), .digest = Digest('2')},
  };
  CHECK(ChildGcLabels(manifest_children) == Labels{{"containerd.io/gc.ref.content.config", Digest('c')},
                                                   {"containerd.io/gc.ref.content.l.0", Digest('1')},
                                                   {"containerd.io/gc.ref.content.l.1", Digest('2')}});
  std::vector<Descriptor> index_children = {
      {.media_type = std::string(media_type::kDockerManifest), .digest = Digest('a')},
      {.media_type = std::string(media_type::kOciManifest), .digest = Digest('b')},
      {.media_type = std::string(media_type::kOciIndex), .digest = Digest('c')},
  };
  CHECK(ChildGcLabels(index_children) == Labels{{"containerd.io/gc.ref.content.m.0", Digest('a')},
                                                {"containerd.io/gc.ref.content.m.1", Digest('b')},
                                                {"containerd.io/gc.ref.content.0", Digest('c')}});
}

}  // namespace
}  // namespace liman::containerd::remotes
