#include "ctl/liman/engine_client.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

#include "absl/strings/cord.h"
#include "common/status.h"
#include "common/unix_socket.h"
#include "fmt/format.h"
#include "http_parser.h"

namespace liman::cli {

using nlohmann::json;

// The response parser (Node's http_parser): collects the head, passes the body on, and stops
// after the head of an upgrade.
struct ResponseParser {
  http_parser parser;
  http_parser_settings settings;
  HttpHead head;
  std::string field, value;
  bool in_value = false, head_done = false, message_done = false, stop = false;
  std::function<bool(std::string_view)> on_body;

  ResponseParser() {
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_header_field = [](http_parser* p, const char* at, size_t length) {
      auto* self = static_cast<ResponseParser*>(p->data);
      if (self->in_value) self->FinishHeader();
      self->field.append(at, length);
      return 0;
    };
    settings.on_header_value = [](http_parser* p, const char* at, size_t length) {
      auto* self = static_cast<ResponseParser*>(p->data);
      self->in_value = true;
      self->value.append(at, length);
      return 0;
    };
    settings.on_headers_complete = [](http_parser* p) {
      auto* self = static_cast<ResponseParser*>(p->data);
      if (self->in_value) self->FinishHeader();
      self->head.status = static_cast<int>(p->status_code);
      self->head_done = true;
      return 0;
    };
    settings.on_body = [](http_parser* p, const char* at, size_t length) {
      auto* self = static_cast<ResponseParser*>(p->data);
      if (self->on_body && !self->on_body(std::string_view(at, length))) {
        self->stop = true;
        return 1;
      }
      return 0;
    };
    settings.on_message_complete = [](http_parser* p) {
      static_cast<ResponseParser*>(p->data)->message_done = true;
      return 0;
    };
  }
  void FinishHeader() {
    for (char& c : field) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    head.headers[field] = value;
    field.clear();
    value.clear();
    in_value = false;
  }
  // Feeds bytes; returns how many were consumed (less than `size` after an upgrade head).
  absl::StatusOr<size_t> Feed(const char* data, size_t size) {
    size_t parsed = http_parser_execute(&parser, &settings, data, size);
    if (stop) return parsed;
    if (parser.upgrade) return parsed;
    if (HTTP_PARSER_ERRNO(&parser) != HPE_OK)
      return absl::InternalError(fmt::format("malformed answer from the daemon: {}",
                                             http_errno_description(HTTP_PARSER_ERRNO(&parser))));
    return parsed;
  }
};

namespace {

constexpr char kDaemonPayload[] = "liman.cli/daemon-answer";

// Reads from `fd` into the parser until `done()`; EOF ends the message (a body without length).
absl::Status ReadResponse(int fd, ResponseParser& parser, const std::function<bool()>& done, std::string* rest) {
  char buffer[65536];
  while (!done()) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read the daemon's answer");
    LIMAN_ASSIGN_OR_RETURN(size_t used, parser.Feed(buffer, static_cast<size_t>(n)));
    if (n == 0) {
      if (!parser.head_done) return absl::UnavailableError("the daemon closed the connection without an answer");
      return absl::OkStatus();
    }
    if (parser.parser.upgrade || parser.stop) {
      if (rest) rest->assign(buffer + used, static_cast<size_t>(n) - used);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 409: return absl::StatusCode::kAlreadyExists;
    case 501: return absl::StatusCode::kUnimplemented;
    case 503: return absl::StatusCode::kUnavailable;
    default: return absl::StatusCode::kUnknown;
  }
}

// The daemon's error answer as a status: its {"message"}, or the body, or the status code.
absl::Status DaemonError(int status, const std::string& body) {
  std::string message;
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object() && parsed.contains("message") && parsed["message"].is_string())
    message = parsed["message"].get<std::string>();
  else if (!body.empty())
    message = body;
  else
    message = fmt::format("the daemon answered {}", status);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  absl::Status error(CodeForHttpStatus(status), message);
  error.SetPayload(kDaemonPayload, absl::Cord("1"));
  return error;
}

}  // namespace

bool FromDaemon(const absl::Status& status) { return status.GetPayload(kDaemonPayload).has_value(); }

