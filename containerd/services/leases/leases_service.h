// containerd.services.leases.v1.Leases: the metadata store's leases behind gRPC, as containerd
// 1.6's services/leases: Create (a generated id when none is given), Delete (with `sync`, the
// garbage collector runs before the answer), List (filters), AddResource, DeleteResource and
// ListResources, all in the call's namespace.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeLeasesService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
