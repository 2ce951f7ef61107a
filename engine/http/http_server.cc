#include "engine/http/http_server.h"

#include <http_parser.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/strings/ascii.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::engine::http {

std::string_view StatusText(int status) {
  switch (status) {
    case 101: return "UPGRADED";  // what dockerd sends; clients only look at the code
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// ---- responses --------------------------------------------------------------------------------

bool ResponseWriter::Send(std::string_view data) {
  while (!data.empty() && !broken_) {
    // MSG_NOSIGNAL: a client that went away is an EPIPE here, not a SIGPIPE (send(2)).
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      broken_ = true;
      break;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return !broken_;
}

std::string ResponseWriter::StatusLine(int status) const {
  std::string head = fmt::format("HTTP/1.1 {} {}\r\n", status, StatusText(status));
  for (const auto& [name, value] : default_headers_) head += fmt::format("{}: {}\r\n", name, value);
  return head;
}

void ResponseWriter::Reply(int status, std::string_view content_type, std::string_view body, const HeaderList& extra) {
  if (replied_) return;
  replied_ = true;
  std::string head = StatusLine(status);
  if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
  for (const auto& [name, value] : extra) head += fmt::format("{}: {}\r\n", name, value);
  head += fmt::format("Content-Length: {}\r\n\r\n", body.size());
  if (request_.method != "HEAD") head.append(body);
  Send(head);
}

bool ResponseWriter::StartStream(int status, std::string_view content_type, const HeaderList& extra) {
  if (replied_) return false;
  replied_ = true;
  streaming_ = true;
  std::string head = StatusLine(status);
  if (!content_type.empty()) head += fmt::format("Content-Type: {}\r\n", content_type);
  for (const auto& [name, value] : extra) head += fmt::format("{}: {}\r\n", name, value);
  head += "Transfer-Encoding: chunked\r\n\r\n";
  return Send(head);
}

bool ResponseWriter::Write(std::string_view data) {
  if (!streaming_ || data.empty()) return !broken_;
  std::string chunk = fmt::format("{:x}\r\n", data.size());
  chunk.append(data);
  chunk += "\r\n";
  return Send(chunk);
}

void ResponseWriter::End() {
  if (!streaming_) return;
  streaming_ = false;
  Send("0\r\n\r\n");
}

void ResponseWriter::Abort() {
  streaming_ = false;
  keep_alive_ = false;
}

HijackedStream ResponseWriter::Hijack(std::string_view content_type, std::string buffered) {
  replied_ = true;
  keep_alive_ = false;
  std::string head = StatusLine(101);
  head += fmt::format("Content-Type: {}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n", content_type);
  Send(head);
  return HijackedStream{fd_, std::move(buffered)};
}

// ---- request parsing ----------------------------------------------------------------------------

namespace {

// Collects one request from http_parser's callbacks.
struct RequestParser {
  http_parser parser;
  http_parser_settings settings;
  HttpRequest request;
  std::string url;
  std::string field;
  std::string value;
  bool in_value = false;
  absl::Status target_status;  // of the request target, parsed once the headers are in
  bool streaming = false;      // the body goes to the handler through a BodyStream
  std::string streamed;        // body bytes parsed for the BodyStream, not yet handed out
  bool complete = false;
  bool too_large = false;
  size_t max_body = 0;
  const std::function<bool(const HttpRequest&)>& streams_body;

  RequestParser(size_t max_body_bytes, const std::function<bool(const HttpRequest&)>& streams_body_choice)
      : max_body(max_body_bytes), streams_body(streams_body_choice) {
    http_parser_settings_init(&settings);
    settings.on_url = [](http_parser* p, const char* at, size_t length) {
      Self(p).url.append(at, length);
      return 0;
    };
    settings.on_header_field = [](http_parser* p, const char* at, size_t length) {
      RequestParser& self = Self(p);
      if (self.in_value) self.FinishHeader();
      self.field.append(at, length);
      return 0;
    };
    settings.on_header_value = [](http_parser* p, const char* at, size_t length) {
      RequestParser& self = Self(p);
      self.in_value = true;
      self.value.append(at, length);
      return 0;
    };
    settings.on_headers_complete = [](http_parser* p) {
      RequestParser& self = Self(p);
      if (self.in_value || !self.field.empty()) self.FinishHeader();
      self.target_status = self.Finish();
      // Stop before the body: a malformed target is answered at once, and a streamed body is
      // parsed only as the handler asks for it (a paused parser resumes at this same byte).
      self.streaming = self.target_status.ok() && self.streams_body && self.streams_body(self.request);
      if (!self.target_status.ok() || self.streaming) http_parser_pause(p, 1);
      return 0;
    };
    settings.on_body = [](http_parser* p, const char* at, size_t length) {
      RequestParser& self = Self(p);
      if (self.streaming) {
        // One piece at a time: the parser stops here until the handler has taken it.
        self.streamed.append(at, length);
        http_parser_pause(p, 1);
        return 0;
      }
      if (self.request.body.size() + length > self.max_body) {
        self.too_large = true;
        return 1;
      }
      self.request.body.append(at, length);
      return 0;
    };
    settings.on_message_complete = [](http_parser* p) {
      Self(p).complete = true;
      // Stop at the end of this message: the next one (keep-alive) or the raw stream after an
      // upgrade stays in the buffer.
      http_parser_pause(p, 1);
      return 0;
    };
    Reset();
  }

  static RequestParser& Self(http_parser* p) { return *static_cast<RequestParser*>(p->data); }

  void Reset() {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    request = HttpRequest();
    url.clear();
    field.clear();
    value.clear();
    in_value = false;
    target_status = absl::OkStatus();
    streaming = false;
    streamed.clear();
    complete = false;
  }

  void FinishHeader() {
    std::string name = absl::AsciiStrToLower(field);
    auto [it, inserted] = request.headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;
    field.clear();
    value.clear();
    in_value = false;
  }

  // Fills method, path and query once the headers are in.
  absl::Status Finish() {
    request.method = http_method_str(static_cast<http_method>(parser.method));
    request.target = url;
    request.upgrade = parser.upgrade != 0;
    size_t question = url.find('?');
    absl::StatusOr<std::string> path = PercentDecode(url.substr(0, question), false);
    if (!path.ok()) return path.status();
    request.path = std::move(*path);
    if (question != std::string::npos) {
      auto query = ParseQuery(url.substr(question + 1));
      if (!query.ok()) return query.status();
      request.query = std::move(*query);
    }
    return absl::OkStatus();
  }
};

void ReplyError(int fd, int status, std::string_view message) {
  std::string body = nlohmann::json{{"message", message}}.dump() + "\n";
  std::string response = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
      StatusText(status), body.size(), body);
  (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
}

// Reads what the client sent next into `buffer`; sets `eof` when it has closed its side. False
// on a broken connection.
bool ReadMore(int fd, std::string& buffer, bool& eof) {
  char chunk[16384];
  for (;;) {
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) eof = true;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

// The body of the request being served, parsed from the connection as the handler reads it.
class ConnectionBodyStream : public BodyStream {
 public:
  ConnectionBodyStream(int fd, const HttpRequest& request, RequestParser& parser, std::string& buffer, bool& eof)
      : fd_(fd), request_(request), parser_(parser), buffer_(buffer), eof_(eof) {}

  absl::StatusOr<std::string_view> Next() override {
    if (!continue_sent_) {
      continue_sent_ = true;
      // A client that asked to be told first (curl does for large uploads) gets the go-ahead.
      if (AwaitsContinue()) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)::send(fd_, kContinue.data(), kContinue.size(), MSG_NOSIGNAL);
      }
    }
    held_.clear();
    for (;;) {
      if (!parser_.streamed.empty()) {
        held_.swap(parser_.streamed);
        return std::string_view(held_);
      }
      if (parser_.complete) return std::string_view();
      if (HTTP_PARSER_ERRNO(&parser_.parser) == HPE_PAUSED) http_parser_pause(&parser_.parser, 0);
      if (!buffer_.empty()) {
        buffer_.erase(0, http_parser_execute(&parser_.parser, &parser_.settings, buffer_.data(), buffer_.size()));
      } else if (eof_) {
        http_parser_execute(&parser_.parser, &parser_.settings, nullptr, 0);
        if (!parser_.complete && parser_.streamed.empty())
          return absl::DataLossError("the client closed the connection before the end of the request body");
      } else {
        LIMAN_RETURN_IF_ERROR(AwaitBytes());
        if (!ReadMore(fd_, buffer_, eof_)) return ErrnoError("read the request body");
      }
      http_errno error = HTTP_PARSER_ERRNO(&parser_.parser);
      if (error != HPE_OK && error != HPE_PAUSED)
        return absl::InvalidArgumentError(fmt::format("malformed request body: {}", http_errno_description(error)));
    }
  }

  // Reads the rest of the body and drops it: true once it has ended, false when it breaks, runs
  // past `max_bytes`, or the client sends nothing for `idle_millis`.
  bool Discard(size_t max_bytes, int idle_millis) {
    // A client still waiting for its go-ahead has not sent the body: after the final answer it
    // is not coming (RFC 9110 section 10.1.1), so the connection closes instead.
    if (!continue_sent_ && AwaitsContinue()) return false;
    continue_sent_ = true;
    idle_millis_ = idle_millis;
    size_t dropped = 0;
    for (absl::StatusOr<std::string_view> piece = Next(); piece.ok(); piece = Next()) {
      if (piece->empty()) return true;
      dropped += piece->size();
      if (dropped > max_bytes) return false;
    }
    return false;
  }

 private:
  bool AwaitsContinue() const { return absl::AsciiStrToLower(request_.Header("expect")) == "100-continue"; }

  // Waits for the client's next bytes, within the idle timeout when one is set.
  absl::Status AwaitBytes() {
    if (idle_millis_ < 0) return absl::OkStatus();
    pollfd readable{.fd = fd_, .events = POLLIN, .revents = 0};
    int ready;
    while ((ready = ::poll(&readable, 1, idle_millis_)) < 0 && errno == EINTR) {
    }
    if (ready < 0) return ErrnoError("poll the connection for the request body");
    if (ready == 0) return absl::DeadlineExceededError(fmt::format("no request body bytes for {} ms", idle_millis_));
    return absl::OkStatus();
  }

  int fd_;
  const HttpRequest& request_;
  RequestParser& parser_;
  std::string& buffer_;
  bool& eof_;
  std::string held_;  // the piece last handed out, valid until the next call
  bool continue_sent_ = false;
  int idle_millis_ = -1;  // none while the handler reads: it decides how long it waits
};

}  // namespace

void HttpServer::ServeConnection(UniqueFd connection) {
  int fd = connection.get();
  RequestParser parser(options_.max_body_bytes, options_.streams_body);
  std::string buffer;
  bool eof = false;
  while (true) {
    // Parse what is buffered; read more until one request is complete (or, for a streamed body,
    // until its headers are).
    size_t used = 0;
    if (!buffer.empty()) {
      used = http_parser_execute(&parser.parser, &parser.settings, buffer.data(), buffer.size());
      buffer.erase(0, used);
    } else if (eof) {
      // The end of the stream tells http_parser a body without length has ended.
      http_parser_execute(&parser.parser, &parser.settings, nullptr, 0);
    }
    http_errno error = HTTP_PARSER_ERRNO(&parser.parser);
    if (parser.too_large) {
      ReplyError(fd, 413, fmt::format("request body exceeds {} bytes", options_.max_body_bytes));
      return;
    }
    if (error != HPE_OK && error != HPE_PAUSED) {
      ReplyError(fd, 400, fmt::format("malformed HTTP request: {}", http_errno_description(error)));
      return;
    }
    if (!parser.target_status.ok()) {
      ReplyError(fd, 400, fmt::format("malformed request target: {}", parser.target_status.message()));
      return;
    }
    if (!parser.complete && !parser.streaming) {
      if (eof) return;  // the client closed between (or inside) requests
      if (!ReadMore(fd, buffer, eof)) return;
      continue;
    }

    bool keep_alive = http_should_keep_alive(&parser.parser) != 0 && !parser.request.upgrade;
    HttpRequest request = std::move(parser.request);
    ResponseWriter writer(fd, request, options_.default_headers);
    ConnectionBodyStream body(fd, request, parser, buffer, eof);
    Exchange exchange{request, writer, buffer, parser.streaming ? &body : nullptr};
    handler_(exchange);
    if (!writer.replied()) writer.Reply(500, "application/json", "{\"message\":\"no response\"}\n");
    if (writer.broken()) return;
    // The rest of a streamed body the handler did not read to its end: dropped so that the client
    // can finish sending and read the answer; one not dropped leaves the connection mid-request.
    bool body_ended = !parser.streaming || parser.complete ||
                      body.Discard(options_.max_unread_body_bytes, options_.unread_body_idle_millis);
    if (!keep_alive || !writer.keep_alive() || !body_ended) return;
    http_parser_pause(&parser.parser, 0);
    parser.Reset();
  }
}

absl::Status HttpServer::Serve(int listener) {
  listener_ = listener;
  while (!stopping_) {
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (stopping_) break;
      if (errno == EMFILE || errno == ENFILE) {
        // Out of descriptors: wait for connections to close rather than spin.
        ::poll(nullptr, 0, 100);
        continue;
      }
      return ErrnoError("accept on the API socket");
    }
    std::thread([this, fd] { ServeConnection(UniqueFd(fd)); }).detach();
  }
  return absl::OkStatus();
}

void HttpServer::Shutdown() {
  stopping_ = true;
  int listener = listener_.load();
  // shutdown(2) on a listening socket wakes a thread blocked in accept(2).
  if (listener >= 0) ::shutdown(listener, SHUT_RDWR);
}

}  // namespace liman::engine::http