std::string HttpHead::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string QueryEscape(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
      out.push_back(static_cast<char>(c));
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

absl::StatusOr<UniqueFd> EngineClient::Connect() {
  auto unreachable = [this](const absl::Status& cause) {
    return absl::UnavailableError(fmt::format("Cannot connect to the liman daemon at {}. Is the daemon running? ({})",
                                              host_, cause.message()));
  };
  if (host_.rfind("unix://", 0) == 0) {
    absl::StatusOr<UniqueFd> fd = ConnectUnix(host_.substr(7));
    if (!fd.ok()) return unreachable(fd.status());
    return fd;
  }
  if (host_.rfind("tcp://", 0) == 0) {
    std::string address = host_.substr(6);
    size_t colon = address.rfind(':');
    if (colon == std::string::npos)
      return absl::InvalidArgumentError(fmt::format("invalid host {}: no port", Quote(host_)));
    std::string name = address.substr(0, colon), port = address.substr(colon + 1);
    struct addrinfo hints {};
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* found = nullptr;
    if (int err = getaddrinfo(name.c_str(), port.c_str(), &hints, &found); err != 0)
      return unreachable(absl::UnavailableError(gai_strerror(err)));
    UniqueFd fd;
    for (struct addrinfo* a = found; a; a = a->ai_next) {
      fd.reset(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
      if (fd && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) break;
      fd.reset();
    }
    freeaddrinfo(found);
    if (!fd) return unreachable(ErrnoError(fmt::format("connect {}", address)));
    return fd;
  }
  return absl::InvalidArgumentError(
      fmt::format("invalid host {}: expected unix:///path or tcp://host:port", Quote(host_)));
}

absl::StatusOr<UniqueFd> EngineClient::Send(const std::string& method, const std::string& path, const json* body,
                                            const std::map<std::string, std::string>& headers, bool upgrade) {
  std::string payload = body ? body->dump() : "";
  return SendBytes(method, path, body ? std::optional<std::string_view>(payload) : std::nullopt, "application/json",
                   headers, upgrade);
}

absl::StatusOr<UniqueFd> EngineClient::SendBytes(const std::string& method, const std::string& path,
                                                 std::optional<std::string_view> body, std::string_view content_type,
                                                 const std::map<std::string, std::string>& headers, bool upgrade) {
  LIMAN_ASSIGN_OR_RETURN(UniqueFd fd, Connect());
  std::string request = fmt::format("{} /v{}{} HTTP/1.1\r\nHost: api\r\nUser-Agent: liman-cli/{}\r\n", method,
                                    kApiVersion, path, kApiVersion);
  request += upgrade ? "Connection: Upgrade\r\nUpgrade: tcp\r\n" : "Connection: close\r\n";
  for (const auto& [name, value] : headers) request += fmt::format("{}: {}\r\n", name, value);
  if (body) request += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", content_type, body->size());
  else if (method == "POST" || method == "PUT") request += "Content-Length: 0\r\n";
  request += "\r\n";
  if (!SendAll(fd.get(), request) || (body && !SendAll(fd.get(), *body)))
    return ErrnoError(fmt::format("send {} {} to {}", method, path, host_));
  return fd;
}

absl::Status EngineClient::Stream(const std::string& method, const std::string& path, const json* body,
                                  const std::function<bool(std::string_view)>& on_data, HttpHead* head,
                                  const std::map<std::string, std::string>& headers) {
  LIMAN_ASSIGN_OR_RETURN(UniqueFd fd, Send(method, path, body, headers, /*upgrade=*/false));
  return ReadStream(fd.get(), on_data, head);
}

absl::Status EngineClient::StreamBytes(const std::string& method, const std::string& path, std::string_view body,
                                       std::string_view content_type,
                                       const std::function<bool(std::string_view)>& on_data) {
  LIMAN_ASSIGN_OR_RETURN(UniqueFd fd, SendBytes(method, path, body, content_type, {}, /*upgrade=*/false));
  return ReadStream(fd.get(), on_data, nullptr);
}

absl::Status EngineClient::ReadStream(int fd, const std::function<bool(std::string_view)>& on_data, HttpHead* head) {
  ResponseParser parser;
  std::string error_body;
  // The body goes to the caller only for a success; an error's body is the daemon's message.
  parser.on_body = [&](std::string_view data) {
    if (parser.head.status >= 200 && parser.head.status < 300) return on_data(data);
    error_body.append(data);
    return true;
  };
  LIMAN_RETURN_IF_ERROR(ReadResponse(fd, parser, [&] { return parser.message_done; }, nullptr));
  if (head) *head = parser.head;
  if (parser.head.status < 200 || parser.head.status >= 300) return DaemonError(parser.head.status, error_body);
  return absl::OkStatus();
}

absl::StatusOr<std::string> EngineClient::CallText(const std::string& method, const std::string& path, const json* body,
                                                   const std::map<std::string, std::string>& headers) {
  std::string answer;
  LIMAN_RETURN_IF_ERROR(Stream(method, path, body, [&](std::string_view data) {
    answer.append(data);
    return true;
  }, nullptr, headers));
  return answer;
}

// The daemon's answer parsed as JSON (json, or ordered_json to keep its key order).
template <typename Json>
absl::StatusOr<Json> ParseAnswer(const std::string& answer, std::string_view request) {
  Json parsed = Json::parse(answer, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return absl::InternalError(fmt::format("{}the daemon's answer is not JSON: {:.200}", request, answer));
  return parsed;
}

absl::StatusOr<nlohmann::ordered_json> EngineClient::CallOrdered(const std::string& method, const std::string& path) {
  LIMAN_ASSIGN_OR_RETURN(std::string answer, CallText(method, path, nullptr, {}));
  return ParseAnswer<nlohmann::ordered_json>(answer, fmt::format("{} {}: ", method, path));
}

absl::StatusOr<json> EngineClient::Call(const std::string& method, const std::string& path, const json* body,
                                        const std::map<std::string, std::string>& headers) {
  LIMAN_ASSIGN_OR_RETURN(std::string answer, CallText(method, path, body, headers));
  if (answer.empty()) return json();
  return ParseAnswer<json>(answer, fmt::format("{} {}: ", method, path));
}

EngineClient::Pending::~Pending() = default;

absl::StatusOr<std::unique_ptr<EngineClient::Pending>> EngineClient::Begin(const std::string& method,
                                                                          const std::string& path, const json* body) {
  std::unique_ptr<Pending> pending(new Pending());
  LIMAN_ASSIGN_OR_RETURN(pending->fd_, Send(method, path, body, {}, /*upgrade=*/false));
  pending->parser_ = std::make_unique<ResponseParser>();
  Pending* raw = pending.get();
  raw->parser_->on_body = [raw](std::string_view data) {
    raw->body_.append(data);
    return true;
  };
  LIMAN_RETURN_IF_ERROR(ReadResponse(raw->fd_.get(), *raw->parser_, [raw] { return raw->parser_->head_done; }, nullptr));
  return pending;
}

absl::StatusOr<json> EngineClient::Pending::Finish() {
  LIMAN_RETURN_IF_ERROR(ReadResponse(fd_.get(), *parser_, [this] { return parser_->message_done; }, nullptr));
  if (parser_->head.status < 200 || parser_->head.status >= 300) return DaemonError(parser_->head.status, body_);
  return ParseAnswer<json>(body_, "");
}

absl::StatusOr<EngineClient::Hijacked> EngineClient::Hijack(const std::string& method, const std::string& path,
                                                           const json* body) {
  LIMAN_ASSIGN_OR_RETURN(UniqueFd fd, Send(method, path, body, {}, /*upgrade=*/true));
  ResponseParser parser;
  std::string error_body;
  parser.on_body = [&](std::string_view data) {
    error_body.append(data);
    // A 200 without upgrade (an older daemon) streams the raw connection as its body.
    return parser.head.status >= 300;
  };
  Hijacked hijacked;
  LIMAN_RETURN_IF_ERROR(ReadResponse(
      fd.get(), parser, [&] { return parser.message_done || parser.stop || parser.parser.upgrade; },
      &hijacked.buffered));
  if (parser.head.status >= 300) return DaemonError(parser.head.status, error_body);
  if (!parser.parser.upgrade) hijacked.buffered = error_body + hijacked.buffered;
  hijacked.fd = std::move(fd);
  return hijacked;
}

}  // namespace liman::cli
