// The real containerd 1.6 (Debian's /usr/bin/containerd) for the client's suite tests: started
// on a temporary root, state and socket with a minimal configuration (no CRI plugin), like
// integration/dropin/helpers.bash does, and stopped again with every mount under its directory
// undone and the directory removed, also when a test failed.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "absl/status/statusor.h"

namespace liman::containerd::client::testing {

inline constexpr char kContainerdBinary[] = "/usr/bin/containerd";

class RealContainerd {
 public:
  // Why containerd cannot be run here (not installed, not root), or "" when it can.
  static std::string SkipReason();
  // Starts it and waits until its socket answers.
  static absl::StatusOr<std::unique_ptr<RealContainerd>> Start();
  ~RealContainerd();
  RealContainerd(const RealContainerd&) = delete;
  RealContainerd& operator=(const RealContainerd&) = delete;

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  const std::string& dir() const { return dir_; }
  // A lease `id` in namespace `ns` (no expiry): what a client creates so that the content it
  // writes survives containerd's garbage collection until the lease goes.
  absl::Status CreateLease(const std::string& ns, const std::string& id);

 private:
  explicit RealContainerd(std::string dir) : dir_(std::move(dir)) {}
  absl::Status Launch();
  absl::Status WaitServing();
  void Stop();
  std::string LogTail() const;

  std::string dir_;
  pid_t pid_ = -1;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace liman::containerd::client::testing
