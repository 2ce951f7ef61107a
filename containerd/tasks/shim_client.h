// The manager's side of one shim's containerd.task.v2.Task ttrpc service, safe to use from many
// threads: ordinary calls share a small pool of connections (a ttrpc::Client carries one call at
// a time), and calls that may block for a long time (Wait) get a connection of their own that
// Close() can interrupt.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/ttrpc/client.h"
#include "google/protobuf/message_lite.h"

namespace liman::containerd::tasks {

class ShimClient {
 public:
  explicit ShimClient(std::string address) : address_(std::move(address)) {}
  ~ShimClient() { Close(); }
  ShimClient(const ShimClient&) = delete;
  ShimClient& operator=(const ShimClient&) = delete;

  const std::string& address() const { return address_; }

  // One call of containerd.task.v2.Task/<method>. The shim's own errors come back as it sent
  // them; a shim that cannot be reached or hangs up is Unavailable.
  absl::Status Call(std::string_view method, const google::protobuf::MessageLite& request,
                    google::protobuf::MessageLite* response, absl::Duration timeout);
  // The same on a dedicated connection, for calls that wait on the container (Wait): Close()
  // interrupts it (Unavailable).
  absl::Status LongCall(std::string_view method, const google::protobuf::MessageLite& request,
                        google::protobuf::MessageLite* response, absl::Time deadline);

  // Whether the shim still accepts connections (a dead shim's socket refuses or is gone).
  bool Reachable() const;

  // Closes every connection and interrupts long calls; later calls fail with Unavailable.
  void Close();

 private:
  absl::StatusOr<ttrpc::Client> Take();
  void Return(ttrpc::Client client);

  const std::string address_;
  std::mutex mu_;
  std::vector<ttrpc::Client> idle_;
  std::set<int> long_call_fds_;
  bool closed_ = false;
};

}  // namespace liman::containerd::tasks
