// Routes of the Docker Engine API: an optional "/v1.NN" prefix (checked against the versions
// limand serves), then method + path pattern. Handlers return absl::Status; an error not yet
// answered becomes Docker's status code and {"message": …} here, at the edge.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/http/http_server.h"
#include "nlohmann/json.hpp"

namespace liman::engine::http {

inline constexpr int kApiMajor = 1;
inline constexpr int kMaxApiMinor = 41;  // what limand advertises
inline constexpr int kMinApiMinor = 24;  // the oldest it accepts
inline constexpr char kMaxApiVersion[] = "1.41";
inline constexpr char kMinApiVersion[] = "1.24";

struct Call {
  const HttpRequest& request;
  ResponseWriter& response;
  std::string& leftover;  // bytes past the request, for Hijack
  std::map<std::string, std::string> params;
  int api_minor = kMaxApiMinor;  // the /v1.NN of the request; the newest when unversioned
  BodyStream* body_stream = nullptr;  // the body as it arrives; set for routes added with kStreamed

  const std::string& Param(const std::string& name) const;
  // The body as JSON; an empty body is `null`. kInvalidArgument for bad JSON (Docker's 400).
  absl::StatusOr<nlohmann::json> BodyJson() const;
  void Json(int status, const nlohmann::json& body);
  void NoContent() { response.Reply(204, "", ""); }
};

using RouteHandler = std::function<absl::Status(Call&)>;

// How a route takes its request body: read whole first (request.body, at most
// HttpServerOptions::max_body_bytes), or through Call::body_stream as it arrives.
enum class BodyMode { kBuffered, kStreamed };

// Docker's status for an error: NotFound 404, AlreadyExists/FailedPrecondition 409 (conflict),
// InvalidArgument/OutOfRange 400, PermissionDenied 403, Unimplemented 501, Unavailable 503,
// anything else 500.
int HttpStatusFor(absl::StatusCode code);
void ReplyError(ResponseWriter& response, int status, std::string_view message);

class Router {
 public:
  // `pattern`: "/containers/{id}/start"; "{name*}" takes one or more segments (image names
  // have slashes), matching as few as lets the rest match.
  void Add(std::string method, std::string pattern, RouteHandler handler, BodyMode body = BodyMode::kBuffered);
  // The server's handler.
  void Handle(Exchange& exchange) const;
  // The server's HttpServerOptions::streams_body: whether the route of `request` is kStreamed.
  bool StreamsBody(const HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    RouteHandler handler;
    BodyMode body;
  };
  // The route for a method and an unversioned path, with its parameters; nullptr if none.
  const Route* Find(const std::string& method, std::string_view path, std::map<std::string, std::string>& params) const;
  static bool Match(const std::vector<std::string>& pattern, size_t pi, const std::vector<std::string>& path,
                    size_t si, std::map<std::string, std::string>& params);
  std::vector<Route> routes_;
};

}  // namespace liman::engine::http
