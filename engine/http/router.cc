#include "engine/http/router.h"

#include <charconv>
#include <optional>
#include <utility>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine::http {

const std::string& Call::Param(const std::string& name) const {
  static const std::string kEmpty;
  auto found = params.find(name);
  return found == params.end() ? kEmpty : found->second;
}

absl::StatusOr<nlohmann::json> Call::BodyJson() const {
  if (request.body.empty()) return nlohmann::json();
  nlohmann::json parsed = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InvalidArgumentError("invalid JSON in the request body");
  return parsed;
}

void Call::Json(int status, const nlohmann::json& body) {
  response.Reply(status, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition: return 409;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

void ReplyError(ResponseWriter& response, int status, std::string_view message) {
  response.Reply(status, "application/json",
                 nlohmann::json{{"message", message}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                     "\n");
}

void Router::Add(std::string method, std::string pattern, RouteHandler handler, BodyMode body) {
  std::vector<std::string> segments = absl::StrSplit(pattern, '/', absl::SkipEmpty());
  routes_.push_back(Route{std::move(method), std::move(segments), std::move(handler), body});
}

const Router::Route* Router::Find(const std::string& method, std::string_view path,
                                  std::map<std::string, std::string>& params) const {
  std::vector<std::string> segments = absl::StrSplit(absl::string_view(path.data(), path.size()), '/', absl::SkipEmpty());
  for (const Route& route : routes_) {
    bool method_matches = route.method == method || (route.method == "GET" && method == "HEAD");
    if (!method_matches) continue;
    params.clear();
    if (Match(route.segments, 0, segments, 0, params)) return &route;
  }
  return nullptr;
}

bool Router::Match(const std::vector<std::string>& pattern, size_t pi, const std::vector<std::string>& path, size_t si,
                   std::map<std::string, std::string>& params) {
  if (pi == pattern.size()) return si == path.size();
  const std::string& want = pattern[pi];
  bool variable = want.size() > 2 && want.front() == '{' && want.back() == '}';
  if (!variable) return si < path.size() && path[si] == want && Match(pattern, pi + 1, path, si + 1, params);
  if (si == path.size()) return false;
  std::string name = want.substr(1, want.size() - 2);
  if (name.back() != '*') {
    params[name] = path[si];
    return Match(pattern, pi + 1, path, si + 1, params);
  }
  name.pop_back();
  for (size_t end = si + 1; end <= path.size(); ++end) {
    if (Match(pattern, pi + 1, path, end, params)) {
      params[name] = absl::StrJoin(path.begin() + si, path.begin() + end, "/");
      return true;
    }
  }
  return false;
}

namespace {

// "/v1.41/containers/json" -> {"1.41", "/containers/json"}; a path without a version prefix
// keeps it all (moby's versionMiddleware).
struct VersionedPath {
  std::optional<std::string_view> version;
  std::string_view rest;
};

VersionedPath SplitApiVersion(std::string_view path) {
  if (!(path.size() > 2 && path.substr(0, 2) == "/v" && (path[2] >= '0' && path[2] <= '9'))) return {std::nullopt, path};
  size_t slash = path.find('/', 1);
  std::string_view version = path.substr(2, slash == std::string_view::npos ? std::string_view::npos : slash - 2);
  return {version, slash == std::string_view::npos ? std::string_view("/") : path.substr(slash)};
}

// The body of a kStreamed route when the server read it whole (its streams_body was not set).
class BufferedBodyStream : public BodyStream {
 public:
  explicit BufferedBodyStream(std::string_view body) : body_(body) {}
  absl::StatusOr<std::string_view> Next() override { return std::exchange(body_, std::string_view()); }

 private:
  std::string_view body_;
};

}  // namespace

bool Router::StreamsBody(const HttpRequest& request) const {
  std::map<std::string, std::string> params;
  const Route* route = Find(request.method, SplitApiVersion(request.path).rest, params);
  return route != nullptr && route->body == BodyMode::kStreamed;
}

void Router::Handle(Exchange& exchange) const {
  const HttpRequest& request = exchange.request;
  VersionedPath path = SplitApiVersion(request.path);
  int minor = kMaxApiMinor;
  if (path.version) {
    std::string_view version = *path.version;
    int major = 0;
    size_t dot = version.find('.');
    bool parsed = dot != std::string_view::npos &&
                  std::from_chars(version.data(), version.data() + dot, major).ec == std::errc() &&
                  std::from_chars(version.data() + dot + 1, version.data() + version.size(), minor).ec == std::errc();
    if (!parsed) {
      ReplyError(exchange.response, 400, fmt::format("invalid API version {}", Quote(version)));
      return;
    }
    if (major > kApiMajor || (major == kApiMajor && minor > kMaxApiMinor)) {
      ReplyError(exchange.response, 400,
                 fmt::format("client version {} is too new. Maximum supported API version is {}", version, kMaxApiVersion));
      return;
    }
    if (major < kApiMajor || minor < kMinApiMinor) {
      ReplyError(exchange.response, 400,
                 fmt::format("client version {} is too old. Minimum supported API version is {}, please upgrade your "
                             "client to a newer version",
                             version, kMinApiVersion));
      return;
    }
  }
  std::map<std::string, std::string> params;
  const Route* route = Find(request.method, path.rest, params);
  if (route == nullptr) {
    ReplyError(exchange.response, 404, "page not found");
    return;
  }
  BufferedBodyStream buffered(request.body);
  BodyStream* body_stream = exchange.body_stream;
  if (route->body == BodyMode::kStreamed && body_stream == nullptr) body_stream = &buffered;
  Call call{request, exchange.response, exchange.leftover, std::move(params), minor, body_stream};
  absl::Status status;
  // A field of the wrong type in a request body surfaces as a json type error deep in a
  // handler: it is the client's mistake (Docker's 400), and must never end the daemon.
  try {
    status = route->handler(call);
  } catch (const nlohmann::json::exception& error) {
    status = absl::InvalidArgumentError(fmt::format("invalid request: {}", error.what()));
  } catch (const std::exception& error) {
    status = absl::InternalError(fmt::format("{} {}: {}", request.method, request.path, error.what()));
  }
  if (!status.ok() && !exchange.response.replied())
    ReplyError(exchange.response, HttpStatusFor(status.code()), std::string(status.message()));
}

}  // namespace liman::engine::http
