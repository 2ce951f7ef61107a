#include "containerd/remotes/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <http_parser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/ascii.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace liman::containerd::remotes {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kTlsFailurePayload[] = "type.liman.dev/tls-failure";
constexpr auto kConnectTimeout = std::chrono::seconds(30);
// A transfer that delivers nothing for a minute is dead (the registry went away mid-blob).
constexpr auto kIdleTimeout = std::chrono::seconds(60);
// How often a blocked transfer looks at HttpRequest::cancelled.
constexpr int kPollSliceMs = 1000;
constexpr int kMaxRedirects = 10;
// Connections kept open for the next request to the same origin.
constexpr size_t kIdleConnections = 8;
constexpr size_t kReadChunk = 256 * 1024;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// What a request is sent to: http_parser_parse_url's pieces, the host without IPv6 brackets.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  uint16_t port = 0;
  std::string target;  // path and query, as the request line carries it
  bool ipv6 = false;
  bool ip_literal = false;  // an IPv4 or IPv6 address rather than a name

  std::string Authority() const {
    std::string host_part = ipv6 ? absl::StrCat("[", host, "]") : host;
    bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    return default_port ? host_part : absl::StrCat(host_part, ":", port);
  }
  // Connections are shared per origin.
  std::string Origin() const { return absl::StrCat(scheme, "://", Authority()); }
};

absl::StatusOr<Url> ParseUrl(const std::string& text) {
  http_parser_url parsed;
  http_parser_url_init(&parsed);
  if (http_parser_parse_url(text.data(), text.size(), 0, &parsed) != 0)
    return absl::InvalidArgumentError(absl::StrCat("malformed URL ", Quote(text)));
  auto field = [&](http_parser_url_fields f) -> std::string {
    if (!(parsed.field_set & (1 << f))) return "";
    return text.substr(parsed.field_data[f].off, parsed.field_data[f].len);
  };
  Url url;
  url.scheme = AsciiLower(field(UF_SCHEMA));
  if (url.scheme != "http" && url.scheme != "https")
    return absl::InvalidArgumentError(absl::StrCat("URL ", Quote(text), ": only http and https are supported"));
  url.host = field(UF_HOST);
  if (url.host.empty()) return absl::InvalidArgumentError(absl::StrCat("URL ", Quote(text), " has no host"));
  url.ipv6 = url.host.find(':') != std::string::npos;
  in_addr v4;
  url.ip_literal = url.ipv6 || inet_pton(AF_INET, url.host.c_str(), &v4) == 1;
  url.port = (parsed.field_set & (1 << UF_PORT)) ? parsed.port : (url.scheme == "https" ? 443 : 80);
  url.target = field(UF_PATH);
  if (url.target.empty()) url.target = "/";
  if (std::string query = field(UF_QUERY); !query.empty()) absl::StrAppend(&url.target, "?", query);
  return url;
}

// A Location header against the URL that sent it (RFC 9110 section 10.2.2): absolute, or a path
// on the same origin.
absl::StatusOr<std::string> ResolveLocation(const Url& base, const std::string& location) {
  if (absl::StrContains(location, "://")) return location;
  if (absl::StartsWith(location, "//")) return absl::StrCat(base.scheme, ":", location);
  if (absl::StartsWith(location, "/")) return absl::StrCat(base.Origin(), location);
  std::string directory = base.target.substr(0, base.target.find('?'));
  directory = directory.substr(0, directory.rfind('/') + 1);
  return absl::StrCat(base.Origin(), directory, location);
}


std::string Environment(const char* lower, const char* upper) {
  const char* value = getenv(lower);
  if ((value == nullptr || *value == '\0') && upper != nullptr) value = getenv(upper);
  return value != nullptr ? value : "";
}

// The proxy for `url`, as curl and Go's net/http take it from the environment: https_proxy or
// HTTPS_PROXY for https, http_proxy for http (not HTTP_PROXY, which CGI sets from a request
// header), none for loopback hosts or hosts matching no_proxy (a list of names, each matching
// itself and its subdomains, or "*").
std::optional<Url> ProxyFor(const Url& url);

