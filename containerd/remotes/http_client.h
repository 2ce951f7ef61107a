// HTTP for the registry client: HTTP/1.1 over sockets, responses parsed by http_parser, TLS by
// OpenSSL. One HttpClient is shared by every thread of a pull; connections are kept alive per
// origin for the next request. Redirects are followed (blob downloads redirect to object
// storage), and an Authorization header is never sent to another origin than the request's.
//
// Not libcurl: Debian's libcurl loads some thirty shared libraries (LDAP, Kerberos, RTMP, SSH,
// GnuTLS, p11-kit…) into the daemon, and with OpenSSL's start-up they cost liman-containerd about
// 7 MB of its idle resident memory; a registry client needs GET and HEAD, and PUT and POST with a
// body of known length to push.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::containerd::remotes {

// Whether a host name (without port or brackets) names this machine: "localhost", a name under
// ".localhost" (RFC 6761 section 6.3), 127.0.0.0/8 or ::1. Plain HTTP is allowed to such hosts, and
// proxies are never used for them.
bool IsLoopbackHost(std::string_view host);

struct HttpResponse {
  long status = 0;
  std::string url;  // the final URL after redirects
  // Headers of the final response, names in lower case, in arrival order.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body when it was not streamed to HttpRequest::on_body (error bodies always land here).
  std::string body;

  // The first value of header `name` (lower case), if present.
  std::optional<std::string> Header(std::string_view name) const;
  std::vector<std::string> HeaderValues(std::string_view name) const;
};

struct HttpRequest {
  std::string method = "GET";  // "GET", "HEAD"; "POST", "PUT", "PATCH" with a body
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // A body of body_size bytes (sent with Content-Length; 0 for an empty one) that write_body
  // hands over in pieces through `write`. It may be called again when the request goes again
  // (a kept-alive connection the server had closed, a 401 answered): it must start over each
  // time. A request with a body does not follow redirects: the 3xx response is the result.
  std::optional<int64_t> body_size;
  std::function<absl::Status(const std::function<absl::Status(std::string_view)>& write)> write_body;
  bool verify_tls = true;
  // Largest body kept in HttpResponse::body; a longer successful body fails the request
  // (kOutOfRange), a longer error body is cut.
  size_t body_limit = 8 << 20;
  // Receives the body of a 2xx response chunk by chunk instead of HttpResponse::body, with the
  // response's status and headers. An error it returns aborts the transfer and is what Do
  // returns.
  std::function<absl::Status(const HttpResponse& head, std::string_view chunk)> on_body;
  // Aborts the transfer (kCancelled) once it turns true; polled about every second and at every
  // chunk.
  const std::atomic<bool>* cancelled = nullptr;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs `request`. Any HTTP status is a successful result; transport failures (DNS,
  // connect, TLS, reset) are kUnavailable naming the method and URL: `GET "https://…": <cause>`.
  absl::StatusOr<HttpResponse> Do(const HttpRequest& request);

  // Whether a failure of Do came from TLS itself (the peer speaks plain HTTP, certificate
  // problems), as opposed to the network: the registry client then tries plain http where
  // that is allowed.
  static bool IsTlsFailure(const absl::Status& status);

  // Percent-encodes a query parameter value.
  static std::string Escape(std::string_view value);

 private:
  struct Share;
  std::unique_ptr<Share> share_;
};

}  // namespace liman::containerd::remotes
