#include <catch2/catch.hpp>
#include <map>

#include "ctl/liman-ctr/image_config.h"
#include "ctl/liman-ctr/image_resolve.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {
namespace {

const std::string kA = "sha256:" + std::string(64, 'a');
const std::string kB = "sha256:" + std::string(64, 'b');
const std::string kC = "sha256:" + std::string(64, 'c');

TEST_CASE("ChainId follows the image spec's ChainID") {
  CHECK(ChainId({}).empty());
  CHECK(ChainId({kA}) == kA);
  CHECK(ChainId({kA, kB}) == "sha256:ccd722928bd92476ba1745586fed6e45a102504185ad88cd89e01ff116fd146c");
  CHECK(ChainId({kA, kB, kC}) == "sha256:c1377126441fb2f5ec2c21ae2a60255331d639e830f0ee1b40a36e52d4c40588");
}

TEST_CASE("ParseImageConfig reads what run needs and rejects wrong types") {
  auto config = ParseImageConfig(R"({"architecture":"amd64","os":"linux",
      "config":{"Env":["PATH=/bin","A=1"],"Entrypoint":["/entry"],"Cmd":["sh"],"WorkingDir":"/w",
                "User":"1000:1000","StopSignal":"SIGQUIT","Labels":{"l":"v"}},
      "rootfs":{"type":"layers","diff_ids":[")" + kA + R"(",")" + kB + R"("]}})");
  REQUIRE(config.ok());
  CHECK(config->architecture == "amd64");
  CHECK(config->env == std::vector<std::string>{"PATH=/bin", "A=1"});
  CHECK(config->entrypoint == std::vector<std::string>{"/entry"});
  CHECK(config->cmd == std::vector<std::string>{"sh"});
  CHECK(config->working_dir == "/w");
  CHECK(config->user == "1000:1000");
  CHECK(config->stop_signal == "SIGQUIT");
  CHECK(config->labels.at("l") == "v");
  CHECK(config->diff_ids == std::vector<std::string>{kA, kB});

  auto nulls = ParseImageConfig(R"({"config":{"Env":null,"Cmd":null},"rootfs":{"diff_ids":[]}})");
  REQUIRE(nulls.ok());
  CHECK(nulls->env.empty());

  CHECK(ParseImageConfig("not json").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParseImageConfig("[]").status().code() == absl::StatusCode::kInvalidArgument);
  auto bad = ParseImageConfig(R"({"config":{"Cmd":"sh"}})");
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(bad.status().message()).find("config.Cmd") != std::string::npos);
}

// Blobs by digest, like the content service.
struct Blobs {
  std::map<std::string, std::string> blobs;
  std::string Add(const std::string& digest, const nlohmann::json& doc) {
    blobs[digest] = doc.dump();
    return digest;
  }
  BlobReader Reader() {
    return [this](const std::string& digest) -> absl::StatusOr<std::string> {
      auto it = blobs.find(digest);
      if (it == blobs.end()) return absl::NotFoundError(digest + ": not found");
      return it->second;
    };
  }
};

TEST_CASE("ResolveImage picks the platform's manifest from an index; size and platforms like ctr") {
  Blobs blobs;
  const std::string config_amd = "sha256:" + std::string(64, '1');
  const std::string config_arm = "sha256:" + std::string(64, '2');
  blobs.Add(config_amd, {{"os", "linux"}, {"architecture", "amd64"}, {"rootfs", {{"diff_ids", {kA}}}}});
  blobs.Add(config_arm, {{"os", "linux"}, {"architecture", "arm64"}, {"rootfs", {{"diff_ids", {kB}}}}});
  const std::string manifest_amd = "sha256:" + std::string(64, '3');
  const std::string manifest_arm = "sha256:" + std::string(64, '4');
  auto manifest = [](const std::string& config, const std::string& layer) {
    return nlohmann::json{{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                          {"config", {{"mediaType", "application/vnd.oci.image.config.v1+json"}, {"digest", config}, {"size", 100}}},
                          {"layers", {{{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"}, {"digest", layer}, {"size", 1000}}}}};
  };
  blobs.Add(manifest_amd, manifest(config_amd, kC));
  blobs.Add(manifest_arm, manifest(config_arm, kC));
  const std::string index = "sha256:" + std::string(64, '5');
  blobs.Add(index, {{"schemaVersion", 2},
                    {"manifests",
                     {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", manifest_arm}, {"size", 10},
                       {"platform", {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}},
                      {{"mediaType", "application/vnd.oci.image.manifest.v1+json"}, {"digest", manifest_amd}, {"size", 20},
                       {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}});
  Descriptor target{"application/vnd.oci.image.index.v1+json", index, 300, false, {}};

  auto amd = ResolveImage(blobs.Reader(), target, Platform{"linux", "amd64", ""});
  REQUIRE(amd.ok());
  CHECK(amd->manifest.digest == manifest_amd);
  CHECK(amd->config.digest == config_amd);
  REQUIRE(amd->layers.size() == 1);
  CHECK(amd->layers[0].digest == kC);

  auto arm = ResolveImage(blobs.Reader(), target, Platform{"linux", "arm64", "v8"});
  REQUIRE(arm.ok());
  CHECK(arm->config.digest == config_arm);

  CHECK(ResolveImage(blobs.Reader(), target, Platform{"linux", "s390x", ""}).status().code() ==
        absl::StatusCode::kNotFound);

  auto size = ImageSize(blobs.Reader(), target, Platform{"linux", "amd64", ""});
  REQUIRE(size.ok());
  CHECK(*size == 300 + 20 + 100 + 1000);

  auto platforms = ImagePlatforms(blobs.Reader(), target);
  REQUIRE(platforms.ok());
  CHECK(*platforms == std::vector<std::string>{"linux/amd64", "linux/arm64/v8"});

  // A lone manifest: its config names the platform.
  Descriptor single{"application/vnd.oci.image.manifest.v1+json", manifest_amd, 20, false, {}};
  auto single_platforms = ImagePlatforms(blobs.Reader(), single);
  REQUIRE(single_platforms.ok());
  CHECK(*single_platforms == std::vector<std::string>{"linux/amd64"});
  auto single_size = ImageSize(blobs.Reader(), single, Platform{"linux", "amd64", ""});
  REQUIRE(single_size.ok());
  CHECK(*single_size == 20 + 100 + 1000);

  // A missing blob is an error naming it, not a crash.
  blobs.blobs.erase(manifest_amd);
  CHECK(ResolveImage(blobs.Reader(), target, Platform{"linux", "amd64", ""}).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("Platforms parse, format and match like containerd's platforms package") {
  auto p = ParsePlatform("linux/arm64/v8");
  REQUIRE(p.ok());
  CHECK(FormatPlatform(*p) == "linux/arm64/v8");
  auto x = ParsePlatform("linux/x86_64");
  REQUIRE(x.ok());
  CHECK(x->architecture == "amd64");
  CHECK(ParsePlatform("a/b/c/d").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ParsePlatform("linux//v8").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(PlatformMatches({"linux", "amd64", ""}, {"linux", "amd64", ""}));
  CHECK_FALSE(PlatformMatches({"linux", "amd64", ""}, {"linux", "arm64", ""}));
  CHECK_FALSE(PlatformMatches({"linux", "arm", "v7"}, {"linux", "arm", "v6"}));
  CHECK(FormatPlatform(HostPlatform()).rfind("linux/", 0) == 0);
}

}  // namespace
}  // namespace liman::ctr