absl::Status TransportError(const HttpRequest& request, std::string_view cause, bool tls = false) {
  absl::Status status = absl::UnavailableError(fmt::format("{} {}: {}", request.method, Quote(request.url), cause));
  if (tls) status.SetPayload(kTlsFailurePayload, absl::Cord("1"));
  return status;
}

// The error queue of OpenSSL as one line, emptied.
std::string OpenSslErrors() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "TLS failure" : text;
}

// Waits until `fd` is ready for `events`, looking at request.cancelled every second; `deadline`
// bounds the whole wait.
absl::Status WaitReady(int fd, short events, Clock::time_point deadline, const HttpRequest& request) {
  for (;;) {
    if (request.cancelled != nullptr && request.cancelled->load(std::memory_order_relaxed))
      return absl::CancelledError(fmt::format("{} {}: cancelled", request.method, Quote(request.url)));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return TransportError(request, "timed out");
    pollfd pfd{.fd = fd, .events = events, .revents = 0};
    int ready = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, kPollSliceMs)));
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) return TransportError(request, absl::StrCat("poll: ", strerror(errno)));
  }
}

std::optional<Url> ProxyFor(const Url& url) {
  std::string proxy = url.scheme == "https" ? Environment("https_proxy", "HTTPS_PROXY") : Environment("http_proxy", nullptr);
  if (proxy.empty() || IsLoopbackHost(url.host)) return std::nullopt;
  std::string host = AsciiLower(url.host);
  std::vector<std::string> listed = absl::StrSplit(Environment("no_proxy", "NO_PROXY"), ',', absl::SkipWhitespace());
  for (const std::string& item : listed) {
    std::string entry = AsciiLower(Trim(item));
    if (entry == "*") return std::nullopt;
    if (entry.starts_with(".")) entry.erase(0, 1);
    if (size_t colon = entry.rfind(':'); colon != std::string::npos && entry.find(':') == colon)
      entry.resize(colon);  // host:port: the host decides
    if (!entry.empty() && (host == entry || host.ends_with("." + entry))) return std::nullopt;
  }
  if (!absl::StrContains(proxy, "://")) proxy = "http://" + proxy;
  absl::StatusOr<Url> parsed = ParseUrl(proxy);
  if (!parsed.ok() || parsed->scheme != "http") return std::nullopt;  // only plain-HTTP proxies
  return *parsed;
}

}  // namespace

// Named, not anonymous: HttpClient::Share holds these.
namespace transport {

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

// One TCP connection, maybe under TLS; non-blocking, every wait a poll(2) in one-second slices
// so that a cancelled transfer stops within a second.
class Connection {
 public:
  Connection(std::string origin, UniqueFd fd) : origin_(std::move(origin)), fd_(std::move(fd)) {}
  const std::string& origin() const { return origin_; }

  absl::Status Wait(short events, Clock::time_point deadline, const HttpRequest& request) {
    return WaitReady(fd_.get(), events, deadline, request);
  }

  // Asks an HTTP proxy for a tunnel to `url`'s host and port (RFC 9110 section 9.3.6). The proxy
  // says nothing more until the client speaks, so reading up to the blank line takes only its
  // answer.
  absl::Status OpenTunnel(const Url& url, const HttpRequest& request) {
    std::string authority = absl::StrCat(url.ipv6 ? absl::StrCat("[", url.host, "]") : url.host, ":", url.port);
    LIMAN_RETURN_IF_ERROR(WriteAll(absl::StrCat("CONNECT ", authority, " HTTP/1.1\r\nHost: ", authority, "\r\n\r\n"), request));
    std::string answer;
    char byte;
    while (!absl::EndsWith(answer, "\r\n\r\n")) {
      LIMAN_ASSIGN_OR_RETURN(size_t got, Read(&byte, 1, request));
      if (got == 0 || answer.size() > 16384) return TransportError(request, "the proxy closed the tunnel request");
      answer.push_back(byte);
    }
    std::string status_line = answer.substr(0, answer.find("\r\n"));
    std::vector<std::string> parts = absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
    if (parts.size() < 2 || parts[1] != "200")
      return TransportError(request, absl::StrCat("the proxy refused a tunnel to ", authority, ": ", status_line));
    return absl::OkStatus();
  }

