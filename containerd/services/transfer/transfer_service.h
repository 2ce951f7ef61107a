// liman.services.transfer.v1.Transfer: image pull, import and export done by the daemon (see
// proto/liman/services/transfer/v1/transfer.proto). Each call works in the call's namespace
// under a lease (the call's, or a temporary one) so that nothing it writes is collected before
// the image record holds it, and records images as containerd's client does, publishing
// /images/create or /images/update. A failed call leaves no image record behind.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeTransferService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
