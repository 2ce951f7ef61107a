#include "containerd/services/namespaces/namespaces_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "common/status.h"
#include "containerd/events/namespace.pb.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::namespaces::v1;

void ToProtoNamespace(const metadata::Namespace& ns, api::Namespace* out) {
  out->set_name(ns.name);
  out->mutable_labels()->insert(ns.labels.begin(), ns.labels.end());
}

metadata::Namespace FromProtoNamespace(const api::Namespace& ns) {
  return metadata::Namespace{.name = ns.name(), .labels = Labels(ns.labels().begin(), ns.labels().end())};
}

class NamespacesService final : public api::Namespaces::Service {
 public:
  explicit NamespacesService(const ServiceDeps& deps) : deps_(deps) {}

  grpc::Status Get(grpc::ServerContext*, const api::GetNamespaceRequest* request,
                   api::GetNamespaceResponse* response) override {
    absl::StatusOr<metadata::Namespace> ns = deps_.db->Namespaces().Get(request->name());
    if (!ns.ok()) return server::ToGrpcStatus(ns.status());
    ToProtoNamespace(*ns, response->mutable_namespace_());
    return grpc::Status::OK;
  }

  // The request's filter is not applied: containerd 1.6 ignores it too.
  grpc::Status List(grpc::ServerContext*, const api::ListNamespacesRequest*,
                    api::ListNamespacesResponse* response) override {
    absl::StatusOr<std::vector<metadata::Namespace>> namespaces = deps_.db->Namespaces().List();
    if (!namespaces.ok()) return server::ToGrpcStatus(namespaces.status());
    for (const metadata::Namespace& ns : *namespaces) ToProtoNamespace(ns, response->add_namespaces());
    return grpc::Status::OK;
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateNamespaceRequest* request,
                      api::CreateNamespaceResponse* response) override {
    absl::StatusOr<metadata::Namespace> created =
        deps_.db->Namespaces().Create(FromProtoNamespace(request->namespace_()));
    if (!created.ok()) return server::ToGrpcStatus(created.status());
    ToProtoNamespace(*created, response->mutable_namespace_());
    ::containerd::events::NamespaceCreate event;
    event.set_name(created->name);
    event.mutable_labels()->insert(created->labels.begin(), created->labels.end());
    return server::ToGrpcStatus(deps_.events->Publish(EventNamespace(*context, created->name), "/namespaces/create", event));
  }

  // As containerd: with a mask only "labels.<key>" paths (each sets or, when empty, removes
  // that label); without one the labels are replaced.
  grpc::Status Update(grpc::ServerContext* context, const api::UpdateNamespaceRequest* request,
                      api::UpdateNamespaceResponse* response) override {
    FieldPaths paths(request->update_mask().paths().begin(), request->update_mask().paths().end());
    for (const std::string& path : paths) {
      if (!absl::StartsWith(path, "labels."))
        return server::ToGrpcStatus(absl::InvalidArgumentError(fmt::format("cannot update {} field", Quote(path))));
    }
    absl::StatusOr<metadata::Namespace> updated =
        deps_.db->Namespaces().Update(FromProtoNamespace(request->namespace_()), paths);
    if (!updated.ok()) return server::ToGrpcStatus(updated.status());
    ToProtoNamespace(*updated, response->mutable_namespace_());
    // The event carries the request's labels, as containerd's does.
    ::containerd::events::NamespaceUpdate event;
    event.set_name(updated->name);
    *event.mutable_labels() = request->namespace_().labels();
    return server::ToGrpcStatus(deps_.events->Publish(EventNamespace(*context, updated->name), "/namespaces/update", event));
  }

  grpc::Status Delete(grpc::ServerContext*, const api::DeleteNamespaceRequest* request,
                      google::protobuf::Empty*) override {
    if (absl::Status status = deps_.db->Namespaces().Delete(request->name()); !status.ok())
      return server::ToGrpcStatus(status);
    ::containerd::events::NamespaceDelete event;
    event.set_name(request->name());
    // Published in the deleted namespace, as containerd does.
    return server::ToGrpcStatus(deps_.events->Publish(request->name(), "/namespaces/delete", event));
  }

 private:
  // containerd publishes create and update events in the caller's namespace (every containerd
  // client sends one); a caller without one gets them in the namespace the call is about
  // rather than an error after the change was made.
  static std::string EventNamespace(const grpc::ServerContext& context, const std::string& subject) {
    absl::StatusOr<std::string> ns = server::RequireNamespace(context);
    return ns.ok() ? *std::move(ns) : subject;
  }

  const ServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeNamespacesService(const ServiceDeps& deps) {
  return std::make_unique<NamespacesService>(deps);
}

}  // namespace liman::containerd::services
