#include "containerd/remotes/http_client.h"

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "common/tests/scoped_env.h"
#include "containerd/remotes/tests/test_registry.h"

namespace liman::containerd::remotes {

using testing::FakeHttpServer;
using test_support::ScopedEnv;

TEST_CASE("http client: status, lower-case headers and body; HEAD reads no body") {
  FakeHttpServer server([](const FakeHttpServer::Request& request) {
    return FakeHttpServer::Response{
        .status = request.target == "/missing" ? 404 : 200,
        .headers = {{"Docker-Content-Digest", "sha256:abc"}, {"X-Twice", "1"}, {"X-Twice", "2"}},
        .body = "hello " + request.method};
  });
  HttpClient client;
  absl::StatusOr<HttpResponse> got = client.Do({.url = "http://" + server.addr() + "/v2/?a=b", .headers = {"X-Mine: 7"}});
  REQUIRE(got.ok());
  CHECK(got->status == 200);
  CHECK(got->body == "hello GET");
  CHECK(got->Header("docker-content-digest") == "sha256:abc");
  CHECK(got->HeaderValues("x-twice") == std::vector<std::string>{"1", "2"});
  CHECK(got->url == "http://" + server.addr() + "/v2/?a=b");
  std::vector<FakeHttpServer::Request> seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/v2/?a=b");
  CHECK(seen[0].headers["x-mine"] == "7");
  CHECK(seen[0].headers["host"] == server.addr());

  // The body announced by Content-Length never comes: a HEAD must not wait for it.
  absl::StatusOr<HttpResponse> head = client.Do({.method = "HEAD", .url = "http://" + server.addr() + "/x"});
  REQUIRE(head.ok());
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  CHECK(head->Header("content-length") == "10");  // "hello HEAD", never sent

  absl::StatusOr<HttpResponse> missing = client.Do({.url = "http://" + server.addr() + "/missing"});
  REQUIRE(missing.ok());
  CHECK(missing->status == 404);
  CHECK(missing->body == "hello GET");
}

TEST_CASE("http client: a 2xx body goes to on_body; limits on kept bodies") {
  std::string big(300000, 'z');
  FakeHttpServer server([&](const FakeHttpServer::Request& request) {
    return FakeHttpServer::Response{.status = request.target == "/error" ? 500 : 200, .body = big};
  });
  HttpClient client;
  std::string streamed;
  HttpRequest request{.url = "http://" + server.addr() + "/blob"};
  request.on_body = [&](const HttpResponse& head, std::string_view chunk) {
    CHECK(head.status == 200);
    streamed.append(chunk);
    return absl::OkStatus();
  };
  absl::StatusOr<HttpResponse> got = client.Do(request);
  REQUIRE(got.ok());
  CHECK(streamed == big);
  CHECK(got->body.empty());

  request.on_body = [](const HttpResponse&, std::string_view) { return absl::DataLossError("digest mismatch"); };
  CHECK(client.Do(request).status() == absl::DataLossError("digest mismatch"));

  absl::StatusOr<HttpResponse> too_big = client.Do({.url = "http://" + server.addr() + "/blob", .body_limit = 1000});
  CHECK(too_big.status().code() == absl::StatusCode::kOutOfRange);
  absl::StatusOr<HttpResponse> error = client.Do({.url = "http://" + server.addr() + "/error", .body_limit = 1000});
  REQUIRE(error.ok());  // an error body is cut, not refused
  CHECK(error->body.size() == 1000);
}

TEST_CASE("http client: a body cut short is an error, not a short success") {
  FakeHttpServer server([](const FakeHttpServer::Request&) {
    return FakeHttpServer::Response{.body = std::string(5000, 'a'), .send_bytes = 100};
  });
  HttpClient client;
  absl::StatusOr<HttpResponse> got = client.Do({.url = "http://" + server.addr() + "/blob"});
  REQUIRE_FALSE(got.ok());
  CHECK(got.status().code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(got.status().message()).find("GET \"http://" + server.addr() + "/blob\"") != std::string::npos);
}

TEST_CASE("http client: redirects are followed; Authorization stays with its origin") {
  FakeHttpServer storage([](const FakeHttpServer::Request&) { return FakeHttpServer::Response{.body = "stored"}; });
  FakeHttpServer origin([&](const FakeHttpServer::Request& request) {
    if (request.target == "/same") return FakeHttpServer::Response{.status = 307, .headers = {{"Location", "/final"}}};
    if (request.target == "/away")
      return FakeHttpServer::Response{.status = 302, .headers = {{"Location", "http://" + storage.addr() + "/blob"}}};
    if (request.target == "/loop") return FakeHttpServer::Response{.status = 301, .headers = {{"Location", "/loop"}}};
    return FakeHttpServer::Response{.body = "final"};
  });
  HttpClient client;
  std::vector<std::string> headers = {"Authorization: Bearer secret"};
  absl::StatusOr<HttpResponse> same = client.Do({.url = "http://" + origin.addr() + "/same", .headers = headers});
  REQUIRE(same.ok());
  CHECK(same->body == "final");
  CHECK(same->url == "http://" + origin.addr() + "/final");
  CHECK(origin.requests().back().headers["authorization"] == "Bearer secret");

  absl::StatusOr<HttpResponse> away = client.Do({.url = "http://" + origin.addr() + "/away", .headers = headers});
  REQUIRE(away.ok());
  CHECK(away->body == "stored");
  REQUIRE(storage.requests().size() == 1);
  CHECK(storage.requests()[0].headers.count("authorization") == 0);

  absl::StatusOr<HttpResponse> loop = client.Do({.url = "http://" + origin.addr() + "/loop"});
  REQUIRE_FALSE(loop.ok());
  CHECK(std::string(loop.status().message()).find("more than 10 redirects") != std::string::npos);
}

TEST_CASE("http client: transport failures name the request; https to a plain server is a TLS failure") {
  FakeHttpServer server([](const FakeHttpServer::Request&) { return FakeHttpServer::Response{}; });
  HttpClient client;
  absl::StatusOr<HttpResponse> tls = client.Do({.url = "https://" + server.addr() + "/v2/", .verify_tls = false});
  REQUIRE_FALSE(tls.ok());
  CHECK(HttpClient::IsTlsFailure(tls.status()));

  std::string closed = "127.0.0.1:" + std::to_string(testing::FreePort());
  absl::StatusOr<HttpResponse> refused = client.Do({.url = "http://" + closed + "/v2/"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kUnavailable);
  CHECK_FALSE(HttpClient::IsTlsFailure(refused.status()));
  CHECK(std::string(refused.status().message()) ==
        "GET \"http://" + closed + "/v2/\": connect to " + closed + ": connection refused");

  CHECK(client.Do({.url = "ftp://" + server.addr() + "/"}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(client.Do({.url = "not a url"}).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("http client: a transfer that is cancelled stops while the server stalls") {
  signal(SIGPIPE, SIG_IGN);  // the fake server answers the connection the client gave up
  std::atomic<bool> release{false};
  FakeHttpServer server([&](const FakeHttpServer::Request&) {
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return FakeHttpServer::Response{.body = "late"};
  });
  HttpClient client;
  std::atomic<bool> cancelled{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancelled.store(true);
  });
  absl::StatusOr<HttpResponse> got = client.Do({.url = "http://" + server.addr() + "/slow", .cancelled = &cancelled});
  canceller.join();
  release.store(true);
  CHECK(got.status().code() == absl::StatusCode::kCancelled);
}

TEST_CASE("http client: requests go through the proxy of the environment, unless no_proxy or loopback") {
  FakeHttpServer proxy([](const FakeHttpServer::Request& request) {
    return FakeHttpServer::Response{.body = "via proxy " + request.target};
  });
  FakeHttpServer direct([](const FakeHttpServer::Request&) { return FakeHttpServer::Response{.body = "direct"}; });
  ScopedEnv http_proxy("http_proxy", "http://" + proxy.addr());
  ScopedEnv no_proxy("no_proxy", "skip.test, .inner.test");
  HttpClient client;
  // registry.test resolves nowhere: only the proxy can answer for it.
  absl::StatusOr<HttpResponse> proxied = client.Do({.url = "http://registry.test:5000/v2/"});
  REQUIRE(proxied.ok());
  CHECK(proxied->body == "via proxy http://registry.test:5000/v2/");
  CHECK(proxy.requests().back().headers["host"] == "registry.test:5000");

  absl::StatusOr<HttpResponse> loopback = client.Do({.url = "http://" + direct.addr() + "/v2/"});
  REQUIRE(loopback.ok());
  CHECK(loopback->body == "direct");

  for (std::string host : {"skip.test", "a.inner.test"}) {
    absl::StatusOr<HttpResponse> skipped = client.Do({.url = "http://" + host + ":5000/v2/"});
    REQUIRE_FALSE(skipped.ok());  // tried directly, and the name does not resolve
    CHECK(std::string(skipped.status().message()).find("resolve \"" + host + "\"") != std::string::npos);
  }
  CHECK(proxy.requests().size() == 1);
}

}  // namespace liman::containerd::remotes
