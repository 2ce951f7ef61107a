#include "containerd/services/containers/containers_service.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "containerd/events/container.pb.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/containers/container_proto.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::containers::v1;

class ContainersService final : public api::Containers::Service {
 public:
  explicit ContainersService(const ServiceDeps& deps) : db_(*deps.db), events_(*deps.events) {}

  grpc::Status Get(grpc::ServerContext* context, const api::GetContainerRequest* request,
                   api::GetContainerResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(metadata::Container container, db_.Containers().Get(ns, request->id()));
      ToProtoContainer(container, response->mutable_container());
      return absl::OkStatus();
    });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListContainersRequest* request,
                    api::ListContainersResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<metadata::Container> containers, ListContainers(ns, *request));
      for (const metadata::Container& container : containers)
        ToProtoContainer(container, response->add_containers());
      return absl::OkStatus();
    });
  }

  // One container per message, so that a namespace with many large specs never needs one
  // message over the size limit (why containerd added ListStream).
  grpc::Status ListStream(grpc::ServerContext* context, const api::ListContainersRequest* request,
                          grpc::ServerWriter<api::ListContainerMessage>* writer) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<metadata::Container> containers, ListContainers(ns, *request));
      for (const metadata::Container& container : containers) {
        api::ListContainerMessage message;
        ToProtoContainer(container, message.mutable_container());
        if (!writer->Write(message))
          return absl::CancelledError(fmt::format("list containers: send {}: stream closed", Quote(container.id)));
      }
      return absl::OkStatus();
    });
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateContainerRequest* request,
                      api::CreateContainerResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(metadata::Container created,
                             db_.Containers().Create(ns, FromProtoContainer(request->container())));
      ToProtoContainer(created, response->mutable_container());

      ::containerd::events::ContainerCreate event;
      event.set_id(created.id);
      event.set_image(created.image);
      event.mutable_runtime()->set_name(created.runtime.name);
      if (response->container().runtime().has_options())
        *event.mutable_runtime()->mutable_options() = response->container().runtime().options();
      return events_.Publish(ns, "/containers/create", event);
    });
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateContainerRequest* request,
                      api::UpdateContainerResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      if (request->container().id().empty()) return absl::InvalidArgumentError("Container.ID required");
      FieldPaths paths(request->update_mask().paths().begin(), request->update_mask().paths().end());
      LIMAN_ASSIGN_OR_RETURN(metadata::Container updated,
                             db_.Containers().Update(ns, FromProtoContainer(request->container()), paths));
      ToProtoContainer(updated, response->mutable_container());

      ::containerd::events::ContainerUpdate event;
      event.set_id(updated.id);
      event.set_image(updated.image);
      event.mutable_labels()->insert(updated.labels.begin(), updated.labels.end());
      event.set_snapshot_key(updated.snapshot_key);
      return events_.Publish(ns, "/containers/update", event);
    });
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteContainerRequest* request,
                      google::protobuf::Empty*) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(db_.Containers().Delete(ns, request->id()));
      ::containerd::events::ContainerDelete event;
      event.set_id(request->id());
      return events_.Publish(ns, "/containers/delete", event);
    });
  }

 private:

  absl::StatusOr<std::vector<metadata::Container>> ListContainers(const std::string& ns,
                                                                  const api::ListContainersRequest& request) {
    std::vector<std::string> filters(request.filters().begin(), request.filters().end());
    return db_.Containers().List(ns, filters);
  }

  metadata::DB& db_;
  events::Exchange& events_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeContainersService(const ServiceDeps& deps) {
  return std::make_unique<ContainersService>(deps);
}

}  // namespace liman::containerd::services
