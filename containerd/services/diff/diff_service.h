// containerd.services.diff.v1.Diff: layers onto mounts and mounts into layers, as containerd
// 1.6's diff service with its Linux differ (diff/apply for Apply, diff/walking's Compare):
//   Apply  reads the layer blob from the namespace's content store, decompresses it by media
//          type, verifies it, unpacks it onto the mounts (see layer_applier.h) and returns the
//          uncompressed layer's descriptor (its diff id);
//   Diff   writes the changes between two mount sets as a layer blob (see layer_comparer.h).
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeDiffService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
