#include "common/ttrpc/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/container/flat_hash_set.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/ttrpc/frame.h"
#include "common/ttrpc/status.h"
#include "ttrpc/ttrpc.pb.h"

namespace liman::ttrpc {
namespace {

// Bytes read from one connection per loop round: epoll is level-triggered, so the rest waits for
// the next round and one busy client cannot starve the others.
constexpr size_t kMaxReadPerRound = 1 << 20;
// A client that sends requests without reading the answers stops being read from once this much
// output is queued for it, until it catches up.
constexpr size_t kMaxQueuedOutput = 16 << 20;
// accept4(2) failing for lack of descriptors would wake the level-triggered loop forever:
// the listener rests this long instead.
constexpr absl::Duration kAcceptBackoff = absl::Milliseconds(100);

absl::Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return ErrnoError(fmt::format("fcntl fd {} O_NONBLOCK", fd));
  return absl::OkStatus();
}

}  // namespace

// One client connection: reads frames, dispatches requests, queues responses. Owned by the
// Server's map; the loop's callback and Responders only hold weak references, so a dropped
// connection disappears as soon as nothing is using it right now.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server* server, UniqueFd fd) : server_(server), fd_(std::move(fd)) {}

  int fd() const { return fd_.get(); }
  void OnEvents(uint32_t events);
  void Reply(uint32_t stream_id, const absl::StatusOr<std::string>& payload);
  // Stops serving and asks the server to drop this connection.
  void Close(const std::string& reason);
  // Stops serving without telling the server (which is being destroyed).
  void Detach();

 private:
  void ReadAvailable();
  void ProcessFrames();
  void HandleFrame(Frame& frame);
  void Flush();
  void UpdateInterest();
  size_t queued() const { return output_.size() - output_offset_; }

  Server* server_;
  UniqueFd fd_;
  FrameReader reader_;
  std::string output_;
  size_t output_offset_ = 0;
  uint32_t interest_ = EPOLLIN;
  absl::flat_hash_set<uint32_t> pending_;  // streams awaiting their Reply
  bool closed_ = false;
};

void Responder::Reply(const absl::StatusOr<std::string>& payload) const {
  if (std::shared_ptr<Connection> connection = connection_.lock()) connection->Reply(stream_id_, payload);
}

void Connection::OnEvents(uint32_t events) {
  if (events & EPOLLOUT) Flush();
  if (!closed_ && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) ReadAvailable();
}

void Connection::ReadAvailable() {
  size_t total = 0;
  while (!closed_ && total < kMaxReadPerRound && queued() < kMaxQueuedOutput) {
    char buffer[kReadChunk];
    ssize_t n = read(fd_.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      Close(std::string(ErrnoError("read").message()));
      return;
    }
    if (n == 0) {
      Close("connection closed by peer");
      return;
    }
    total += static_cast<size_t>(n);
    reader_.Append(std::string_view(buffer, static_cast<size_t>(n)));
    ProcessFrames();
  }
}

void Connection::ProcessFrames() {
  while (!closed_) {
    absl::StatusOr<std::optional<Frame>> next = reader_.Next();
    if (!next.ok()) {
      Close(std::string(next.status().message()));
      return;
    }
    if (!next->has_value()) return;
    HandleFrame(**next);
  }
}

void Connection::HandleFrame(Frame& frame) {
  if (frame.type != MessageType::kRequest) {
    Close(fmt::format("unexpected message type {} on stream {}", static_cast<int>(frame.type), frame.stream_id));
    return;
  }
  if (!pending_.insert(frame.stream_id).second) {
    Close(fmt::format("stream {} reused while its request is pending", frame.stream_id));
    return;
  }
  Call call;
  call.responder = Responder(weak_from_this(), frame.stream_id);
  ::ttrpc::Request request;
  if (!request.ParseFromString(frame.payload)) {
    call.responder.Reply(absl::InvalidArgumentError(
        fmt::format("ttrpc: cannot parse the request on stream {}", frame.stream_id)));
    return;
  }
  call.service = std::move(*request.mutable_service());
  call.method = std::move(*request.mutable_method());
  call.payload = std::move(*request.mutable_payload());
  for (::ttrpc::KeyValue& pair : *request.mutable_metadata())
    call.metadata.emplace_back(std::move(*pair.mutable_key()), std::move(*pair.mutable_value()));
  server_->Dispatch(call);
}

void Connection::Reply(uint32_t stream_id, const absl::StatusOr<std::string>& payload) {
  // Not pending: answered already (through another copy of the Responder) or never asked.
  if (closed_ || pending_.erase(stream_id) == 0) return;
  ::ttrpc::Response response;
  if (payload.ok()) {
    response.set_payload(*payload);
  } else {
    *response.mutable_status() = StatusToProto(payload.status());
  }
  Frame frame;
  frame.stream_id = stream_id;
  frame.type = MessageType::kResponse;
  frame.payload = response.SerializeAsString();
  if (frame.payload.size() > kMaxMessageSize) {
    // The peer would drop the whole connection for it: answer this call with the error instead.
    response.Clear();
    *response.mutable_status() = StatusToProto(absl::ResourceExhaustedError(fmt::format(
        "ttrpc: response of {} bytes exceeds maximum message size of {}", frame.payload.size(), kMaxMessageSize)));
    frame.payload = response.SerializeAsString();
  }
  if (output_offset_ > 0 && output_offset_ >= output_.size() / 2) {
    output_.erase(0, output_offset_);
    output_offset_ = 0;
  }
  output_ += EncodeFrame(frame);
  Flush();
}

