// A Snapshotter over containerd's snapshots service (containerd.services.snapshots.v1.Snapshots)
// for one named snapshotter ("overlayfs"), as containerd's snapshots/proxy is. The mounts it
// returns name paths on the server's machine: mounting them is for a client on the same host.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>

#include "containerd/client/call_scope.h"
#include "containerd/core/snapshots.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"

namespace liman::containerd::client {

class GrpcSnapshotter final : public Snapshotter {
 public:
  GrpcSnapshotter(const std::shared_ptr<grpc::Channel>& channel, std::string snapshotter, CallScope scope);

  absl::StatusOr<SnapshotInfo> Stat(std::string_view key) override;
  absl::StatusOr<SnapshotInfo> Update(const SnapshotInfo& info, const FieldPaths& paths) override;
  absl::StatusOr<SnapshotUsage> Usage(std::string_view key) override;
  absl::StatusOr<std::vector<MountDescriptor>> Mounts(std::string_view key) override;
  absl::StatusOr<std::vector<MountDescriptor>> Prepare(std::string_view key, std::string_view parent,
                                                       const Labels& labels) override;
  absl::StatusOr<std::vector<MountDescriptor>> View(std::string_view key, std::string_view parent,
                                                    const Labels& labels) override;
  absl::Status Commit(std::string_view name, std::string_view key, const Labels& labels) override;
  absl::Status Remove(std::string_view key) override;
  absl::Status Walk(const std::vector<std::string>& filters,
                    const std::function<absl::Status(const SnapshotInfo&)>& fn) override;
  absl::Status Cleanup() override;

 private:
  std::unique_ptr<::containerd::services::snapshots::v1::Snapshots::Stub> stub_;
  std::string snapshotter_;
  CallScope scope_;
};

}  // namespace liman::containerd::client
