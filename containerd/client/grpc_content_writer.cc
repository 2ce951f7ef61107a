#include "containerd/client/grpc_content_writer.h"

#include <algorithm>

#include "common/status.h"
#include "containerd/client/proto_convert.h"
#include "containerd/server/grpc_status.h"
#include "fmt/format.h"

namespace liman::containerd::client {

namespace api = ::containerd::services::content::v1;

namespace {

// Data per WRITE request: well under gRPC's default 4 MiB limit on a received message.
constexpr size_t kChunkSize = 1 << 20;

}  // namespace

GrpcContentWriter::GrpcContentWriter(std::shared_ptr<Stub> stub, std::unique_ptr<grpc::ClientContext> context)
    : stub_(std::move(stub)), context_(std::move(context)) {}

absl::StatusOr<std::unique_ptr<GrpcContentWriter>> GrpcContentWriter::Open(std::shared_ptr<Stub> stub,
                                                                           const CallScope& scope,
                                                                           std::string_view ref, int64_t total,
                                                                           std::string_view expected) {
  // The stream lives as long as the writer: no deadline.
  std::unique_ptr<GrpcContentWriter> writer(
      new GrpcContentWriter(std::move(stub), NewCallContext(scope, /*with_deadline=*/false)));
  writer->stream_ = writer->stub_->Write(writer->context_.get());
  writer->status_.ref = std::string(ref);
  writer->status_.total = total;
  writer->status_.expected = std::string(expected);

  api::WriteContentRequest stat;
  stat.set_action(api::STAT);
  stat.set_ref(std::string(ref));
  stat.set_total(total);
  stat.set_expected(std::string(expected));
  if (absl::Status status = writer->RoundTrip(stat); !status.ok())
    return Annotate(status, fmt::format("open content writer {}", Quote(ref)));
  return writer;
}

GrpcContentWriter::~GrpcContentWriter() {
  // Dropping a writer keeps the ingest: the session just ends.
  if (stream_ != nullptr) (void)Finish();
}

absl::Status GrpcContentWriter::CheckOpen() const {
  if (stream_ != nullptr) return absl::OkStatus();
  return absl::FailedPreconditionError(fmt::format("content writer {} is closed{}", Quote(status_.ref),
                                                   ended_.ok() ? "" : fmt::format(": {}", ended_.ToString())));
}

absl::Status GrpcContentWriter::RoundTrip(const api::WriteContentRequest& request) {
  api::WriteContentResponse response;
  // A failed Write or Read means the server ended the call; Finish says why.
  if (!stream_->Write(request) || !stream_->Read(&response)) {
    absl::Status status = Finish();
    return status.ok() ? absl::UnavailableError("content write stream ended without an answer") : status;
  }
  status_.offset = response.offset();
  if (request.action() == api::STAT) {
    status_.total = response.total();
    status_.started_at = FromProtoTime(response.started_at());
    status_.updated_at = FromProtoTime(response.updated_at());
  }
  digest_ = response.digest();
  return absl::OkStatus();
}

absl::Status GrpcContentWriter::Finish() {
  stream_->WritesDone();
  // Whatever the server still sends (containerd repeats its last answer when the stream ends).
  api::WriteContentResponse ignored;
  while (stream_->Read(&ignored)) {
  }
  ended_ = server::FromGrpcStatus(stream_->Finish());
  stream_.reset();
  return ended_;
}

absl::Status GrpcContentWriter::Write(std::string_view data) {
  LIMAN_RETURN_IF_ERROR(CheckOpen());
  while (!data.empty()) {
    const size_t n = std::min(data.size(), kChunkSize);
    api::WriteContentRequest request;
    request.set_action(api::WRITE);
    // Always the current offset: containerd takes a WRITE at offset 0 of a non-empty ingest as
    // "start over" and truncates it.
    request.set_offset(status_.offset);
    request.set_data(data.data(), n);
    const int64_t expected_offset = status_.offset + static_cast<int64_t>(n);
    if (absl::Status status = RoundTrip(request); !status.ok())
      return Annotate(status, fmt::format("write content {}", Quote(status_.ref)));
    if (status_.offset != expected_offset)
      return absl::DataLossError(fmt::format("write content {}: server at offset {}, expected {}", Quote(status_.ref),
                                             status_.offset, expected_offset));
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

absl::Status GrpcContentWriter::Truncate(int64_t offset) {
  LIMAN_RETURN_IF_ERROR(CheckOpen());
  if (offset != 0)
    return absl::InvalidArgumentError(
        fmt::format("truncate content {} to {}: only 0 is supported", Quote(status_.ref), offset));
  // An empty WRITE at offset 0 is the protocol's truncate.
  api::WriteContentRequest request;
  request.set_action(api::WRITE);
  request.set_offset(0);
  if (absl::Status status = RoundTrip(request); !status.ok())
    return Annotate(status, fmt::format("truncate content {}", Quote(status_.ref)));
  return absl::OkStatus();
}

absl::Status GrpcContentWriter::Commit(int64_t size, std::string_view expected_digest, const Labels& labels) {
  LIMAN_RETURN_IF_ERROR(CheckOpen());
  api::WriteContentRequest request;
  request.set_action(api::COMMIT);
  request.set_offset(status_.offset);
  request.set_total(size);
  request.set_expected(std::string(expected_digest));
  ToProtoLabels(labels, request.mutable_labels());
  absl::Status status = RoundTrip(request);
  // After a COMMIT the server ends the session either way; its final status is the commit's.
  if (status.ok()) status = Finish();
  if (!status.ok()) return Annotate(status, fmt::format("commit content {}", Quote(status_.ref)));
  return absl::OkStatus();
}

}  // namespace liman::containerd::client
