#include "containerd/server/version_service.h"

namespace liman::containerd::server {

grpc::Status VersionService::Version(grpc::ServerContext*, const google::protobuf::Empty*,
                                     ::containerd::services::version::v1::VersionResponse* response) {
  response->set_version(LIMAN_VERSION);
  response->set_revision(kServerRevision);
  return grpc::Status::OK;
}

}  // namespace liman::containerd::server
