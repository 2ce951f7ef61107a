// containerd.services.content.v1.Content: the namespace's view of the content store behind
// gRPC, as containerd 1.6's services/content (contentserver): Info, Update, List, Delete
// (publishing /content/delete), Read, Status, ListStatuses, Abort and the resumable Write
// stream (STAT / WRITE / COMMIT). The namespace and lease come from the call's metadata, so
// what a client writes is namespaced and held by its lease.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeContentService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
