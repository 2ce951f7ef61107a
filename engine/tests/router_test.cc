// The router: API version prefixes (too new, too old, unversioned), patterns with a multi-segment
// image name, and errors turned into Docker's status and {"message"}.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "engine/http/router.h"

namespace liman::engine::http {
namespace {

struct Result {
  std::string wire;
  std::map<std::string, std::string> params;
  int api_minor = 0;
};

Result Dispatch(const Router& router, std::string method, std::string path, std::string body = "") {
  int pair[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.body = std::move(body);
  HeaderList headers;
  ResponseWriter writer(pair[1], request, headers);
  std::string leftover;
  Exchange exchange{request, writer, leftover};
  router.Handle(exchange);
  ::close(pair[1]);
  Result result;
  char buffer[4096];
  for (ssize_t n; (n = ::read(pair[0], buffer, sizeof buffer)) > 0;) result.wire.append(buffer, static_cast<size_t>(n));
  ::close(pair[0]);
  return result;
}

TEST_CASE("routes match with and without a version prefix; image names keep their slashes") {
  Router router;
  std::map<std::string, std::string> params;
  int minor = 0;
  router.Add("GET", "/images/{name*}/json", [&](Call& call) {
    params = call.params;
    minor = call.api_minor;
    call.Json(200, {{"ok", true}});
    return absl::OkStatus();
  });
  router.Add("DELETE", "/containers/{name}", [&](Call& call) { return absl::NotFoundError("No such container: x"); });

  CHECK(Dispatch(router, "GET", "/v1.24/images/127.0.0.1:5000/a/b:1/json").wire.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(params["name"] == "127.0.0.1:5000/a/b:1");
  CHECK(minor == 24);
  CHECK(Dispatch(router, "GET", "/images/busybox/json").wire.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(minor == kMaxApiMinor);

  Result missing = Dispatch(router, "DELETE", "/v1.41/containers/x");
  CHECK(missing.wire.rfind("HTTP/1.1 404", 0) == 0);
  CHECK(missing.wire.find("{\"message\":\"No such container: x\"}") != std::string::npos);
  CHECK(Dispatch(router, "GET", "/v1.41/nothing").wire.find("page not found") != std::string::npos);
  CHECK(Dispatch(router, "POST", "/images/busybox/json").wire.rfind("HTTP/1.1 404", 0) == 0);
}

TEST_CASE("streamed-body routes are known by their unversioned path; read whole, their body still streams") {
  Router router;
  std::string seen;
  router.Add(
      "POST", "/images/load",
      [&](Call& call) {
        REQUIRE(call.body_stream != nullptr);
        for (absl::StatusOr<std::string_view> piece; (piece = call.body_stream->Next()).ok() && !piece->empty();)
          seen.append(*piece);
        call.NoContent();
        return absl::OkStatus();
      },
      BodyMode::kStreamed);
  router.Add("POST", "/containers/create", [&](Call& call) {
    CHECK(call.body_stream == nullptr);
    call.NoContent();
    return absl::OkStatus();
  });
  auto request = [](std::string method, std::string path) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
  };
  CHECK(router.StreamsBody(request("POST", "/images/load")));
  CHECK(router.StreamsBody(request("POST", "/v1.41/images/load")));
  CHECK_FALSE(router.StreamsBody(request("GET", "/images/load")));
  CHECK_FALSE(router.StreamsBody(request("POST", "/containers/create")));
  CHECK_FALSE(router.StreamsBody(request("POST", "/v1.41/nothing")));

  // A server without streams_body hands the whole body over through the same interface.
  CHECK(Dispatch(router, "POST", "/v1.41/images/load", "archive bytes").wire.rfind("HTTP/1.1 204", 0) == 0);
  CHECK(seen == "archive bytes");
  CHECK(Dispatch(router, "POST", "/containers/create").wire.rfind("HTTP/1.1 204", 0) == 0);
}

TEST_CASE("versions outside 1.24..1.41 are refused as dockerd does") {
  Router router;
  router.Add("GET", "/version", [](Call& call) {
    call.Json(200, nullptr);
    return absl::OkStatus();
  });
  Result too_new = Dispatch(router, "GET", "/v1.51/version");
  CHECK(too_new.wire.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(too_new.wire.find("client version 1.51 is too new. Maximum supported API version is 1.41") != std::string::npos);
  Result too_old = Dispatch(router, "GET", "/v1.12/version");
  CHECK(too_old.wire.find("client version 1.12 is too old. Minimum supported API version is 1.24") != std::string::npos);
  CHECK(Dispatch(router, "GET", "/v1.x/version").wire.rfind("HTTP/1.1 400", 0) == 0);
}

TEST_CASE("a handler's json type error is a 400, not the end of the daemon") {
  Router router;
  router.Add("POST", "/containers/create", [](Call& call) {
    nlohmann::json body = {{"HostConfig", {{"NetworkMode", 5}}}};
    std::string mode = body["HostConfig"].value("NetworkMode", "default");  // throws type_error
    call.Json(201, mode);
    return absl::OkStatus();
  });
  Result result = Dispatch(router, "POST", "/v1.41/containers/create");
  CHECK(result.wire.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(result.wire.find("invalid request: [json.exception.type_error") != std::string::npos);
}

TEST_CASE("status codes follow Docker's error classes") {
  CHECK(HttpStatusFor(absl::StatusCode::kNotFound) == 404);
  CHECK(HttpStatusFor(absl::StatusCode::kAlreadyExists) == 409);
  CHECK(HttpStatusFor(absl::StatusCode::kFailedPrecondition) == 409);
  CHECK(HttpStatusFor(absl::StatusCode::kInvalidArgument) == 400);
  CHECK(HttpStatusFor(absl::StatusCode::kUnimplemented) == 501);
  CHECK(HttpStatusFor(absl::StatusCode::kInternal) == 500);
}

}  // namespace
}  // namespace liman::engine::http
