#include "containerd/remotes/registry.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "containerd/remotes/tests/test_registry.h"

namespace liman::containerd::remotes {
namespace {

using testing::FakeHttpServer;
using testing::MakeConfig;
using testing::MakeLayer;
using testing::MakeManifest;
using testing::TarEntry;
using testing::TempDir;
using testing::TestBlob;
using testing::TestLayer;
using testing::TestRegistry;

std::unique_ptr<RegistryClient> Client(const std::string& ref, RegistryOptions options = {}) {
  if (options.docker_config.empty()) options.docker_config = "/nonexistent/config.json";
  absl::StatusOr<Reference> parsed = ParseReference(ref);
  REQUIRE(parsed.ok());
  absl::StatusOr<std::unique_ptr<RegistryClient>> client = RegistryClient::Create(*parsed, options);
  REQUIRE(client.ok());
  return std::move(*client);
}

absl::StatusOr<std::string> FetchAll(RegistryClient& client, const Descriptor& desc) {
  std::string data;
  absl::Status status = client.FetchBlob(desc, [&](std::string_view chunk) {
    data.append(chunk);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return data;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

struct PushedImage {
  TestLayer layer;
  TestBlob config;
  TestBlob manifest;
};

PushedImage PushSmallImage(const std::string& registry, const std::string& repo, const std::string& tag) {
  PushedImage image;
  image.layer = MakeLayer({{.path = "hello", .data = "hello from " + repo}});
  image.config = MakeConfig({image.layer.diff_id});
  image.manifest = MakeManifest(image.config, {image.layer});
  REQUIRE(testing::PushImage(registry, repo, tag, {image.layer}, image.config, image.manifest).ok());
  return image;
}

TEST_CASE("registry client: resolve and fetch against docker-registry") {
  TestRegistry registry;
  PushedImage image = PushSmallImage(registry.addr(), "test/app", "v1");
  auto client = Client(registry.addr() + "/test/app:v1");

  absl::StatusOr<Descriptor> resolved = client->Resolve("v1");
  REQUIRE(resolved.ok());
  CHECK(resolved->digest == image.manifest.digest);
  CHECK(resolved->size == image.manifest.size());
  CHECK(resolved->media_type == image.manifest.media_type);

  absl::StatusOr<RegistryClient::FetchedManifest> manifest = client->GetManifest("v1");
  REQUIRE(manifest.ok());
  CHECK(manifest->body == image.manifest.data);
  CHECK(manifest->descriptor.digest == image.manifest.digest);
  CHECK(manifest->descriptor.media_type == image.manifest.media_type);
  REQUIRE(client->GetManifest(image.manifest.digest).ok());
  REQUIRE(client->Resolve(image.manifest.digest).ok());

  absl::StatusOr<std::string> config = client->FetchVerified(DescriptorOf(image.config), 1 << 20);
  REQUIRE(config.ok());
  CHECK(*config == image.config.data);
  absl::StatusOr<std::string> layer = FetchAll(*client, DescriptorOf(image.layer.blob));
  REQUIRE(layer.ok());
  CHECK(*layer == image.layer.blob.data);
}

TEST_CASE("registry client: registry errors become clear statuses") {
  TestRegistry registry;
  PushedImage image = PushSmallImage(registry.addr(), "test/app", "v1");
  auto client = Client(registry.addr() + "/test/app:v1");

  absl::Status missing_tag = client->GetManifest("nope").status();
  CHECK(missing_tag.code() == absl::StatusCode::kNotFound);
  CHECK(Message(missing_tag) == "manifest unknown");
  CHECK(absl::IsNotFound(client->Resolve("nope").status()));

  auto other = Client(registry.addr() + "/no/such:repo");
  CHECK(absl::IsNotFound(other->GetManifest("repo").status()));

  Descriptor unknown_blob{
      .media_type = "application/octet-stream", .digest = "sha256:" + std::string(64, '0'), .size = 1};
  absl::Status blob = FetchAll(*client, unknown_blob).status();
  CHECK(blob.code() == absl::StatusCode::kNotFound);
  CHECK_THAT(Message(blob), Catch::Contains(unknown_blob.digest) && Catch::Contains("blob unknown"));

  // The registry's bytes do not match a descriptor that lies about size or digest.
  Descriptor short_config = DescriptorOf(image.config);
  short_config.size -= 1;
  CHECK_FALSE(client->FetchVerified(short_config, 1 << 20).ok());
  Descriptor short_layer = DescriptorOf(image.layer.blob);
  short_layer.size -= 1;
  absl::Status excess = FetchAll(*client, short_layer).status();
  CHECK(excess.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(Message(excess), Catch::Contains("more than"));
  Descriptor big_config = DescriptorOf(image.config);
  CHECK(absl::IsOutOfRange(client->FetchVerified(big_config, 10).status()));

  // Nothing listens: a transport error naming the URL.
  int port = testing::FreePort();
  auto unreachable = Client(fmt::format("127.0.0.1:{}/x:y", port));
  absl::Status refused = unreachable->GetManifest("y").status();
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(Message(refused), Catch::Contains(fmt::format("127.0.0.1:{}", port)));
}

TEST_CASE("registry client: basic authentication (htpasswd) with given and config.json credentials") {
  TestRegistry registry(TestRegistry::Options{.users = {{"alice", "s3cret"}}});
  std::string basic = "Authorization: Basic " + absl::Base64Escape("alice:s3cret");
  TestLayer layer = MakeLayer({{.path = "f", .data = "x"}});
  TestBlob config = MakeConfig({layer.diff_id});
  TestBlob manifest = MakeManifest(config, {layer});
  REQUIRE(testing::PushBlob(registry.addr(), "private/app", layer.blob, {basic}).ok());
  REQUIRE(testing::PushBlob(registry.addr(), "private/app", config, {basic}).ok());
  REQUIRE(testing::PushManifest(registry.addr(), "private/app", "v1", manifest, {basic}).ok());
  std::string ref = registry.addr() + "/private/app:v1";

  absl::Status anonymous = Client(ref)->GetManifest("v1").status();
  CHECK(anonymous.code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(Message(anonymous), Catch::Contains("no credentials"));

  auto wrong = Client(ref, {.credentials = Credentials{"alice", "wrong"}});
  absl::Status refused = wrong->GetManifest("v1").status();
  CHECK(refused.code() == absl::StatusCode::kUnauthenticated);
  CHECK_THAT(Message(refused), Catch::Contains("pull access denied"));

  auto given = Client(ref, {.credentials = Credentials{"alice", "s3cret"}});
  absl::StatusOr<RegistryClient::FetchedManifest> fetched = given->GetManifest("v1");
  REQUIRE(fetched.ok());
  CHECK(fetched->body == manifest.data);
  absl::StatusOr<std::string> blob = FetchAll(*given, DescriptorOf(layer.blob));
  REQUIRE(blob.ok());
  CHECK(*blob == layer.blob.data);

  TempDir dir;
  std::string config_path = JoinPath(dir.path(), "config.json");
  REQUIRE(WriteFileAtomic(config_path, fmt::format(R"({{"auths":{{"{}":{{"auth":"{}"}}}}}})", registry.addr(),
                                                   absl::Base64Escape("alice:s3cret")))
              .ok());
  auto from_config = Client(ref, {.docker_config = config_path});
  REQUIRE(from_config->GetManifest("v1").ok());
}

// A registry that wants bearer tokens from its token service, and redirects blob downloads to
// "storage" on another host name.
struct TokenRegistry {
  std::string token = "tok-123";
  TestBlob manifest =
      testing::MakeBlob(R"({"schemaVersion":2,"config":{},"layers":[]})", "application/vnd.oci.image.manifest.v1+json");
  TestBlob blob = testing::MakeBlob(std::string(100000, 'b'), "application/octet-stream");
  std::unique_ptr<FakeHttpServer> server;

  TokenRegistry() {
    server = std::make_unique<FakeHttpServer>([this](const FakeHttpServer::Request& request) {
      FakeHttpServer::Response response;
      auto auth = request.headers.find("authorization");
      bool authorized = auth != request.headers.end() && auth->second == "Bearer " + token;
      std::string challenge = fmt::format(R"(Bearer realm="http://127.0.0.1:{}/token",service="fake")", server->port());
      if (request.target.rfind("/token?", 0) == 0) {
        response.body = fmt::format(R"({{"token":"{}","expires_in":300}})", token);
      } else if (request.target.rfind("/storage/", 0) == 0) {
        response.body = blob.data;
      } else if (!authorized) {
        response.status = 401;
        response.headers.push_back({"WWW-Authenticate", challenge});
        response.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})";
      } else if (request.target == "/v2/") {
        response.body = "{}";
      } else if (request.target == "/v2/test/app/manifests/v1") {
        response.headers.push_back({"Content-Type", manifest.media_type});
        response.body = manifest.data;
      } else if (request.target == "/v2/test/app/blobs/" + blob.digest) {
        response.status = 307;
        response.headers.push_back({"Location", fmt::format("http://localhost:{}/storage/blob", server->port())});
      } else {
        response.status = 404;
      }
      return response;
    });
  }
};

TEST_CASE("registry client: bearer token from the challenge's realm, with basic credentials") {
  TokenRegistry fake;
  auto client = Client(fake.server->addr() + "/test/app:v1", {.credentials = Credentials{"bob", "pw"}});
  absl::StatusOr<RegistryClient::FetchedManifest> manifest = client->GetManifest("v1");
  REQUIRE(manifest.ok());
  CHECK(manifest->body == fake.manifest.data);

  std::vector<FakeHttpServer::Request> requests = fake.server->requests();
  auto token_request =
      std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.target.rfind("/token?", 0) == 0; });
  REQUIRE(token_request != requests.end());
  CHECK_THAT(token_request->target,
             Catch::Contains("service=fake") && Catch::Contains("scope=repository%3Atest%2Fapp%3Apull"));
  CHECK(token_request->headers["authorization"] == "Basic " + absl::Base64Escape("bob:pw"));
  // The ping's 401 got the token: the manifest request carried it on the first try.
  CHECK(std::count_if(requests.begin(), requests.end(),
                      [](const auto& r) { return r.target == "/v2/test/app/manifests/v1"; }) == 1);
}

TEST_CASE("registry client: docker login's check, against Basic and token registries and an open one") {
  auto registry_only = [](const std::string& host, std::optional<Credentials> credentials) {
    RegistryOptions options{.credentials = std::move(credentials), .docker_config = "/nonexistent/config.json"};
    absl::StatusOr<std::unique_ptr<RegistryClient>> client = RegistryClient::Create(Reference{.domain = host}, options);
    REQUIRE(client.ok());
    return std::move(*client);
  };
  TestRegistry basic(TestRegistry::Options{.users = {{"alice", "s3cret"}}});
  CHECK(registry_only(basic.addr(), Credentials{"alice", "s3cret"})->CheckLogin().ok());
  absl::Status wrong = registry_only(basic.addr(), Credentials{"alice", "nope"})->CheckLogin();
  CHECK(wrong.code() == absl::StatusCode::kUnauthenticated);
  CHECK(Message(wrong) == fmt::format("login attempt to http://{}/v2/ failed with status: 401 Unauthorized", basic.addr()));

  // A token registry: the token is asked for with the credentials and without a scope.
  TokenRegistry token;
  REQUIRE(registry_only(token.server->addr(), Credentials{"bob", "pw"})->CheckLogin().ok());
  std::vector<FakeHttpServer::Request> requests = token.server->requests();
  auto token_request =
      std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.target.rfind("/token?", 0) == 0; });
  REQUIRE(token_request != requests.end());
  CHECK_THAT(token_request->target, !Catch::Contains("scope="));
  CHECK(token_request->headers["authorization"] == "Basic " + absl::Base64Escape("bob:pw"));

  TestRegistry open;
  CHECK(registry_only(open.addr(), Credentials{"anyone", "anything"})->CheckLogin().ok());
}

TEST_CASE("registry client: redirected blob downloads do not carry the token to another host") {
  TokenRegistry fake;
  auto client = Client(fake.server->addr() + "/test/app:v1");  // anonymous token
  absl::StatusOr<std::string> blob = FetchAll(*client, DescriptorOf(fake.blob));
  REQUIRE(blob.ok());
  CHECK(*blob == fake.blob.data);
  std::vector<FakeHttpServer::Request> requests = fake.server->requests();
  auto token_request =
      std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.target.rfind("/token?", 0) == 0; });
  REQUIRE(token_request != requests.end());
  CHECK(token_request->headers.count("authorization") == 0);
  auto storage =
      std::find_if(requests.begin(), requests.end(), [](const auto& r) { return r.target == "/storage/blob"; });
  REQUIRE(storage != requests.end());
  CHECK(storage->headers.count("authorization") == 0);
  CHECK(storage->headers["host"].rfind("localhost:", 0) == 0);
}