  absl::Status StartTls(SSL_CTX* ctx, const Url& url, const HttpRequest& request) {
    ssl_.reset(SSL_new(ctx));
    if (!ssl_ || SSL_set_fd(ssl_.get(), fd_.get()) != 1) return TransportError(request, OpenSslErrors(), true);
    if (url.ip_literal) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), url.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl_.get(), url.host.c_str());  // SNI
      SSL_set1_host(ssl_.get(), url.host.c_str());
    }
    Clock::time_point deadline = Clock::now() + kConnectTimeout;
    for (;;) {
      ERR_clear_error();
      int done = SSL_connect(ssl_.get());
      if (done == 1) return absl::OkStatus();
      int error = SSL_get_error(ssl_.get(), done);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        LIMAN_RETURN_IF_ERROR(Wait(error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline, request));
        continue;
      }
      long verify = SSL_get_verify_result(ssl_.get());
      std::string cause = verify != X509_V_OK ? absl::StrCat("certificate verify failed: ", X509_verify_cert_error_string(verify))
                                              : OpenSslErrors();
      return TransportError(request, absl::StrCat("TLS handshake: ", cause), true);
    }
  }

  absl::Status WriteAll(std::string_view data, const HttpRequest& request) {
    Clock::time_point deadline = Clock::now() + kIdleTimeout;
    while (!data.empty()) {
      ssize_t n;
      short want = POLLOUT;
      if (ssl_) {
        ERR_clear_error();
        int written = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
        if (written > 0) {
          n = written;
        } else {
          int error = SSL_get_error(ssl_.get(), written);
          if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE)
            return TransportError(request, absl::StrCat("TLS write: ", OpenSslErrors()));
          want = error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
          n = -1;
          errno = EAGAIN;
        }
      } else {
        n = send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
      }
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (errno != EAGAIN && errno != EINTR) return TransportError(request, absl::StrCat("send: ", strerror(errno)));
      LIMAN_RETURN_IF_ERROR(Wait(want, deadline, request));
    }
    return absl::OkStatus();
  }

  // Reads what is there, waiting up to kIdleTimeout for something; 0 at the end of the stream.
  absl::StatusOr<size_t> Read(char* buffer, size_t size, const HttpRequest& request) {
    Clock::time_point deadline = Clock::now() + kIdleTimeout;
    for (;;) {
      short want = POLLIN;
      if (ssl_) {
        ERR_clear_error();
        int got = SSL_read(ssl_.get(), buffer, static_cast<int>(size));
        if (got > 0) return static_cast<size_t>(got);
        int error = SSL_get_error(ssl_.get(), got);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        // A peer that closes without close_notify (common for HTTP servers) ends the stream too;
        // a body cut short is still caught by http_parser's framing.
        if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) return 0;
        if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
          std::string cause = OpenSslErrors();
          if (absl::StrContains(cause, "unexpected eof")) return 0;
          return TransportError(request, absl::StrCat("TLS read: ", cause));
        }
        if (error == SSL_ERROR_WANT_WRITE) want = POLLOUT;
      } else {
        ssize_t n = recv(fd_.get(), buffer, size, 0);
        if (n >= 0) return static_cast<size_t>(n);
        if (errno == ECONNRESET) return TransportError(request, "connection reset by peer");
        if (errno != EAGAIN && errno != EINTR) return TransportError(request, absl::StrCat("recv: ", strerror(errno)));
      }
      LIMAN_RETURN_IF_ERROR(Wait(want, deadline, request));
    }
  }

 private:
  std::string origin_;
  UniqueFd fd_;
  std::unique_ptr<SSL, SslDeleter> ssl_;
};

}  // namespace transport

