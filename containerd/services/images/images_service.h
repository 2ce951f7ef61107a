// containerd.services.images.v1.Images: the metadata store's images behind gRPC, as containerd
// 1.6's services/images: names map to target descriptors per namespace (from the call's
// metadata); Create, Update and Delete publish /images/create, /images/update and /images/delete,
// and a Delete with `sync` answers only after a garbage collection ran.
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeImagesService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
