// containerd.services.namespaces.v1.Namespaces: the metadata store's namespaces behind gRPC, as
// containerd 1.6's services/namespaces: Get, List, Create, Update (labels by field mask) and
// Delete (refused while the namespace still has resources), publishing /namespaces/create,
// /namespaces/update and /namespaces/delete. A call needs no namespace of its own.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeNamespacesService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
