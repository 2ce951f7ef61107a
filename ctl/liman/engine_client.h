// The Docker Engine API as the CLI speaks it: HTTP/1.1 over limand's unix socket (or TCP),
// one connection per request, JSON bodies, streamed bodies (pull progress, logs, stats) and
// hijacked connections (attach, exec start) that carry the container's stdio afterwards.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

namespace liman::cli {

// The API version every request names: what limand advertises and Docker 20.10 speaks.
inline constexpr char kApiVersion[] = "1.41";
inline constexpr char kDefaultHost[] = "unix:///run/liman/liman.sock";

struct HttpHead {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string Header(const std::string& lower_name) const;
};

class EngineClient {
 public:
  // `host`: "unix:///path/to/sock" or "tcp://host:port" (docker's -H forms).
  explicit EngineClient(std::string host) : host_(std::move(host)) {}
  const std::string& host() const { return host_; }

  // A request with an optional JSON body whose answer is read whole and parsed (an empty body
  // is null). A non-2xx answer is an error carrying the daemon's {"message"}.
  absl::StatusOr<nlohmann::json> Call(const std::string& method, const std::string& path,
                                      const nlohmann::json* body = nullptr,
                                      const std::map<std::string, std::string>& headers = {});
  // The same, keeping the answer's key order (inspect prints objects as the daemon sends them).
  absl::StatusOr<nlohmann::ordered_json> CallOrdered(const std::string& method, const std::string& path);
  // The body is handed to `on_data` as it arrives, de-chunked; `on_data` returning false stops
  // reading. Errors as Call.
  absl::Status Stream(const std::string& method, const std::string& path, const nlohmann::json* body,
                      const std::function<bool(std::string_view)>& on_data, HttpHead* head = nullptr,
                      const std::map<std::string, std::string>& headers = {});
  // The same with a body of another type (docker load's tar).
  absl::Status StreamBytes(const std::string& method, const std::string& path, std::string_view body,
                           std::string_view content_type, const std::function<bool(std::string_view)>& on_data);

  // A request whose head is read before it returns (wait: the daemon flushes the head at once,
  // so the waiter is registered), and whose JSON body Finish() reads later.
  class Pending {
   public:
    ~Pending();
    absl::StatusOr<nlohmann::json> Finish();

   private:
    friend class EngineClient;
    Pending() = default;
    UniqueFd fd_;
    std::unique_ptr<struct ResponseParser> parser_;
    std::string body_;
  };
  absl::StatusOr<std::unique_ptr<Pending>> Begin(const std::string& method, const std::string& path,
                                                 const nlohmann::json* body = nullptr);

  // A request that asks for the connection (`Upgrade: tcp`): after the 101 (or 200) head the
  // socket is the raw stream both ways. `buffered` holds stream bytes read with the head.
  struct Hijacked {
    UniqueFd fd;
    std::string buffered;
  };
  absl::StatusOr<Hijacked> Hijack(const std::string& method, const std::string& path, const nlohmann::json* body);

 private:
  absl::StatusOr<UniqueFd> Connect();
  absl::StatusOr<std::string> CallText(const std::string& method, const std::string& path, const nlohmann::json* body,
                                       const std::map<std::string, std::string>& headers);
  absl::StatusOr<UniqueFd> Send(const std::string& method, const std::string& path, const nlohmann::json* body,
                                const std::map<std::string, std::string>& headers, bool upgrade);
  // The request with `body` (none: nullopt) as `content_type`.
  absl::StatusOr<UniqueFd> SendBytes(const std::string& method, const std::string& path,
                                     std::optional<std::string_view> body, std::string_view content_type,
                                     const std::map<std::string, std::string>& headers, bool upgrade);
  // Reads the answer on `fd`: the body to `on_data` for a success, the daemon's error otherwise.
  absl::Status ReadStream(int fd, const std::function<bool(std::string_view)>& on_data, HttpHead* head);
  std::string host_;
};

// Whether an error is the daemon's answer (docker prints those as "Error response from daemon").
bool FromDaemon(const absl::Status& status);

// URL query escaping (RFC 3986 unreserved characters stay).
std::string QueryEscape(std::string_view text);

}  // namespace liman::cli