void Connection::Flush() {
  while (!closed_ && queued() > 0) {
    // MSG_NOSIGNAL: a client that went away is EPIPE, not a SIGPIPE killing the server (send(2)).
    ssize_t n = send(fd_.get(), output_.data() + output_offset_, queued(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      Close(std::string(ErrnoError("write").message()));
      return;
    }
    output_offset_ += static_cast<size_t>(n);
  }
  if (closed_) return;
  if (queued() == 0) {
    output_.clear();
    output_offset_ = 0;
  }
  UpdateInterest();
}

void Connection::UpdateInterest() {
  uint32_t interest = (queued() < kMaxQueuedOutput ? uint32_t{EPOLLIN} : 0u) | (queued() > 0 ? uint32_t{EPOLLOUT} : 0u);
  if (interest == interest_) return;
  if (absl::Status status = server_->loop_->Modify(fd_.get(), interest); !status.ok()) {
    Close(std::string(status.message()));
    return;
  }
  interest_ = interest;
}

void Connection::Close(const std::string& reason) {
  if (closed_) return;
  LogDebug("ttrpc: closing connection fd {}: {}", fd_.get(), reason);
  Detach();
  // Last: this may destroy the server's reference; the caller holds its own.
  server_->Drop(this);
}

void Connection::Detach() {
  if (closed_) return;
  closed_ = true;
  pending_.clear();
  server_->loop_->Remove(fd_.get());
  fd_.reset();
}

Server::~Server() {
  if (listener_) loop_->Remove(listener_.get());
  if (accept_timer_ != 0) loop_->CancelTimer(accept_timer_);
  for (auto& [raw, connection] : connections_) connection->Detach();
}

void Server::Register(std::string service, std::string method, Handler handler) {
  handlers_[service + "/" + method] = std::move(handler);
}

void Server::RegisterUnary(std::string service, std::string method,
                           std::function<absl::StatusOr<std::string>(const std::string& payload)> handler) {
  Register(std::move(service), std::move(method),
           [handler = std::move(handler)](Call& call) { call.responder.Reply(handler(call.payload)); });
}

void Server::Dispatch(Call& call) {
  auto it = handlers_.find(call.service + "/" + call.method);
  if (it != handlers_.end()) {
    it->second(call);
  } else {
    std::string prefix = call.service + "/";
    bool known_service = false;
    for (const auto& [key, handler] : handlers_) known_service = known_service || key.starts_with(prefix);
    call.responder.Reply(absl::UnimplementedError(
        known_service ? fmt::format("ttrpc: service {}: unknown method {}", Quote(call.service), Quote(call.method))
                      : fmt::format("ttrpc: unknown service {} (method {})", Quote(call.service), Quote(call.method))));
  }
  if (after_request_) after_request_();
}

absl::Status Server::Serve(UniqueFd listener) {
  if (listener_) return absl::FailedPreconditionError("ttrpc: server is already serving a listener");
  LIMAN_RETURN_IF_ERROR(SetNonBlocking(listener.get()));
  LIMAN_RETURN_IF_ERROR(loop_->Add(listener.get(), EPOLLIN, [this](uint32_t) { Accept(); }));
  listener_ = std::move(listener);
  return absl::OkStatus();
}

absl::Status Server::ServeConnection(UniqueFd fd) {
  LIMAN_RETURN_IF_ERROR(SetNonBlocking(fd.get()));
  int raw_fd = fd.get();
  auto connection = std::make_shared<Connection>(this, std::move(fd));
  std::weak_ptr<Connection> weak = connection;
  LIMAN_RETURN_IF_ERROR(loop_->Add(raw_fd, EPOLLIN, [weak](uint32_t events) {
    if (std::shared_ptr<Connection> alive = weak.lock()) alive->OnEvents(events);
  }));
  connections_.emplace(connection.get(), std::move(connection));
  return absl::OkStatus();
}

void Server::Accept() {
  while (true) {
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      int err = errno;
      if (err == EAGAIN) return;
      LogError("{}", ErrnoError(err, "accept ttrpc connection").message());
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        loop_->Remove(listener_.get());
        accept_timer_ = loop_->AddTimer(kAcceptBackoff, [this] {
          accept_timer_ = 0;
          if (absl::Status status = loop_->Add(listener_.get(), EPOLLIN, [this](uint32_t) { Accept(); });
              !status.ok())
            LogError("ttrpc: resume accepting: {}", status.message());
        });
      }
      return;
    }
    if (absl::Status status = ServeConnection(UniqueFd(fd)); !status.ok())
      LogError("ttrpc: serve connection: {}", status.message());
  }
}

void Server::Drop(Connection* connection) { connections_.erase(connection); }

}  // namespace liman::ttrpc
