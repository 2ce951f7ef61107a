#include "containerd/tasks/shim_client.h"

#include <sys/socket.h>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::tasks {
namespace {

constexpr std::string_view kTaskService = "containerd.task.v2.Task";
// Idle connections kept per shim: enough for the usual concurrency, few descriptors per task.
constexpr size_t kMaxIdleConnections = 2;

}  // namespace

absl::StatusOr<ttrpc::Client> ShimClient::Take() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return absl::UnavailableError(fmt::format("shim {}: connection closed", address_));
    if (!idle_.empty()) {
      ttrpc::Client client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect(address_);
  if (!client.ok()) return absl::UnavailableError(fmt::format("connect to shim: {}", client.status().message()));
  return client;
}

void ShimClient::Return(ttrpc::Client client) {
  std::lock_guard lock(mu_);
  if (!closed_ && idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(client));
}

absl::Status ShimClient::Call(std::string_view method, const google::protobuf::MessageLite& request,
                              google::protobuf::MessageLite* response, absl::Duration timeout) {
  LIMAN_ASSIGN_OR_RETURN(ttrpc::Client client, Take());
  absl::Status status = client.Call(kTaskService, method, request, response, timeout);
  // After a transport failure the connection's state is unknown: it is not reused.
  if (status.code() != absl::StatusCode::kUnavailable && status.code() != absl::StatusCode::kInternal)
    Return(std::move(client));
  return status;
}

absl::Status ShimClient::LongCall(std::string_view method, const google::protobuf::MessageLite& request,
                                  google::protobuf::MessageLite* response, absl::Time deadline) {
  absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect(address_);
  if (!client.ok()) return absl::UnavailableError(fmt::format("connect to shim: {}", client.status().message()));
  {
    std::lock_guard lock(mu_);
    if (closed_) return absl::UnavailableError(fmt::format("shim {}: connection closed", address_));
    long_call_fds_.insert(client->fd());
  }
  absl::Duration timeout =
      deadline == absl::InfiniteFuture() ? absl::InfiniteDuration() : std::max(deadline - absl::Now(), absl::ZeroDuration());
  absl::Status status = client->Call(kTaskService, method, request, response, timeout);
  {
    std::lock_guard lock(mu_);
    long_call_fds_.erase(client->fd());
  }
  return status;
}

bool ShimClient::Reachable() const { return ttrpc::Client::Connect(address_).ok(); }

void ShimClient::Close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  idle_.clear();
  // shutdown(2), not close: the calling thread still owns the descriptor; its blocked read
  // returns end of file at once.
  for (int fd : long_call_fds_) shutdown(fd, SHUT_RDWR);
}

}  // namespace liman::containerd::tasks