TEST_CASE("registry client: a blob download that breaks is resumed with a range request") {
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  TestBlob blob = testing::MakeBlob(data, "application/octet-stream");
  bool honour_range = GENERATE(true, false);
  int blob_requests = 0;
  FakeHttpServer server([&](const FakeHttpServer::Request& request) {
    FakeHttpServer::Response response;
    if (request.target != "/v2/test/app/blobs/" + blob.digest) return response;  // the ping
    ++blob_requests;
    auto range = request.headers.find("range");
    if (range == request.headers.end()) {
      response.body = data;
      response.send_bytes = 123457;  // then the connection drops
    } else if (honour_range) {
      size_t from = std::stoul(range->second.substr(std::string("bytes=").size()));
      response.status = 206;
      response.headers.push_back({"Content-Range", fmt::format("bytes {}-{}/{}", from, data.size() - 1, data.size())});
      response.body = data.substr(from);
    } else {
      response.body = data;  // a server that ignores Range sends everything again
    }
    return response;
  });
  auto client = Client(server.addr() + "/test/app:v1");
  absl::StatusOr<std::string> fetched = FetchAll(*client, DescriptorOf(blob));
  REQUIRE(fetched.ok());
  CHECK(fetched->size() == data.size());
  CHECK(*fetched == data);
  CHECK(blob_requests == 2);
}

TEST_CASE("registry client: content that does not match a requested digest is refused") {
  TestBlob real =
      testing::MakeBlob(R"({"schemaVersion":2,"config":{},"layers":[]})", "application/vnd.oci.image.manifest.v1+json");
  FakeHttpServer server([&](const FakeHttpServer::Request& request) {
    FakeHttpServer::Response response;
    response.headers.push_back({"Content-Type", real.media_type});
    response.body = real.data + " ";  // not what the digest names
    return response;
  });
  auto client = Client(server.addr() + "/test/app@" + real.digest);
  absl::Status status = client->GetManifest(real.digest).status();
  CHECK(status.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(Message(status), Catch::Contains(real.digest));
  CHECK(absl::IsDataLoss(client->FetchVerified(DescriptorOf(real), 1 << 20).status()));
}

}  // namespace
}  // namespace liman::containerd::remotes
