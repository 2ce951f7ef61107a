#include "containerd/metadata/tests/fixture.h"

namespace liman::containerd::metadata::testing {
namespace {

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');

std::vector<std::string> ImageNames(DB& db, const std::string& ns, const std::vector<std::string>& filters) {
  std::vector<std::string> names;
  for (const Image& image : Must(db.Images().List(ns, filters))) names.push_back(image.name);
  return names;
}

TEST_CASE("images: create, get, list, delete") {
  Env env;
  ImageStore& images = env.db().Images();
  Image image = TestImage("docker.io/library/busybox:latest", kDigestA, 527);
  image.labels = {{"k", "v"}, {"dropped", ""}};
  image.target.annotations = {{"org.opencontainers.image.ref.name", "latest"}};
  Image created = Must(images.Create("default", image));
  CHECK(created.created_at == env.clock().Now());
  CHECK(created.updated_at == created.created_at);
  CHECK(created.labels == Labels{{"k", "v"}});

  Image got = Must(images.Get("default", image.name));
  CHECK(got.name == image.name);
  CHECK(got.target.digest == kDigestA);
  CHECK(got.target.size == 527);
  CHECK(got.target.media_type == image.target.media_type);
  CHECK(got.target.annotations == image.target.annotations);
  CHECK(got.labels == Labels{{"k", "v"}});
  CHECK(got.created_at == created.created_at);

  CHECK(CodeOf(images.Create("default", image)) == absl::StatusCode::kAlreadyExists);
  CHECK(MessageOf(images.Create("default", image)) == "image \"docker.io/library/busybox:latest\": already exists");
  Must(images.Create("default", TestImage("other", kDigestB)));
  CHECK(ImageNames(env.db(), "default", {}) == std::vector<std::string>{"docker.io/library/busybox:latest", "other"});

  Must(images.Delete("default", "other"));
  CHECK(CodeOf(images.Get("default", "other")) == absl::StatusCode::kNotFound);
  CHECK(CodeOf(images.Delete("default", "other")) == absl::StatusCode::kNotFound);
  CHECK(MessageOf(images.Delete("default", "other")) == "image \"other\": not found");
}

TEST_CASE("images: validation") {
  Env env;
  ImageStore& images = env.db().Images();
  auto code = [&](Image image) { return CodeOf(images.Create("default", image)); };
  CHECK(code(TestImage("", kDigestA)) == absl::StatusCode::kInvalidArgument);
  CHECK(code(TestImage("x", "sha256:abc")) == absl::StatusCode::kInvalidArgument);
  CHECK(code(TestImage("x", "md5:" + std::string(32, 'a'))) == absl::StatusCode::kInvalidArgument);
  CHECK(code(TestImage("x", kDigestA, 0)) == absl::StatusCode::kInvalidArgument);
  Image no_type = TestImage("x", kDigestA);
  no_type.target.media_type.clear();
  CHECK(code(no_type) == absl::StatusCode::kInvalidArgument);
  CHECK(MessageOf(images.Create("default", no_type)) == "Target.MediaType must be set");
  Image big_label = TestImage("x", kDigestA);
  big_label.labels["k"] = std::string(5000, 'v');
  CHECK(code(big_label) == absl::StatusCode::kInvalidArgument);
  CHECK(Must(images.List("default", {})).empty());
}

TEST_CASE("images: list filters") {
  Env env;
  ImageStore& images = env.db().Images();
  Image web = TestImage("docker.io/library/nginx:1", kDigestA);
  web.labels = {{"tier", "web"}, {"com.example/team", "a"}};
  Image db = TestImage("docker.io/library/postgres:15", kDigestB);
  db.labels = {{"tier", "db"}};
  db.target.media_type = "application/vnd.docker.distribution.manifest.v2+json";
  Image plain = TestImage("quay.io/x/y:z", kDigestA);
  for (const Image& image : {web, db, plain}) Must(images.Create("default", image));

  using Names = std::vector<std::string>;
  CHECK(ImageNames(env.db(), "default", {"name==quay.io/x/y:z"}) == Names{"quay.io/x/y:z"});
  CHECK(ImageNames(env.db(), "default", {"name~=^docker.io/"}) ==
        Names{"docker.io/library/nginx:1", "docker.io/library/postgres:15"});
  CHECK(ImageNames(env.db(), "default", {"target.digest==" + kDigestA}) ==
        Names{"docker.io/library/nginx:1", "quay.io/x/y:z"});
  CHECK(ImageNames(env.db(), "default", {"target.mediatype~=docker"}) == Names{"docker.io/library/postgres:15"});
  CHECK(ImageNames(env.db(), "default", {"labels.tier"}) ==
        Names{"docker.io/library/nginx:1", "docker.io/library/postgres:15"});
  CHECK(ImageNames(env.db(), "default", {"labels.\"com.example/team\"==a"}) == Names{"docker.io/library/nginx:1"});
  CHECK(ImageNames(env.db(), "default", {"labels.tier==web", "labels.tier==db"}) ==
        Names{"docker.io/library/nginx:1", "docker.io/library/postgres:15"});
  CHECK(ImageNames(env.db(), "default", {"labels.tier==web,name~=postgres"}).empty());
  CHECK(CodeOf(images.List("default", {"labels."})) == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("images: update with field paths") {
  Env env;
  ImageStore& images = env.db().Images();
  Image image = TestImage("img", kDigestA);
  image.labels = {{"a", "1"}, {"b", "2"}};
  image.target.annotations = {{"x", "1"}, {"y", "2"}};
  Image created = Must(images.Create("default", image));
  env.clock().Advance(absl::Seconds(5));

  Image update = TestImage("img", kDigestB, 200);
  update.labels = {{"a", "new"}, {"c", "3"}};
  update.target.annotations = {{"x", "new"}, {"z", "3"}};

  SECTION("labels.<key> and annotations.<key>") {
    Image updated = Must(images.Update("default", update, {"labels.a", "labels.b", "annotations.z"}));
    CHECK(updated.labels == Labels{{"a", "new"}});
    CHECK(updated.target.annotations == Labels{{"x", "1"}, {"y", "2"}, {"z", "3"}});
    CHECK(updated.target.digest == kDigestA);
    CHECK(updated.created_at == created.created_at);
    CHECK(updated.updated_at == created.created_at + absl::Seconds(5));
    Image got = Must(images.Get("default", "img"));
    CHECK(got.labels == updated.labels);
    CHECK(got.target.annotations == updated.target.annotations);
    CHECK(got.updated_at == updated.updated_at);
  }
  SECTION("labels, annotations and target as a whole") {
    Image updated = Must(images.Update("default", update, {"labels", "target"}));
    CHECK(updated.labels == update.labels);
    CHECK(updated.target.digest == kDigestB);
    CHECK(updated.target.size == 200);
    CHECK(updated.target.annotations == update.target.annotations);
    updated = Must(images.Update("default", TestImage("img", kDigestA), {"annotations"}));
    CHECK(updated.target.annotations.empty());
    CHECK(updated.target.digest == kDigestB);
  }
  SECTION("no paths: everything but created_at") {
    Image updated = Must(images.Update("default", update, {}));
    CHECK(updated.labels == update.labels);
    CHECK(updated.target.digest == kDigestB);
    CHECK(updated.created_at == created.created_at);
  }
  SECTION("errors") {
    CHECK(CodeOf(images.Update("default", update, {"name"})) == absl::StatusCode::kInvalidArgument);
    CHECK(MessageOf(images.Update("default", update, {"name"})) == "cannot update \"name\" field on image \"img\"");
    CHECK(CodeOf(images.Update("default", TestImage("img", "bad"), {"target"})) == absl::StatusCode::kInvalidArgument);
    CHECK(CodeOf(images.Update("default", TestImage("nope", kDigestA), {})) == absl::StatusCode::kNotFound);
    CHECK(CodeOf(images.Update("default", TestImage("", kDigestA), {})) == absl::StatusCode::kInvalidArgument);
    CHECK(Must(images.Get("default", "img")).target.digest == kDigestA);  // nothing changed
  }
}

TEST_CASE("images: namespaces do not see each other's") {
  Env env;
  ImageStore& images = env.db().Images();
  Must(images.Create("one", TestImage("img", kDigestA)));
  Must(images.Create("two", TestImage("img", kDigestB)));
  CHECK(Must(images.Get("one", "img")).target.digest == kDigestA);
  CHECK(Must(images.Get("two", "img")).target.digest == kDigestB);
  Must(images.Delete("one", "img"));
  CHECK(CodeOf(images.Get("one", "img")) == absl::StatusCode::kNotFound);
  CHECK(Must(images.Get("two", "img")).target.digest == kDigestB);
  CHECK(Must(images.List("three", {})).empty());
}

}  // namespace
}  // namespace liman::containerd::metadata::testing
