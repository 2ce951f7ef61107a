// What a containerd client says about a call besides the request itself: the namespace it works
// in (gRPC metadata "containerd-namespace", set by every containerd client from
// CONTAINERD_NAMESPACE / --namespace) and the lease holding its new resources back from garbage
// collection ("containerd-lease").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "containerd/server/grpc_status.h"

namespace liman::containerd::server {

inline constexpr char kNamespaceMetadataKey[] = "containerd-namespace";
inline constexpr char kLeaseMetadataKey[] = "containerd-lease";

// containerd's rule for a namespace name (identifiers.Validate): 1–76 characters matching
// ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$. kInvalidArgument, worded like containerd, otherwise.
absl::Status ValidateNamespaceName(std::string_view name);

// The namespace of a call (containerd's namespaces.NamespaceRequired): kFailedPrecondition
// "namespace is required" when the metadata is absent or empty, kInvalidArgument when the name
// is not valid.
absl::StatusOr<std::string> RequireNamespace(const grpc::ServerContextBase& context);

// Runs `body(namespace)` for a call that needs its namespace (the common shape of a service
// method) and turns the result into the call's gRPC status.
template <typename Body>
grpc::Status InNamespace(const grpc::ServerContextBase& context, Body&& body) {
  absl::StatusOr<std::string> ns = RequireNamespace(context);
  if (!ns.ok()) return ToGrpcStatus(ns.status());
  return ToGrpcStatus(body(*ns));
}

// The lease of a call, if the client sent one (containerd's leases.FromContext).
std::optional<std::string> LeaseFromContext(const grpc::ServerContextBase& context);

}  // namespace liman::containerd::server
