// containerd.services.events.v1.Events: the daemon's event exchange behind gRPC, as containerd
// 1.6's services/events: Publish stamps an event with the call's namespace, Forward passes on an
// envelope made elsewhere, and Subscribe streams every later envelope matching the request's
// filters (`topic=="/tasks/exit"`, `namespace==default`, `event.container_id==c1`; see
// envelope_adaptor.h) from all namespaces, until the client goes away or the daemon shuts down
// (a shutdown hook ends the live subscriptions, so they do not hold up the shutdown).
#pragma once

#include <memory>

#include <grpcpp/impl/service_type.h>

#include "containerd/services/service_deps.h"

namespace liman::containerd::services {

std::unique_ptr<grpc::Service> MakeEventsService(const ServiceDeps& deps);

}  // namespace liman::containerd::services
