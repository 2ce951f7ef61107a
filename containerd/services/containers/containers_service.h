// containerd.services.containers.v1.Containers: the metadata store's containers behind gRPC, as
// containerd 1.6's services/containers: per namespace (from the call's metadata), with
// ListStream sending one container per message, and Create, Update and Delete publishing
// /containers/create, /containers/update and /containers/delete.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeContainersService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