namespace {

using transport::Connection;
using transport::SslCtxDeleter;

absl::StatusOr<UniqueFd> ConnectTcp(const Url& url, const HttpRequest& request) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  std::string port = std::to_string(url.port);
  if (int error = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &addresses); error != 0)
    return TransportError(request, absl::StrCat("resolve ", Quote(url.host), ": ", gai_strerror(error)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(addresses, &freeaddrinfo);
  std::string last_error = "no address";
  Clock::time_point deadline = Clock::now() + kConnectTimeout;
  for (addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    UniqueFd fd(socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address->ai_protocol));
    if (!fd) {
      last_error = strerror(errno);
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd.get(), address->ai_addr, address->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = strerror(errno);
      continue;
    }
    absl::Status writable = WaitReady(fd.get(), POLLOUT, deadline, request);
    if (absl::IsCancelled(writable)) return writable;
    // The outcome of a non-blocking connect(2) is SO_ERROR once the socket is writable.
    int error = 0;
    socklen_t length = sizeof error;
    if (!writable.ok()) {
      last_error = "connect timed out";
    } else if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      last_error = strerror(error != 0 ? error : errno);
    } else {
      return fd;
    }
  }
  return TransportError(request, absl::StrCat("connect to ", url.Authority(), ": ", AsciiLower(last_error)));
}

// Collects one response from http_parser's callbacks, streaming a 2xx body to on_body.
struct ResponseReader {
  http_parser parser;
  http_parser_settings settings;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  std::string field;
  bool in_value = false;
  bool complete = false;
  absl::Status error;

  ResponseReader(const HttpRequest& req, HttpResponse& resp) : request(&req), response(&resp) {
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_header_field = [](http_parser* p, const char* at, size_t n) {
      auto* self = static_cast<ResponseReader*>(p->data);
      if (self->in_value) self->field.clear();
      self->in_value = false;
      self->field.append(at, n);
      return 0;
    };
    settings.on_header_value = [](http_parser* p, const char* at, size_t n) {
      auto* self = static_cast<ResponseReader*>(p->data);
      if (!self->in_value) self->response->headers.emplace_back(AsciiLower(Trim(self->field)), "");
      self->in_value = true;
      self->response->headers.back().second.append(at, n);
      return 0;
    };
    settings.on_headers_complete = [](http_parser* p) {
      auto* self = static_cast<ResponseReader*>(p->data);
      self->response->status = p->status_code;
      for (auto& [name, value] : self->response->headers) value = std::string(Trim(value));
      return self->request->method == "HEAD" ? 1 : 0;  // 1: no body follows (http_parser.h)
    };
    settings.on_body = [](http_parser* p, const char* at, size_t n) {
      auto* self = static_cast<ResponseReader*>(p->data);
      self->error = self->Body(std::string_view(at, n));
      return self->error.ok() ? 0 : -1;
    };
    settings.on_message_complete = [](http_parser* p) {
      static_cast<ResponseReader*>(p->data)->complete = true;
      http_parser_pause(p, 1);  // stop at the end of this response
      return 0;
    };
  }

  absl::Status Body(std::string_view chunk) {
    bool success = response->status >= 200 && response->status < 300;
    if (success && request->on_body) return request->on_body(*response, chunk);
    std::string& body = response->body;
    if (body.size() + chunk.size() > request->body_limit) {
      if (success)
        return absl::OutOfRangeError(fmt::format("{} {}: response body larger than {} bytes", request->method,
                                                 Quote(request->url), request->body_limit));
      body.append(chunk.substr(0, request->body_limit - body.size()));
      return absl::OkStatus();
    }
    body.append(chunk);
    return absl::OkStatus();
  }

