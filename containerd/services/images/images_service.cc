#include "containerd/services/images/images_service.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "containerd/events/image.pb.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/images/image_proto.h"
#include "containerd/services/images/v1/images.grpc.pb.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::images::v1;

class ImagesService final : public api::Images::Service {
 public:
  explicit ImagesService(const ServiceDeps& deps) : db_(*deps.db), events_(*deps.events) {}

  grpc::Status Get(grpc::ServerContext* context, const api::GetImageRequest* request,
                   api::GetImageResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(metadata::Image image, db_.Images().Get(ns, request->name()));
      ToProtoImage(image, response->mutable_image());
      return absl::OkStatus();
    });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListImagesRequest* request,
                    api::ListImagesResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      std::vector<std::string> filters(request->filters().begin(), request->filters().end());
      LIMAN_ASSIGN_OR_RETURN(std::vector<metadata::Image> images, db_.Images().List(ns, filters));
      for (const metadata::Image& image : images) ToProtoImage(image, response->add_images());
      return absl::OkStatus();
    });
  }

  grpc::Status Create(grpc::ServerContext* context, const api::CreateImageRequest* request,
                      api::CreateImageResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      if (request->image().name().empty()) return absl::InvalidArgumentError("Image.Name required");
      LIMAN_ASSIGN_OR_RETURN(metadata::Image created, db_.Images().Create(ns, FromProtoImage(request->image())));
      ToProtoImage(created, response->mutable_image());

      ::containerd::services::images::v1::ImageCreate event;
      event.set_name(created.name);
      event.mutable_labels()->insert(created.labels.begin(), created.labels.end());
      return events_.Publish(ns, "/images/create", event);
    });
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateImageRequest* request,
                      api::UpdateImageResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      if (request->image().name().empty()) return absl::InvalidArgumentError("Image.Name required");
      FieldPaths paths(request->update_mask().paths().begin(), request->update_mask().paths().end());
      LIMAN_ASSIGN_OR_RETURN(metadata::Image updated,
                             db_.Images().Update(ns, FromProtoImage(request->image()), paths));
      ToProtoImage(updated, response->mutable_image());

      ::containerd::services::images::v1::ImageUpdate event;
      event.set_name(updated.name);
      event.mutable_labels()->insert(updated.labels.begin(), updated.labels.end());
      return events_.Publish(ns, "/images/update", event);
    });
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteImageRequest* request,
                      google::protobuf::Empty*) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      // As containerd: the event goes out once the image is gone, and a sync delete answers only
      // after the collection it asked for, so what the image alone held is gone too.
      LIMAN_RETURN_IF_ERROR(db_.Images().Delete(ns, request->name()));
      ::containerd::services::images::v1::ImageDelete event;
      event.set_name(request->name());
      LIMAN_RETURN_IF_ERROR(events_.Publish(ns, "/images/delete", event));
      if (request->sync()) {
        absl::StatusOr<metadata::GarbageCollectStats> collected = db_.GarbageCollect();
        if (!collected.ok()) return Annotate(collected.status(), "delete image: garbage collection");
      }
      return absl::OkStatus();
    });
  }

 private:

  metadata::DB& db_;
  events::Exchange& events_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeImagesService(const ServiceDeps& deps) {
  return std::make_unique<ImagesService>(deps);
}

}  // namespace liman::containerd::services
