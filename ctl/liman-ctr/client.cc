#include "ctl/liman-ctr/client.h"


#include <ctime>

#include "common/random_bytes.h"
#include "common/status.h"
#include "containerd/server/grpc_status.h"
#include "fmt/format.h"

namespace liman::ctr {

namespace v1 = ::containerd::services;

absl::Status CallError(const grpc::Status& status, std::string_view what) {
  absl::Status error = containerd::server::FromGrpcStatus(status);
  // The daemon's message may already name the call ("create task \"x\": …"): not twice.
  if (std::string_view(error.message().data(), error.message().size()).starts_with(what)) return error;
  return Annotate(error, what);
}

bool UnpackAny(const google::protobuf::Any& any, google::protobuf::Message* message) {
  std::string_view type = any.type_url();
  if (size_t slash = type.rfind('/'); slash != std::string_view::npos) type.remove_prefix(slash + 1);
  return type == message->GetDescriptor()->full_name() && message->ParseFromString(any.value());
}

Client::Client(const GlobalOptions& options) : options_(options) {
  grpc::ChannelArguments args;
  // Big enough for any blob chunk, spec or list the daemon answers with.
  args.SetMaxReceiveMessageSize(64 << 20);
  // A daemon that restarts (live restore) is reconnected to within a second, not after gRPC's
  // default backoff of up to two minutes.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  channel_ = grpc::CreateCustomChannel("unix:" + options_.address, grpc::InsecureChannelCredentials(), args);
  version_ = v1::version::v1::Version::NewStub(channel_);
  introspection_ = v1::introspection::v1::Introspection::NewStub(channel_);
  namespaces_ = v1::namespaces::v1::Namespaces::NewStub(channel_);
  images_ = v1::images::v1::Images::NewStub(channel_);
  content_ = v1::content::v1::Content::NewStub(channel_);
  snapshots_ = v1::snapshots::v1::Snapshots::NewStub(channel_);
  diff_ = v1::diff::v1::Diff::NewStub(channel_);
  containers_ = v1::containers::v1::Containers::NewStub(channel_);
  tasks_ = v1::tasks::v1::Tasks::NewStub(channel_);
  events_ = v1::events::v1::Events::NewStub(channel_);
  leases_ = v1::leases::v1::Leases::NewStub(channel_);
  transfer_ = ::liman::services::transfer::v1::Transfer::NewStub(channel_);
}

std::unique_ptr<grpc::ClientContext> Client::Context(std::optional<std::string> lease, bool no_deadline) const {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("containerd-namespace", options_.namespace_name);
  if (lease) context->AddMetadata("containerd-lease", *lease);
  if (options_.timeout.count() > 0 && !no_deadline)
    context->set_deadline(std::chrono::system_clock::now() + options_.timeout);
  return context;
}

absl::StatusOr<std::string> Client::ReadBlob(const std::string& digest) {
  v1::content::v1::ReadContentRequest request;
  request.set_digest(digest);
  auto context = Context();
  auto reader = content_->Read(context.get(), request);
  std::string blob;
  v1::content::v1::ReadContentResponse response;
  while (reader->Read(&response)) {
    if (response.offset() != static_cast<int64_t>(blob.size()))
      return absl::DataLossError(fmt::format("read {}: chunk at offset {}, expected {}", digest,
                                             response.offset(), blob.size()));
    blob.append(response.data());
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallError(status, fmt::format("read {}", digest));
  return blob;
}

absl::Status Client::WriteBlob(std::string_view data, const std::string& digest,
                               const std::map<std::string, std::string>& labels,
                               const std::optional<std::string>& lease) {
  // One COMMIT message carries it all: the data at offset 0, its size, digest and labels.
  v1::content::v1::WriteContentRequest request;
  request.set_action(v1::content::v1::COMMIT);
  request.set_ref("liman-write-" + digest);
  request.set_total(static_cast<int64_t>(data.size()));
  request.set_expected(digest);
  request.set_data(std::string(data));
  request.mutable_labels()->insert(labels.begin(), labels.end());
  auto context = Context(lease);
  auto stream = content_->Write(context.get());
  v1::content::v1::WriteContentResponse response;
  if (stream->Write(request)) stream->Read(&response);
  stream->WritesDone();
  grpc::Status status = stream->Finish();
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) return absl::OkStatus();
  if (!status.ok()) return CallError(status, fmt::format("write blob {}", digest));
  return absl::OkStatus();
}

absl::StatusOr<std::string> Client::CreateLease() {
  std::string id = "liman-ctr-" + RandomHex(8);
  std::time_t expire = std::time(nullptr) + 24 * 3600;
  std::tm utc;
  gmtime_r(&expire, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  v1::leases::v1::CreateRequest request;
  request.set_id(id);
  (*request.mutable_labels())["containerd.io/gc.expire"] = stamp;
  v1::leases::v1::CreateResponse response;
  auto context = Context();
  grpc::Status status = leases_->Create(context.get(), request, &response);
  if (!status.ok()) return CallError(status, "create lease");
  return id;
}

void Client::ReleaseLease(const std::string& id) {
  v1::leases::v1::DeleteRequest request;
  request.set_id(id);
  google::protobuf::Empty empty;
  auto context = Context();
  leases_->Delete(context.get(), request, &empty);  // expiry collects it otherwise
}

absl::Status Client::PutImage(const v1::images::v1::Image& image) {
  v1::images::v1::CreateImageRequest create;
  *create.mutable_image() = image;
  v1::images::v1::CreateImageResponse created;
  auto context = Context();
  grpc::Status status = images_->Create(context.get(), create, &created);
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    v1::images::v1::UpdateImageRequest update;
    *update.mutable_image() = image;
    v1::images::v1::UpdateImageResponse updated;
    auto update_context = Context();
    status = images_->Update(update_context.get(), update, &updated);
  }
  if (!status.ok()) return CallError(status, fmt::format("image {}", image.name()));
  return absl::OkStatus();
}

absl::Status Client::AddLeaseResource(const std::string& lease, const std::string& type, const std::string& id) {
  v1::leases::v1::AddResourceRequest request;
  request.set_id(lease);
  request.mutable_resource()->set_id(id);
  request.mutable_resource()->set_type(type);
  google::protobuf::Empty empty;
  auto context = Context();
  grpc::Status status = leases_->AddResource(context.get(), request, &empty);
  if (!status.ok()) return CallError(status, fmt::format("add {} {} to lease {}", type, id, lease));
  return absl::OkStatus();
}

Descriptor FromProto(const ::containerd::types::Descriptor& desc) {
  Descriptor out;
  out.media_type = desc.media_type();
  out.digest = desc.digest();
  out.size = desc.size();
  return out;
}

}  // namespace liman::ctr
