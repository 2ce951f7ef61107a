// A ttrpc server on an EventLoop: non-blocking connections, requests dispatched by
// service + method, replies possibly deferred (the shim answers Wait when the process exits).
// Malformed input never takes the server down: an unparsable Request gets an error Response,
// an oversized or garbled frame closes only that connection.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/event_loop.h"
#include "common/unique_fd.h"
#include "google/protobuf/message_lite.h"

namespace liman::ttrpc {

class Connection;

// The way back to one caller. Copyable; Reply is sent at most once, and is dropped quietly when
// the connection has gone.
class Responder {
 public:
  Responder() = default;
  Responder(std::weak_ptr<Connection> connection, uint32_t stream_id)
      : connection_(std::move(connection)), stream_id_(stream_id) {}
  void Reply(const absl::StatusOr<std::string>& payload) const;

 private:
  std::weak_ptr<Connection> connection_;
  uint32_t stream_id_ = 0;
};

struct Call {
  std::string service;
  std::string method;
  std::string payload;
  std::vector<std::pair<std::string, std::string>> metadata;
  Responder responder;
};

class Server {
 public:
  // A handler must make `call.responder` Reply exactly once, now or later.
  using Handler = std::function<void(Call& call)>;

  explicit Server(EventLoop* loop) : loop_(loop) {}
  ~Server();

  void Register(std::string service, std::string method, Handler handler);
  // Immediate reply from the returned payload or status.
  void RegisterUnary(std::string service, std::string method,
                     std::function<absl::StatusOr<std::string>(const std::string& payload)> handler);
  // Typed immediate reply: the request is parsed (kInvalidArgument when it cannot be).
  template <typename Request, typename Response>
  void RegisterMethod(std::string service, std::string method,
                      std::function<absl::StatusOr<Response>(const Request&)> handler) {
    RegisterUnary(std::move(service), std::move(method),
                  [handler = std::move(handler)](const std::string& payload) -> absl::StatusOr<std::string> {
                    Request request;
                    if (!request.ParseFromString(payload))
                      return absl::InvalidArgumentError("cannot parse " + request.GetTypeName());
                    absl::StatusOr<Response> response = handler(request);
                    if (!response.ok()) return response.status();
                    return response->SerializeAsString();
                  });
  }

  // Accepts connections on a listening socket (the server takes ownership).
  absl::Status Serve(UniqueFd listener);
  // Serves one already connected stream socket (a socketpair end, or a connection accepted
  // elsewhere) exactly like an accepted one.
  absl::Status ServeConnection(UniqueFd connection);
  // Runs after every request's handler returned (the shim delivers queued exits there).
  void SetAfterRequest(std::function<void()> hook) { after_request_ = std::move(hook); }
  size_t connection_count() const { return connections_.size(); }

 private:
  friend class Connection;
  void Dispatch(Call& call);
  void Accept();
  void Drop(Connection* connection);

  EventLoop* loop_;
  UniqueFd listener_;
  absl::flat_hash_map<std::string, Handler> handlers_;  // key: "service/method"
  absl::flat_hash_map<Connection*, std::shared_ptr<Connection>> connections_;
  std::function<void()> after_request_;
  EventLoop::TimerId accept_timer_ = 0;  // pending resume after accept ran out of descriptors
};

}  // namespace liman::ttrpc
