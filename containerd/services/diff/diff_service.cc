#include "containerd/services/diff/diff_service.h"

#include <string>
#include <vector>

#include "common/daemon_memory.h"
#include "common/file_util.h"
#include "common/status.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/diff/layer_applier.h"
#include "containerd/services/diff/layer_comparer.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/snapshots/mount_proto.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::diff::v1;

void ToProtoDescriptor(const diff::LayerDescriptor& layer, ::containerd::types::Descriptor* out) {
  out->set_media_type(layer.media_type);
  out->set_digest(layer.digest);
  out->set_size(layer.size);
}

class DiffService final : public api::Diff::Service {
 public:
  explicit DiffService(const ServiceDeps& deps)
      : deps_(deps), temp_mounts_(JoinPath(deps.state, "io.containerd.service.v1.diff-service")) {}

  grpc::Status Apply(grpc::ServerContext* context, const api::ApplyRequest* request,
                     api::ApplyResponse* response) override {
    return server::ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentStore> content, OpenContent(*context));
      if (!request->has_diff()) return absl::InvalidArgumentError("apply: diff descriptor is required");
      diff::LayerDescriptor layer{.media_type = request->diff().media_type(),
                                  .digest = request->diff().digest(),
                                  .size = request->diff().size()};
      // Payloads configure stream processors (decryption, …) by media type; none is
      // registered here, so a type that would need one fails in CompressionForMediaType.
      LIMAN_ASSIGN_OR_RETURN(diff::LayerDescriptor applied,
                             diff::ApplyLayerToMounts(*content, layer, FromProtoMounts(request->mounts()),
                                                      temp_mounts_, deps_.sync_fs));
      ToProtoDescriptor(applied, response->mutable_applied());
      ReleaseFreeMemory();  // as after Diff below
      return absl::OkStatus();
    }());
  }

  grpc::Status Diff(grpc::ServerContext* context, const api::DiffRequest* request,
                    api::DiffResponse* response) override {
    return server::ToGrpcStatus([&]() -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentStore> content, OpenContent(*context));
      diff::CompareOptions options{.media_type = request->media_type(),
                                   .ref = request->ref(),
                                   .labels = Labels(request->labels().begin(), request->labels().end())};
      LIMAN_ASSIGN_OR_RETURN(diff::LayerDescriptor layer,
                             diff::CompareMounts(*content, FromProtoMounts(request->left()),
                                                 FromProtoMounts(request->right()), options, temp_mounts_));
      ToProtoDescriptor(layer, response->mutable_diff());
      // The compressor's and the walk's buffers go back to the kernel: layers are written rarely
      // (docker commit, each build step) and each leaves megabytes free in malloc otherwise.
      ReleaseFreeMemory();
      return absl::OkStatus();
    }());
  }

 private:
  // The call's namespace's view of the content store; what Diff writes joins the call's lease.
  absl::StatusOr<std::unique_ptr<ContentStore>> OpenContent(const grpc::ServerContext& context) {
    LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(context));
    return deps_.db->ContentView(ns, server::LeaseFromContext(context).value_or(""));
  }

  const ServiceDeps deps_;
  const std::string temp_mounts_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeDiffService(const ServiceDeps& deps) { return std::make_unique<DiffService>(deps); }

}  // namespace liman::containerd::services
