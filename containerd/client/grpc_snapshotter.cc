#include "containerd/client/grpc_snapshotter.h"

#include "common/status.h"
#include "containerd/client/proto_convert.h"
#include "fmt/format.h"

namespace liman::containerd::client {

namespace snapshots_api = ::containerd::services::snapshots::v1;

namespace {

SnapshotKind FromProto(snapshots_api::Kind kind) {
  switch (kind) {
    case snapshots_api::VIEW:
      return SnapshotKind::kView;
    case snapshots_api::ACTIVE:
      return SnapshotKind::kActive;
    case snapshots_api::COMMITTED:
      return SnapshotKind::kCommitted;
    default:
      return SnapshotKind::kUnknown;
  }
}

SnapshotInfo FromProto(const snapshots_api::Info& info) {
  return SnapshotInfo{
      .kind = FromProto(info.kind()),
      .name = info.name(),
      .parent = info.parent(),
      .labels = FromProtoLabels(info.labels()),
      .created_at = FromProtoTime(info.created_at()),
      .updated_at = FromProtoTime(info.updated_at()),
  };
}

}  // namespace

GrpcSnapshotter::GrpcSnapshotter(const std::shared_ptr<grpc::Channel>& channel, std::string snapshotter,
                                 CallScope scope)
    : stub_(snapshots_api::Snapshots::NewStub(channel)), snapshotter_(std::move(snapshotter)), scope_(std::move(scope)) {}

absl::StatusOr<SnapshotInfo> GrpcSnapshotter::Stat(std::string_view key) {
  snapshots_api::StatSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(std::string(key));
  snapshots_api::StatSnapshotResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(CallStatus(stub_->Stat(context.get(), request, &response), fmt::format("stat snapshot {}", Quote(key))));
  return FromProto(response.info());
}

absl::StatusOr<SnapshotInfo> GrpcSnapshotter::Update(const SnapshotInfo& info, const FieldPaths& paths) {
  snapshots_api::UpdateSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  // Only the name and labels mean anything to an update; the rest is sent as given, the server
  // ignores it (or refuses the paths that name it).
  snapshots_api::Info* out = request.mutable_info();
  out->set_name(info.name);
  out->set_parent(info.parent);
  out->set_kind(static_cast<snapshots_api::Kind>(info.kind));
  ToProtoLabels(info.labels, out->mutable_labels());
  ToFieldMask(paths, request.mutable_update_mask());
  snapshots_api::UpdateSnapshotResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(
      CallStatus(stub_->Update(context.get(), request, &response), fmt::format("update snapshot {}", Quote(info.name))));
  return FromProto(response.info());
}

absl::StatusOr<SnapshotUsage> GrpcSnapshotter::Usage(std::string_view key) {
  snapshots_api::UsageRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(std::string(key));
  snapshots_api::UsageResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(
      CallStatus(stub_->Usage(context.get(), request, &response), fmt::format("usage of snapshot {}", Quote(key))));
  return SnapshotUsage{.size = response.size(), .inodes = response.inodes()};
}

absl::StatusOr<std::vector<MountDescriptor>> GrpcSnapshotter::Mounts(std::string_view key) {
  snapshots_api::MountsRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(std::string(key));
  snapshots_api::MountsResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(
      CallStatus(stub_->Mounts(context.get(), request, &response), fmt::format("mounts of snapshot {}", Quote(key))));
  return MountsFromProto(response.mounts());
}

absl::StatusOr<std::vector<MountDescriptor>> GrpcSnapshotter::Prepare(std::string_view key, std::string_view parent,
                                                                      const Labels& labels) {
  snapshots_api::PrepareSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(std::string(key));
  request.set_parent(std::string(parent));
  ToProtoLabels(labels, request.mutable_labels());
  snapshots_api::PrepareSnapshotResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(CallStatus(stub_->Prepare(context.get(), request, &response),
                                   fmt::format("prepare snapshot {} on {}", Quote(key), Quote(parent))));
  return MountsFromProto(response.mounts());
}

absl::StatusOr<std::vector<MountDescriptor>> GrpcSnapshotter::View(std::string_view key, std::string_view parent,
                                                                   const Labels& labels) {
  snapshots_api::ViewSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(std::string(key));
  request.set_parent(std::string(parent));
  ToProtoLabels(labels, request.mutable_labels());
  snapshots_api::ViewSnapshotResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(CallStatus(stub_->View(context.get(), request, &response),
                                   fmt::format("view snapshot {} of {}", Quote(key), Quote(parent))));
  return MountsFromProto(response.mounts());
}

absl::Status GrpcSnapshotter::Commit(std::string_view name, std::string_view key, const Labels& labels) {
  snapshots_api::CommitSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_name(std::string(name));
  request.set_key(std::string(key));
  ToProtoLabels(labels, request.mutable_labels());
  google::protobuf::Empty response;
  auto context = NewCallContext(scope_);
  return CallStatus(stub_->Commit(context.get(), request, &response),
                    fmt::format("commit snapshot {} as {}", Quote(key), Quote(name)));
}

absl::Status GrpcSnapshotter::Remove(std::string_view key) {
  snapshots_api::RemoveSnapshotRequest request;
  request.set_snapshotter(snapshotter_);
  request.set_key(std::string(key));
  google::protobuf::Empty response;
  auto context = NewCallContext(scope_);
  return CallStatus(stub_->Remove(context.get(), request, &response), fmt::format("remove snapshot {}", Quote(key)));
}

absl::Status GrpcSnapshotter::Walk(const std::vector<std::string>& filters,
                                   const std::function<absl::Status(const SnapshotInfo&)>& fn) {
  snapshots_api::ListSnapshotsRequest request;
  request.set_snapshotter(snapshotter_);
  for (const std::string& filter : filters) request.add_filters(filter);
  // The whole listing first: `fn` may call back into the snapshotter (Stat in a walk), and the
  // server should not hold its side of the walk open meanwhile.
  std::vector<SnapshotInfo> infos;
  {
    auto context = NewCallContext(scope_);
    auto stream = stub_->List(context.get(), request);
    snapshots_api::ListSnapshotsResponse response;
    while (stream->Read(&response)) {
      for (const snapshots_api::Info& info : response.info()) infos.push_back(FromProto(info));
    }
    LIMAN_RETURN_IF_ERROR(CallStatus(stream->Finish(), "list snapshots"));
  }
  for (const SnapshotInfo& info : infos) LIMAN_RETURN_IF_ERROR(fn(info));
  return absl::OkStatus();
}

absl::Status GrpcSnapshotter::Cleanup() {
  snapshots_api::CleanupRequest request;
  request.set_snapshotter(snapshotter_);
  google::protobuf::Empty response;
  auto context = NewCallContext(scope_);
  return CallStatus(stub_->Cleanup(context.get(), request, &response), fmt::format("cleanup snapshotter {}", snapshotter_));
}

}  // namespace liman::containerd::client
