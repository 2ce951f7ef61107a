// containerd.services.version.v1.Version: what `ctr version` shows as the server's version.
#pragma once

#include "containerd/services/version/v1/version.grpc.pb.h"

namespace liman::containerd::server {

// The revision field: containerd puts its git commit there; ours names the implementation so a
// client can tell the two apart.
inline constexpr char kServerRevision[] = "liman";

class VersionService final : public ::containerd::services::version::v1::Version::Service {
 public:
  grpc::Status Version(grpc::ServerContext* context, const google::protobuf::Empty* request,
                       ::containerd::services::version::v1::VersionResponse* response) override;
};

}  // namespace liman::containerd::server
