#include "containerd/client/call_scope.h"

#include "common/status.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"

namespace liman::containerd::client {

std::unique_ptr<grpc::ClientContext> NewCallContext(const CallScope& scope, bool with_deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata(server::kNamespaceMetadataKey, scope.ns);
  if (!scope.lease.empty()) context->AddMetadata(server::kLeaseMetadataKey, scope.lease);
  if (with_deadline && scope.timeout != absl::InfiniteDuration()) context->set_deadline(absl::ToChronoTime(absl::Now() + scope.timeout));
  return context;
}

absl::Status CallStatus(const grpc::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return Annotate(server::FromGrpcStatus(status), what);
}

}  // namespace liman::containerd::client
