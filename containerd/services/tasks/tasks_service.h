// containerd.services.tasks.v1.Tasks (containerd 1.6's services/tasks/local.go): the tasks of a
// namespace's containers, run through shims by the task manager. Every call names a container
// that must exist in the metadata store (NotFound otherwise); Create takes the container's spec
// and runtime from its record. Like containerd's, this service publishes no events of its own:
// the shims publish the task events (and the task manager for shims that died).
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeTasksService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
