#include "containerd/services/snapshots/snapshots_service.h"

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "containerd/events/snapshot.pb.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/snapshots/mount_proto.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::snapshots::v1;

// containerd sends List answers in blocks of this many infos.
constexpr size_t kListBatchSize = 100;

void ToProtoTime(absl::Time time, google::protobuf::Timestamp* out) {
  if (time == absl::InfinitePast() || time == absl::UnixEpoch()) return;
  int64_t nanos = absl::ToUnixNanos(time);
  int64_t seconds = nanos / 1000000000;
  int64_t rest = nanos % 1000000000;
  if (rest < 0) {
    rest += 1000000000;
    --seconds;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest));
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& time) {
  return absl::FromUnixSeconds(time.seconds()) + absl::Nanoseconds(time.nanos());
}

// containerd's fromKind: anything not active or a view is reported as committed.
api::Kind ToProtoKind(SnapshotKind kind) {
  switch (kind) {
    case SnapshotKind::kActive:
      return api::ACTIVE;
    case SnapshotKind::kView:
      return api::VIEW;
    default:
      return api::COMMITTED;
  }
}

SnapshotKind FromProtoKind(api::Kind kind) {
  switch (kind) {
    case api::ACTIVE:
      return SnapshotKind::kActive;
    case api::VIEW:
      return SnapshotKind::kView;
    default:
      return SnapshotKind::kCommitted;
  }
}

void ToProtoInfo(const SnapshotInfo& info, api::Info* out) {
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(ToProtoKind(info.kind));
  ToProtoTime(info.created_at, out->mutable_created_at());
  ToProtoTime(info.updated_at, out->mutable_updated_at());
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
}

SnapshotInfo FromProtoInfo(const api::Info& info) {
  SnapshotInfo out;
  out.name = info.name();
  out.parent = info.parent();
  out.kind = FromProtoKind(info.kind());
  out.created_at = FromProtoTime(info.created_at());
  out.updated_at = FromProtoTime(info.updated_at());
  out.labels.insert(info.labels().begin(), info.labels().end());
  return out;
}

Labels ToLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  return Labels(labels.begin(), labels.end());
}

class SnapshotsService final : public api::Snapshots::Service {
 public:
  explicit SnapshotsService(const ServiceDeps& deps) : deps_(deps) {}

