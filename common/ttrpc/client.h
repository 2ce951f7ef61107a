// A blocking ttrpc client (one connection, unary calls). Used by liman-shim to publish events to
// the manager, and by tests and tools to drive a shim.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ttrpc/frame.h"
#include "common/unique_fd.h"
#include "google/protobuf/message_lite.h"

namespace liman::ttrpc {

class Client {
 public:
  explicit Client(UniqueFd fd) : fd_(std::move(fd)) {}
  // Connects to a unix socket path; containerd's "unix://" prefix is accepted too.
  static absl::StatusOr<Client> Connect(std::string_view address);

  // Sends one request and waits for its response. A server error comes back as that status
  // (code and message as sent); transport failures are kUnavailable / kDeadlineExceeded.
  absl::StatusOr<std::string> Call(std::string_view service, std::string_view method,
                                   std::string_view payload,
                                   absl::Duration timeout = absl::InfiniteDuration());
  // Typed form: serializes `request`, parses the response into `response`.
  absl::Status Call(std::string_view service, std::string_view method,
                    const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response,
                    absl::Duration timeout = absl::InfiniteDuration());

  // The two halves of Call, for pipelining several requests on one connection.
  absl::StatusOr<uint32_t> Send(std::string_view service, std::string_view method,
                                std::string_view payload, absl::Duration timeout = absl::InfiniteDuration());
  // Reads responses until the one for `stream_id` (others are an error: calls are in order).
  absl::StatusOr<std::string> Receive(uint32_t stream_id, absl::Time deadline = absl::InfiniteFuture());

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  uint32_t next_stream_id_ = 1;  // client streams are odd, as in ttrpc
  // Bytes read but not yet taken as frames: a deadline can pass in the middle of a frame.
  FrameReader reader_;
  // Calls that timed out: their late responses are skipped, keeping the connection usable.
  std::set<uint32_t> abandoned_;
};

}  // namespace liman::ttrpc
