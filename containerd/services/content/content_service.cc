#include "containerd/services/content/content_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "containerd/events/content.pb.h"
#include "containerd/metadata/validate.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "shim/proto_time.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::content::v1;

// containerd sends List answers in blocks of this many infos, and Read data in chunks of its
// copy buffer (1 MiB).
constexpr size_t kListBatchSize = 100;
constexpr int64_t kReadChunkSize = 1 << 20;

void ToProtoInfo(const ContentInfo& info, api::Info* out) {
  out->set_digest(info.digest);
  out->set_size(info.size);
  *out->mutable_created_at() = shim::ToProtoTimestamp(info.created_at);
  *out->mutable_updated_at() = shim::ToProtoTimestamp(info.updated_at);
  out->mutable_labels()->insert(info.labels.begin(), info.labels.end());
}

ContentInfo FromProtoInfo(const api::Info& info) {
  ContentInfo out;
  out.digest = info.digest();
  out.size = info.size();
  out.labels.insert(info.labels().begin(), info.labels().end());
  return out;
}

void ToProtoStatus(const IngestStatus& status, api::Status* out) {
  *out->mutable_started_at() = shim::ToProtoTimestamp(status.started_at);
  *out->mutable_updated_at() = shim::ToProtoTimestamp(status.updated_at);
  out->set_ref(status.ref);
  out->set_offset(status.offset);
  out->set_total(status.total);
  out->set_expected(status.expected);
}

std::vector<std::string> ToFilters(const google::protobuf::RepeatedPtrField<std::string>& filters) {
  return std::vector<std::string>(filters.begin(), filters.end());
}

using WriteStream = grpc::ServerReaderWriter<api::WriteContentResponse, api::WriteContentRequest>;

class ContentService final : public api::Content::Service {
 public:
  explicit ContentService(const ServiceDeps& deps) : deps_(deps) {}

