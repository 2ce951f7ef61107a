#include "containerd/client/grpc_content_store.h"

#include "common/status.h"
#include "containerd/client/grpc_content_writer.h"
#include "containerd/client/proto_convert.h"
#include "fmt/format.h"

namespace liman::containerd::client {

namespace api = ::containerd::services::content::v1;

namespace {

using Stub = api::Content::Stub;

ContentInfo FromProto(const api::Info& info) {
  return ContentInfo{
      .digest = info.digest(),
      .size = info.size(),
      .created_at = FromProtoTime(info.created_at()),
      .updated_at = FromProtoTime(info.updated_at()),
      .labels = FromProtoLabels(info.labels()),
  };
}

IngestStatus FromProto(const api::Status& status) {
  return IngestStatus{
      .ref = status.ref(),
      .offset = status.offset(),
      .total = status.total(),
      .expected = status.expected(),
      .started_at = FromProtoTime(status.started_at()),
      .updated_at = FromProtoTime(status.updated_at()),
  };
}

// A blob read with one Read stream per ReadAt (the service has no open/close of its own).
class GrpcContentReader final : public ContentReader {
 public:
  GrpcContentReader(std::shared_ptr<Stub> stub, CallScope scope, std::string digest, int64_t size)
      : stub_(std::move(stub)), scope_(std::move(scope)), digest_(std::move(digest)), size_(size) {}

  int64_t Size() const override { return size_; }

  absl::StatusOr<std::string> ReadAt(int64_t offset, int64_t length) override {
    const std::string what = fmt::format("read content {} at {}", digest_, offset);
    if (offset < 0 || length < 0) return absl::InvalidArgumentError(fmt::format("{}: negative offset or length", what));
    // Size 0 asks the service for the rest of the blob: an empty read never reaches it.
    if (length == 0) {
      if (offset > size_) return absl::OutOfRangeError(fmt::format("{}: past the end ({} bytes)", what, size_));
      return std::string();
    }
    api::ReadContentRequest request;
    request.set_digest(digest_);
    request.set_offset(offset);
    request.set_size(length);
    auto context = NewCallContext(scope_);
    std::unique_ptr<grpc::ClientReader<api::ReadContentResponse>> stream = stub_->Read(context.get(), request);
    std::string data;
    api::ReadContentResponse response;
    while (stream->Read(&response)) {
      if (static_cast<int64_t>(data.size() + response.data().size()) > length) {
        context->TryCancel();
        (void)stream->Finish();
        return absl::DataLossError(fmt::format("{}: the server sent more than the {} bytes asked for", what, length));
      }
      data += response.data();
    }
    LIMAN_RETURN_IF_ERROR(CallStatus(stream->Finish(), what));
    return data;
  }

 private:
  std::shared_ptr<Stub> stub_;
  CallScope scope_;
  std::string digest_;
  int64_t size_;
};

}  // namespace

GrpcContentStore::GrpcContentStore(const std::shared_ptr<grpc::Channel>& channel, CallScope scope)
    : stub_(api::Content::NewStub(channel)), scope_(std::move(scope)) {}

absl::StatusOr<ContentInfo> GrpcContentStore::Info(std::string_view digest) {
  api::InfoRequest request;
  request.set_digest(std::string(digest));
  api::InfoResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(CallStatus(stub_->Info(context.get(), request, &response), fmt::format("content info {}", digest)));
  return FromProto(response.info());
}

absl::StatusOr<ContentInfo> GrpcContentStore::Update(const ContentInfo& info, const FieldPaths& paths) {
  api::UpdateRequest request;
  request.mutable_info()->set_digest(info.digest);
  ToProtoLabels(info.labels, request.mutable_info()->mutable_labels());
  ToFieldMask(paths, request.mutable_update_mask());
  api::UpdateResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(
      CallStatus(stub_->Update(context.get(), request, &response), fmt::format("update content {}", info.digest)));
  return FromProto(response.info());
}

absl::Status GrpcContentStore::Walk(const std::vector<std::string>& filters,
                                    const std::function<absl::Status(const ContentInfo&)>& fn) {
  api::ListContentRequest request;
  for (const std::string& filter : filters) request.add_filters(filter);
  // The whole listing first: `fn` may call back into the store, and the server should not hold
  // its side of the walk open meanwhile.
  std::vector<ContentInfo> infos;
  {
    auto context = NewCallContext(scope_);
    auto stream = stub_->List(context.get(), request);
    api::ListContentResponse response;
    while (stream->Read(&response)) {
      for (const api::Info& info : response.info()) infos.push_back(FromProto(info));
    }
    LIMAN_RETURN_IF_ERROR(CallStatus(stream->Finish(), "list content"));
  }
  for (const ContentInfo& info : infos) LIMAN_RETURN_IF_ERROR(fn(info));
  return absl::OkStatus();
}

absl::Status GrpcContentStore::Delete(std::string_view digest) {
  api::DeleteContentRequest request;
  request.set_digest(std::string(digest));
  google::protobuf::Empty response;
  auto context = NewCallContext(scope_);
  return CallStatus(stub_->Delete(context.get(), request, &response), fmt::format("delete content {}", digest));
}

absl::StatusOr<std::unique_ptr<ContentReader>> GrpcContentStore::ReaderAt(std::string_view digest) {
  // The size, and NotFound now rather than at the first read.
  LIMAN_ASSIGN_OR_RETURN(ContentInfo info, Info(digest));
  return std::make_unique<GrpcContentReader>(stub_, scope_, std::string(digest), info.size);
}

absl::StatusOr<std::unique_ptr<ContentWriter>> GrpcContentStore::Writer(std::string_view ref, int64_t total,
                                                                        std::string_view expected) {
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<GrpcContentWriter> writer,
                         GrpcContentWriter::Open(stub_, scope_, ref, total, expected));
  return std::unique_ptr<ContentWriter>(std::move(writer));
}

absl::StatusOr<IngestStatus> GrpcContentStore::Status(std::string_view ref) {
  api::StatusRequest request;
  request.set_ref(std::string(ref));
  api::StatusResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(
      CallStatus(stub_->Status(context.get(), request, &response), fmt::format("content status {}", Quote(ref))));
  return FromProto(response.status());
}

absl::StatusOr<std::vector<IngestStatus>> GrpcContentStore::ListStatuses(const std::vector<std::string>& filters) {
  api::ListStatusesRequest request;
  for (const std::string& filter : filters) request.add_filters(filter);
  api::ListStatusesResponse response;
  auto context = NewCallContext(scope_);
  LIMAN_RETURN_IF_ERROR(CallStatus(stub_->ListStatuses(context.get(), request, &response), "list content statuses"));
  std::vector<IngestStatus> statuses;
  statuses.reserve(response.statuses_size());
  for (const api::Status& status : response.statuses()) statuses.push_back(FromProto(status));
  return statuses;
}

absl::Status GrpcContentStore::Abort(std::string_view ref) {
  api::AbortRequest request;
  request.set_ref(std::string(ref));
  google::protobuf::Empty response;
  auto context = NewCallContext(scope_);
  return CallStatus(stub_->Abort(context.get(), request, &response), fmt::format("abort content {}", Quote(ref)));
}

}  // namespace liman::containerd::client
