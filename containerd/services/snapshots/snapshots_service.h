// containerd.services.snapshots.v1.Snapshots: the namespaced snapshotters behind gRPC, as
// containerd 1.6's services/snapshots: the request names the snapshotter (required), the
// namespace and lease come from the call's metadata, and Prepare/Commit/Remove publish
// /snapshot/prepare, /snapshot/commit and /snapshot/remove.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeSnapshotsService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
