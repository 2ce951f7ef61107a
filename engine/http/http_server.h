// limand's HTTP/1.1 server on a unix socket: a thread per connection, requests parsed with
// Node's http_parser (keep-alive, chunked request bodies, Upgrade), and what the Docker Engine
// API needs beyond plain responses: streamed (chunked) responses flushed as they are written,
// and hijacking a connection after a "101 UPGRADED" for attach and exec.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "engine/http/http_request.h"

namespace liman::engine::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A connection taken over after a 101 reply: raw bytes both ways from here on.
struct HijackedStream {
  int fd = -1;           // owned by the server: closed when the handler returns
  std::string buffered;  // bytes the client sent after the request, already read
};

// What a handler answers with; exactly one of Reply, StartStream or Hijack.
class ResponseWriter {
 public:
  ResponseWriter(int fd, const HttpRequest& request, const HeaderList& default_headers)
      : fd_(fd), request_(request), default_headers_(default_headers) {}

  // A whole response (no body for HEAD).
  void Reply(int status, std::string_view content_type, std::string_view body, const HeaderList& extra = {});
  // A chunked response whose headers go out now; then Write each piece (sent at once) and End.
  // Write returns false once the client has gone away.
  bool StartStream(int status, std::string_view content_type, const HeaderList& extra = {});
  bool Write(std::string_view data);
  void End();
  // Ends a stream that failed half-way without its last chunk and closes the connection: the
  // client sees a broken transfer, not a complete (truncated) body.
  void Abort();
  // Sends "101 UPGRADED" with `content_type` and hands over the connection.
  HijackedStream Hijack(std::string_view content_type, std::string buffered);

  bool replied() const { return replied_; }
  // The connection, for noticing a client that went away (poll for POLLRDHUP/POLLHUP).
  int fd() const { return fd_; }
  bool keep_alive() const { return keep_alive_; }
  // The connection broke while writing.
  bool broken() const { return broken_; }

 private:
  bool Send(std::string_view data);
  std::string StatusLine(int status) const;

  int fd_;
  const HttpRequest& request_;
  const HeaderList& default_headers_;
  bool replied_ = false;
  bool streaming_ = false;
  bool keep_alive_ = true;
  bool broken_ = false;
};

// A request body handed to the handler as it arrives, for requests that carry more than should
// be held in memory (docker load): the request's `body` stays empty.
class BodyStream {
 public:
  virtual ~BodyStream() = default;
  // The next piece of the (de-chunked) body; empty once it has ended. An error when the client
  // closes the connection before the end or sends a malformed chunk.
  virtual absl::StatusOr<std::string_view> Next() = 0;
};

// Handlers get the request, the writer and the raw bytes read past the request (for Hijack).
struct Exchange {
  const HttpRequest& request;
  ResponseWriter& response;
  std::string& leftover;
  BodyStream* body_stream = nullptr;  // set when HttpServerOptions::streams_body chose streaming
};
using Handler = std::function<void(Exchange&)>;

struct HttpServerOptions {
  size_t max_body_bytes = 64 << 20;  // for bodies read whole before the handler runs
  // Asked once the headers are in (method, path, query and headers are set): whether the handler
  // reads this request's body through Exchange::body_stream instead, with no size limit.
  std::function<bool(const HttpRequest&)> streams_body;
  // A streamed body its handler answered without reading to the end (a refusal) is read and
  // dropped after the reply, as Go's server does: closed under its sender, the connection would
  // show the client a broken pipe instead of the answer. Up to this much, and only while the
  // client goes on sending within the idle timeout; past either the connection is closed.
  size_t max_unread_body_bytes = 64 << 20;
  int unread_body_idle_millis = 5000;
  HeaderList default_headers;  // sent with every response (Api-Version, Server…)
};

class HttpServer {
 public:
  HttpServer(Handler handler, HttpServerOptions options)
      : handler_(std::move(handler)), options_(std::move(options)) {}

  // Accepts connections on `listener` until Shutdown; each is served on its own thread.
  absl::Status Serve(int listener);
  // Stops accepting (connections already open finish on their own).
  void Shutdown();

  // Serves one connection until the client closes it, an error, or a hijack ends. Public for
  // tests, which drive it over a socketpair.
  void ServeConnection(UniqueFd connection);

 private:
  Handler handler_;
  HttpServerOptions options_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> listener_{-1};
};

// "Not Found" for 404…
std::string_view StatusText(int status);

}  // namespace liman::engine::http