  grpc::Status Info(grpc::ServerContext* context, const api::InfoRequest* request,
                    api::InfoResponse* response) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(metadata::ValidateDigest(request->digest()));
      LIMAN_ASSIGN_OR_RETURN(ContentInfo info, call.store->Info(request->digest()));
      ToProtoInfo(info, response->mutable_info());
      return absl::OkStatus();
    });
  }

  grpc::Status Update(grpc::ServerContext* context, const api::UpdateRequest* request,
                      api::UpdateResponse* response) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(metadata::ValidateDigest(request->info().digest()));
      FieldPaths paths(request->update_mask().paths().begin(), request->update_mask().paths().end());
      LIMAN_ASSIGN_OR_RETURN(ContentInfo info, call.store->Update(FromProtoInfo(request->info()), paths));
      ToProtoInfo(info, response->mutable_info());
      return absl::OkStatus();
    });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListContentRequest* request,
                    grpc::ServerWriter<api::ListContentResponse>* writer) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      api::ListContentResponse batch;
      auto flush = [&]() -> absl::Status {
        if (batch.info_size() == 0) return absl::OkStatus();
        if (!writer->Write(batch)) return absl::CancelledError("list content: the client went away");
        batch.Clear();
        return absl::OkStatus();
      };
      LIMAN_RETURN_IF_ERROR(call.store->Walk(ToFilters(request->filters()), [&](const ContentInfo& info) {
        if (context->IsCancelled()) return absl::CancelledError("list content: cancelled");
        ToProtoInfo(info, batch.add_info());
        if (static_cast<size_t>(batch.info_size()) >= kListBatchSize) return flush();
        return absl::OkStatus();
      }));
      return flush();
    });
  }

  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteContentRequest* request,
                      google::protobuf::Empty*) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(metadata::ValidateDigest(request->digest()));
      LIMAN_RETURN_IF_ERROR(call.store->Delete(request->digest()));
      ::containerd::events::ContentDelete event;
      event.set_digest(request->digest());
      // containerd's content store answers with the publisher's error, the blob being gone.
      return deps_.events->Publish(call.ns, "/content/delete", event);
    });
  }

  grpc::Status Read(grpc::ServerContext* context, const api::ReadContentRequest* request,
                    grpc::ServerWriter<api::ReadContentResponse>* writer) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(metadata::ValidateDigest(request->digest()));
      LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentReader> reader, call.store->ReaderAt(request->digest()));
      const int64_t blob_size = reader->Size();
      // As containerd: a negative offset reads from the start, one past the end is out of
      // range, and `size` (what to read, not the blob's size) is cut at the end of the blob.
      int64_t offset = std::max<int64_t>(request->offset(), 0);
      if (offset > blob_size)
        return absl::OutOfRangeError(fmt::format("read past object length {} bytes", blob_size));
      int64_t remaining = blob_size - offset;
      if (request->size() > 0 && request->size() < remaining) remaining = request->size();

      api::ReadContentResponse chunk;
      while (remaining > 0) {
        if (context->IsCancelled()) return absl::CancelledError("read content: cancelled");
        LIMAN_ASSIGN_OR_RETURN(std::string data, reader->ReadAt(offset, std::min(remaining, kReadChunkSize)));
        if (data.empty())
          return absl::DataLossError(
              fmt::format("read content {}: unexpected end at offset {}", request->digest(), offset));
        const int64_t length = static_cast<int64_t>(data.size());
        chunk.set_offset(offset);
        chunk.set_data(std::move(data));
        if (!writer->Write(chunk)) return absl::CancelledError("read content: the client went away");
        offset += length;
        remaining -= length;
      }
      return absl::OkStatus();
    });
  }

  grpc::Status Status(grpc::ServerContext* context, const api::StatusRequest* request,
                      api::StatusResponse* response) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      absl::StatusOr<IngestStatus> status = call.store->Status(request->ref());
      if (!status.ok())
        return Annotate(status.status(), fmt::format("could not get status for ref {}", Quote(request->ref())));
      ToProtoStatus(*status, response->mutable_status());
      return absl::OkStatus();
    });
  }

  grpc::Status ListStatuses(grpc::ServerContext* context, const api::ListStatusesRequest* request,
                            api::ListStatusesResponse* response) override {
    return Run(*context, [&](Call& call) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<IngestStatus> statuses,
                             call.store->ListStatuses(ToFilters(request->filters())));
      for (const IngestStatus& status : statuses) ToProtoStatus(status, response->add_statuses());
      return absl::OkStatus();
    });
  }

  grpc::Status Abort(grpc::ServerContext* context, const api::AbortRequest* request,
                     google::protobuf::Empty*) override {
    return Run(*context, [&](Call& call) { return call.store->Abort(request->ref()); });
  }

  grpc::Status Write(grpc::ServerContext* context, WriteStream* stream) override {
    return Run(*context, [&](Call& call) { return WriteSession(call, *stream); });
  }

 private:
  struct Call {
    std::string ns;
    std::unique_ptr<ContentStore> store;
  };

  // The namespace's (and lease's) view of the content store, then `body`; the result as a
  // gRPC status.
  template <typename Body>
  grpc::Status Run(const grpc::ServerContext& context, Body&& body) {
    absl::StatusOr<Call> call = Open(context);
    if (!call.ok()) return server::ToGrpcStatus(call.status());
    return server::ToGrpcStatus(body(*call));
  }

  absl::StatusOr<Call> Open(const grpc::ServerContext& context) {
    Call call;
    LIMAN_ASSIGN_OR_RETURN(call.ns, server::RequireNamespace(context));
    std::string lease = server::LeaseFromContext(context).value_or("");
    LIMAN_ASSIGN_OR_RETURN(call.store, deps_.db->ContentView(call.ns, lease));
    return call;
  }

  // containerd's Write protocol (contentserver.Write). The first request names the ingest (its
  // ref) and may predeclare total and expected; the ingest is opened (or resumed) and held for
  // the stream. Every request is answered with the ingest's offset:
  //   STAT   also the digest so far, times and total: how a client resumes a dropped upload;
  //   WRITE  appends `data`, at `offset` if one is given (it must be the current offset; 0
  //          restarts the ingest);
  //   COMMIT does the same, then verifies total and expected and commits, ending the stream.
  // An expected digest the namespace already has aborts the ingest with AlreadyExists. A failed
  // commit (wrong size or digest) ends the stream with its error and leaves the ingest to be
  // resumed or aborted; so does a dropped stream.
  absl::Status WriteSession(Call& call, WriteStream& stream) {
    api::WriteContentRequest request;
    if (!stream.Read(&request)) return absl::InvalidArgumentError("first message must have a reference");
    const std::string ref = request.ref();
    if (ref.empty()) return absl::InvalidArgumentError("first message must have a reference");
    int64_t total = request.total();
    std::string expected = request.expected();

    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, call.store->Writer(ref, total, expected));
    while (true) {
      api::WriteContentResponse response;
      response.set_action(request.action());
      IngestStatus status = writer->Status();
      response.set_offset(status.offset);

      if (!request.expected().empty()) {
        LIMAN_RETURN_IF_ERROR(metadata::ValidateDigest(request.expected()));
        expected = request.expected();
        if (call.store->Info(expected).ok()) {
          // The writer lets go of the ingest before it is aborted, as containerd closes it.
          writer.reset();
          if (absl::Status aborted = call.store->Abort(ref); !aborted.ok() && !absl::IsNotFound(aborted))
            LogWarn("abort ingest {} of existing content {}: {}", Quote(ref), expected, aborted);
          return absl::AlreadyExistsError(fmt::format("blob with expected digest {} exists", expected));
        }
      }
      if (request.total() > 0) total = request.total();

      switch (request.action()) {
        case api::STAT:
          response.set_digest(writer->Digest());
          *response.mutable_started_at() = shim::ToProtoTimestamp(status.started_at);
          *response.mutable_updated_at() = shim::ToProtoTimestamp(status.updated_at);
          response.set_total(total);
          break;
        case api::WRITE:
        case api::COMMIT:
          if (request.offset() > 0 && request.offset() != status.offset) {
            return absl::OutOfRangeError(
                fmt::format("write @{} must occur at current offset {}", request.offset(), status.offset));
          }
          if (request.offset() < 0)
            return absl::InvalidArgumentError(fmt::format("write @{}: negative offset", request.offset()));
          if (request.offset() == 0 && status.offset > 0) {
            LIMAN_RETURN_IF_ERROR(Annotate(writer->Truncate(0), "truncate failed"));
            response.set_offset(0);
          }
          if (!request.data().empty()) {
            LIMAN_RETURN_IF_ERROR(writer->Write(request.data()));
            response.set_offset(response.offset() + static_cast<int64_t>(request.data().size()));
          }
          if (request.action() == api::COMMIT) {
            Labels labels(request.labels().begin(), request.labels().end());
            LIMAN_RETURN_IF_ERROR(writer->Commit(total, expected, labels));
          }
          response.set_digest(writer->Digest());
          break;
        default:
          return absl::InvalidArgumentError(fmt::format("unknown write action {}", static_cast<int>(request.action())));
      }

      if (!stream.Write(response)) return absl::CancelledError(fmt::format("write {}: the client went away", Quote(ref)));
      if (request.action() == api::COMMIT) return absl::OkStatus();
      // The client closing its side ends the session; the ingest stays for a later stream.
      if (!stream.Read(&request)) return absl::OkStatus();
    }
  }

  const ServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeContentService(const ServiceDeps& deps) {
  return std::make_unique<ContentService>(deps);
}

}  // namespace liman::containerd::services