  // Feeds bytes (none: the end of the stream). Fails on malformed HTTP or a callback's error.
  absl::Status Feed(const char* data, size_t size) {
    size_t used = http_parser_execute(&parser, &settings, data, size);
    if (!error.ok()) return error;
    http_errno code = HTTP_PARSER_ERRNO(&parser);
    if (code == HPE_PAUSED) return absl::OkStatus();
    if (code != HPE_OK || (size > 0 && used != size))
      return TransportError(*request, absl::StrCat("malformed response: ", http_errno_description(code)));
    return absl::OkStatus();
  }
};

}  // namespace

std::optional<std::string> HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::HeaderValues(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (key == name) values.push_back(value);
  }
  return values;
}

// Idle connections by origin, and the TLS contexts (with and without verification), made on
// first use so that a daemon that only talks plain HTTP never initialises OpenSSL's TLS.
struct HttpClient::Share {
  std::mutex mutex;
  std::multimap<std::string, std::unique_ptr<Connection>> idle;
  std::unique_ptr<SSL_CTX, SslCtxDeleter> verifying, trusting;

  absl::StatusOr<SSL_CTX*> Context(bool verify, const HttpRequest& request) {
    std::lock_guard lock(mutex);
    auto& slot = verify ? verifying : trusting;
    if (!slot) {
      std::unique_ptr<SSL_CTX, SslCtxDeleter> ctx(SSL_CTX_new(TLS_client_method()));
      if (!ctx) return TransportError(request, OpenSslErrors(), true);
      SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
      SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      if (verify) {
        SSL_CTX_set_default_verify_paths(ctx.get());  // Debian's /etc/ssl/certs
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
      } else {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
      }
      slot = std::move(ctx);
    }
    return slot.get();
  }

  std::unique_ptr<Connection> TakeIdle(const std::string& origin) {
    std::lock_guard lock(mutex);
    auto it = idle.find(origin);
    if (it == idle.end()) return nullptr;
    std::unique_ptr<Connection> connection = std::move(it->second);
    idle.erase(it);
    return connection;
  }

  void GiveBack(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex);
    if (idle.size() >= kIdleConnections) idle.erase(idle.begin());
    std::string origin = connection->origin();
    idle.emplace(std::move(origin), std::move(connection));
  }
};

HttpClient::HttpClient() : share_(std::make_unique<Share>()) {}

HttpClient::~HttpClient() = default;

