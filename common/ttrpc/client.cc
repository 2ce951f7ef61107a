#include "common/ttrpc/client.h"

#include "common/status.h"
#include "common/ttrpc/status.h"
#include "common/unix_socket.h"
#include "ttrpc/ttrpc.pb.h"

namespace liman::ttrpc {
namespace {

constexpr std::string_view kUnixScheme = "unix://";

absl::Time DeadlineAfter(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return absl::InfiniteFuture();
  return absl::Now() + timeout;
}

}  // namespace

absl::StatusOr<Client> Client::Connect(std::string_view address) {
  std::string_view path = address;
  if (path.starts_with(kUnixScheme)) path.remove_prefix(kUnixScheme.size());
  absl::StatusOr<UniqueFd> fd = ConnectUnix(std::string(path));
  // Whatever the errno (ENOENT: not listening yet, ECONNREFUSED: gone), the endpoint is
  // unavailable for now; callers that retry test for that.
  if (!fd.ok()) return absl::UnavailableError(fmt::format("ttrpc: {}", fd.status().message()));
  return Client(std::move(*fd));
}

absl::StatusOr<uint32_t> Client::Send(std::string_view service, std::string_view method,
                                      std::string_view payload, absl::Duration timeout) {
  if (!fd_) return absl::FailedPreconditionError("ttrpc: client is not connected");
  ::ttrpc::Request request;
  request.set_service(std::string(service));
  request.set_method(std::string(method));
  request.set_payload(std::string(payload));
  if (timeout != absl::InfiniteDuration()) request.set_timeout_nano(absl::ToInt64Nanoseconds(timeout));
  Frame frame;
  frame.stream_id = next_stream_id_;
  frame.type = MessageType::kRequest;
  frame.payload = request.SerializeAsString();
  LIMAN_RETURN_IF_ERROR(Annotate(WriteFrame(fd_.get(), frame), fmt::format("call {}/{}", service, method)));
  next_stream_id_ += 2;
  return frame.stream_id;
}

absl::StatusOr<std::string> Client::Receive(uint32_t stream_id, absl::Time deadline) {
  while (true) {
    absl::StatusOr<Frame> next = ReadFrame(fd_.get(), reader_, deadline);
    if (!next.ok()) {
      if (next.status().code() == absl::StatusCode::kDeadlineExceeded) {
        abandoned_.insert(stream_id);
        return absl::DeadlineExceededError(fmt::format("ttrpc: no response on stream {}: deadline exceeded", stream_id));
      }
      if (next.status().code() == absl::StatusCode::kResourceExhausted)  // the stream is lost
        return absl::UnavailableError(next.status().message());
      return next.status();
    }
    Frame& frame = *next;
    if (frame.type != MessageType::kResponse)
      return absl::InternalError(fmt::format("ttrpc: unexpected message type {} on stream {}",
                                             static_cast<int>(frame.type), frame.stream_id));
    if (frame.stream_id != stream_id) {
      if (abandoned_.erase(frame.stream_id) > 0) continue;  // late answer to a timed-out call
      return absl::InternalError(
          fmt::format("ttrpc: response for stream {} while waiting for stream {}", frame.stream_id, stream_id));
    }
    ::ttrpc::Response response;
    if (!response.ParseFromString(frame.payload))
      return absl::InternalError(fmt::format("ttrpc: cannot parse the response on stream {}", stream_id));
    if (response.has_status()) LIMAN_RETURN_IF_ERROR(StatusFromProto(response.status()));
    return std::move(*response.mutable_payload());
  }
}

absl::StatusOr<std::string> Client::Call(std::string_view service, std::string_view method,
                                         std::string_view payload, absl::Duration timeout) {
  absl::Time deadline = DeadlineAfter(timeout);
  LIMAN_ASSIGN_OR_RETURN(uint32_t stream_id, Send(service, method, payload, timeout));
  return Receive(stream_id, deadline);
}

absl::Status Client::Call(std::string_view service, std::string_view method,
                          const google::protobuf::MessageLite& request, google::protobuf::MessageLite* response,
                          absl::Duration timeout) {
  LIMAN_ASSIGN_OR_RETURN(std::string payload, Call(service, method, request.SerializeAsString(), timeout));
  if (response != nullptr && !response->ParseFromString(payload))
    return absl::InternalError(
        fmt::format("ttrpc: {}/{}: cannot parse the response as {}", service, method, response->GetTypeName()));
  return absl::OkStatus();
}

}  // namespace liman::ttrpc