  grpc::Status Prepare(grpc::ServerContext* context, const api::PrepareSnapshotRequest* request,
                       api::PrepareSnapshotResponse* response) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<MountDescriptor> mounts,
                             call.snapshotter->Prepare(request->key(), request->parent(), ToLabels(request->labels())));
      ::containerd::events::SnapshotPrepare event;
      event.set_key(request->key());
      event.set_parent(request->parent());
      // containerd fails the call when the event cannot be published (the snapshot stays).
      LIMAN_RETURN_IF_ERROR(deps_.events->Publish(call.ns, "/snapshot/prepare", event));
      ToProtoMounts(mounts, response->mutable_mounts());
      return absl::OkStatus();
    });
  }

  grpc::Status View(grpc::ServerContext* context, const api::ViewSnapshotRequest* request,
                    api::ViewSnapshotResponse* response) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<MountDescriptor> mounts,
                             call.snapshotter->View(request->key(), request->parent(), ToLabels(request->labels())));
      ToProtoMounts(mounts, response->mutable_mounts());
      return absl::OkStatus();
    });
  }

  grpc::Status Mounts(grpc::ServerContext* context, const api::MountsRequest* request,
                      api::MountsResponse* response) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<MountDescriptor> mounts, call.snapshotter->Mounts(request->key()));
      ToProtoMounts(mounts, response->mutable_mounts());
      return absl::OkStatus();
    });
  }

  grpc::Status Commit(grpc::ServerContext* context, const api::CommitSnapshotRequest* request,
                      google::protobuf::Empty*) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(call.snapshotter->Commit(request->name(), request->key(), ToLabels(request->labels())));
      ::containerd::events::SnapshotCommit event;
      event.set_key(request->key());
      event.set_name(request->name());
      return deps_.events->Publish(call.ns, "/snapshot/commit", event);
    });
  }

  grpc::Status Remove(grpc::ServerContext* context, const api::RemoveSnapshotRequest* request,
                      google::protobuf::Empty*) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(call.snapshotter->Remove(request->key()));
      ::containerd::events::SnapshotRemove event;
      event.set_key(request->key());
      return deps_.events->Publish(call.ns, "/snapshot/remove", event);
    });
  }

  grpc::Status Stat(grpc::ServerContext* context, const api::StatSnapshotRequest* request,
                    api::StatSnapshotResponse* response) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(SnapshotInfo info, call.snapshotter->Stat(request->key()));
      ToProtoInfo(info, response->mutable_info());
      return absl::OkStatus();
    });
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateSnapshotRequest* request,
                      api::UpdateSnapshotResponse* response) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      FieldPaths paths(request->update_mask().paths().begin(), request->update_mask().paths().end());
      LIMAN_ASSIGN_OR_RETURN(SnapshotInfo info, call.snapshotter->Update(FromProtoInfo(request->info()), paths));
      ToProtoInfo(info, response->mutable_info());
      return absl::OkStatus();
    });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListSnapshotsRequest* request,
                    grpc::ServerWriter<api::ListSnapshotsResponse>* writer) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      std::vector<std::string> filters(request->filters().begin(), request->filters().end());
      api::ListSnapshotsResponse batch;
      auto flush = [&]() -> absl::Status {
        if (batch.info_size() == 0) return absl::OkStatus();
        if (!writer->Write(batch)) return absl::CancelledError("list snapshots: the client went away");
        batch.Clear();
        return absl::OkStatus();
      };
      LIMAN_RETURN_IF_ERROR(call.snapshotter->Walk(filters, [&](const SnapshotInfo& info) -> absl::Status {
        if (context->IsCancelled()) return absl::CancelledError("list snapshots: cancelled");
        ToProtoInfo(info, batch.add_info());
        if (static_cast<size_t>(batch.info_size()) >= kListBatchSize) return flush();
        return absl::OkStatus();
      }));
      return flush();
    });
  }

  grpc::Status Usage(grpc::ServerContext* context, const api::UsageRequest* request,
                     api::UsageResponse* response) override {
    return Run(*context, request->snapshotter(), [&](Call& call) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(SnapshotUsage usage, call.snapshotter->Usage(request->key()));
      response->set_size(usage.size);
      response->set_inodes(usage.inodes);
      return absl::OkStatus();
    });
  }

  grpc::Status Cleanup(grpc::ServerContext* context, const api::CleanupRequest* request,
                       google::protobuf::Empty*) override {
    return Run(*context, request->snapshotter(), [&](Call& call) { return call.snapshotter->Cleanup(); });
  }

 private:
  struct Call {
    std::string ns;
    std::unique_ptr<Snapshotter> snapshotter;
  };

  // The namespace's view of the named snapshotter (containerd's getSnapshotter: the name is
  // required and must be loaded), then `body`; the result as a gRPC status.
  template <typename Body>
  grpc::Status Run(const grpc::ServerContext& context, const std::string& snapshotter, Body&& body) {
    absl::StatusOr<Call> call = Open(context, snapshotter);
    if (!call.ok()) return server::ToGrpcStatus(call.status());
    return server::ToGrpcStatus(body(*call));
  }

  absl::StatusOr<Call> Open(const grpc::ServerContext& context, const std::string& snapshotter) {
    if (snapshotter.empty()) return absl::InvalidArgumentError("snapshotter argument missing");
    Call call;
    LIMAN_ASSIGN_OR_RETURN(call.ns, server::RequireNamespace(context));
    std::string lease = server::LeaseFromContext(context).value_or("");
    // kInvalidArgument "snapshotter not loaded: <name>" for an unknown one, as containerd says.
    LIMAN_ASSIGN_OR_RETURN(call.snapshotter, deps_.db->SnapshotterView(snapshotter, call.ns, lease));
    return call;
  }

  const ServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeSnapshotsService(const ServiceDeps& deps) {
  return std::make_unique<SnapshotsService>(deps);
}

}  // namespace liman::containerd::services