namespace {

// One request on one connection, the response read to its end. `nothing_received` tells the
// caller that no byte of a response came back: on a kept-alive connection that is a server that
// closed it meanwhile, and the request can go again on a new one.
absl::Status Exchange(Connection& connection, const Url& url, bool through_proxy, const HttpRequest& request,
                      const std::vector<std::string>& headers, HttpResponse& response, bool* keep_alive,
                      bool* nothing_received) {
  *nothing_received = true;
  // To a proxy, a plain-HTTP request names the whole URL (absolute form, RFC 9112 section 3.2.2).
  std::string target = through_proxy ? absl::StrCat(url.Origin(), url.target) : url.target;
  std::string head = absl::StrCat(request.method, " ", target, " HTTP/1.1\r\nHost: ", url.Authority(), "\r\n");
  for (const std::string& header : headers) absl::StrAppend(&head, header, "\r\n");
  if (request.body_size) absl::StrAppend(&head, "Content-Length: ", *request.body_size, "\r\n");
  absl::StrAppend(&head, "\r\n");
  LIMAN_RETURN_IF_ERROR(connection.WriteAll(head, request));
  if (request.body_size && request.write_body) {
    int64_t sent = 0;
    LIMAN_RETURN_IF_ERROR(request.write_body([&](std::string_view piece) -> absl::Status {
      if (sent + static_cast<int64_t>(piece.size()) > *request.body_size)
        return absl::InternalError(fmt::format("{} {}: the body is longer than its {} bytes", request.method,
                                               Quote(request.url), *request.body_size));
      sent += static_cast<int64_t>(piece.size());
      return connection.WriteAll(piece, request);
    }));
    if (sent != *request.body_size)
      return absl::InternalError(fmt::format("{} {}: the body ended after {} of its {} bytes", request.method,
                                             Quote(request.url), sent, *request.body_size));
  }

  ResponseReader reader(request, response);
  std::string buffer(kReadChunk, '\0');
  while (!reader.complete) {
    LIMAN_ASSIGN_OR_RETURN(size_t got, connection.Read(buffer.data(), buffer.size(), request));
    if (got == 0) {
      if (*nothing_received) return TransportError(request, "connection closed before a response");
      LIMAN_RETURN_IF_ERROR(reader.Feed(nullptr, 0));
      if (!reader.complete) return TransportError(request, "connection closed in the middle of the response");
      break;
    }
    *nothing_received = false;
    LIMAN_RETURN_IF_ERROR(reader.Feed(buffer.data(), got));
  }
  *keep_alive = http_should_keep_alive(&reader.parser) != 0;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HttpResponse> HttpClient::Do(const HttpRequest& request) {
  LIMAN_ASSIGN_OR_RETURN(Url original, ParseUrl(request.url));
  Url url = original;
  for (int redirects = 0;; ++redirects) {
    // Credentials go to the origin they were meant for only, never along a redirect elsewhere
    // (blob downloads redirect to object storage).
    std::vector<std::string> headers;
    for (const std::string& header : request.headers) {
      if (url.Origin() != original.Origin() && absl::StartsWithIgnoreCase(header, "authorization:")) continue;
      headers.push_back(header);
    }
    HttpResponse response;
    bool keep_alive = false;
    std::optional<Url> proxy = ProxyFor(url);
    std::string pool_key = proxy ? absl::StrCat(proxy->Origin(), " ", url.Origin()) : url.Origin();
    for (int attempt = 0;; ++attempt) {
      std::unique_ptr<Connection> connection = attempt == 0 ? share_->TakeIdle(pool_key) : nullptr;
      bool reused = connection != nullptr;
      if (!connection) {
        LIMAN_ASSIGN_OR_RETURN(UniqueFd fd, ConnectTcp(proxy ? *proxy : url, request));
        connection = std::make_unique<Connection>(pool_key, std::move(fd));
        if (proxy && url.scheme == "https") LIMAN_RETURN_IF_ERROR(connection->OpenTunnel(url, request));
        if (url.scheme == "https") {
          LIMAN_ASSIGN_OR_RETURN(SSL_CTX * ctx, share_->Context(request.verify_tls, request));
          LIMAN_RETURN_IF_ERROR(connection->StartTls(ctx, url, request));
        }
      }
      response = HttpResponse{};
      bool nothing_received = false;
      absl::Status exchanged = Exchange(*connection, url, proxy && url.scheme == "http", request, headers, response,
                                        &keep_alive, &nothing_received);
      // A kept-alive connection the server has closed since: once more on a new one.
      if (!exchanged.ok() && reused && nothing_received && !absl::IsCancelled(exchanged)) continue;
      LIMAN_RETURN_IF_ERROR(exchanged);
      if (keep_alive) share_->GiveBack(std::move(connection));
      break;
    }
    response.url = absl::StrCat(url.scheme, "://", url.Authority(), url.target);
    bool redirect = response.status == 301 || response.status == 302 || response.status == 303 ||
                    response.status == 307 || response.status == 308;
    std::optional<std::string> location = response.Header("location");
    if (!redirect || !location || location->empty() || request.body_size) return response;
    if (redirects >= kMaxRedirects)
      return TransportError(request, fmt::format("more than {} redirects", kMaxRedirects));
    LIMAN_ASSIGN_OR_RETURN(std::string next, ResolveLocation(url, *location));
    LIMAN_ASSIGN_OR_RETURN(url, ParseUrl(next));
  }
}

bool HttpClient::IsTlsFailure(const absl::Status& status) {
  return status.GetPayload(kTlsFailurePayload).has_value();
}

std::string HttpClient::Escape(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host.ends_with(".localhost")) return true;
  std::string name(host);
  in_addr v4;
  if (inet_pton(AF_INET, name.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return inet_pton(AF_INET6, name.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace liman::containerd::remotes
