#include "containerd/services/transfer/transfer_service.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/status.h"
#include "containerd/remotes/byte_pipe.h"
#include "containerd/remotes/image_archive.h"
#include "containerd/remotes/platforms.h"
#include "containerd/remotes/pull.h"
#include "containerd/remotes/push.h"
#include "containerd/remotes/reference.h"
#include "containerd/remotes/unpacker.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/images/image_proto.h"
#include "containerd/services/transfer/cancellable_content.h"
#include "containerd/services/transfer/image_records.h"
#include "containerd/services/transfer/progress_coalescer.h"
#include "containerd/services/transfer/transfer_lease.h"
#include "liman/services/transfer/v1/transfer.grpc.pb.h"

namespace liman::containerd::services {
namespace {

namespace api = ::liman::services::transfer::v1;

// Progress messages go out at most this often (each with the latest state of every blob).
constexpr absl::Duration kProgressInterval = absl::Milliseconds(100);
// Export chunks: well under gRPC's default 4 MiB message limit.
constexpr size_t kExportChunkSize = 1 << 20;
constexpr int kDefaultConcurrentDownloads = 3;
// More parallel downloads than this only add threads and connections.
constexpr int kMaxConcurrentDownloads = 16;

// Where layers are mounted to be unpacked by a snapshotter without staging directories.
absl::StatusOr<std::string> TempMountDir(const ServiceDeps& deps) {
  std::string dir = JoinPath(deps.state.empty() ? "/tmp" : deps.state, "tmpmounts");
  LIMAN_RETURN_IF_ERROR(MkdirAll(dir, 0700));
  return dir;
}

// The namespace's content and snapshotter, as a transfer under `lease` writes into them.
struct TransferStores {
  std::unique_ptr<ContentStore> content;
  std::unique_ptr<Snapshotter> snapshotter;
  StagingSnapshotter* staging = nullptr;
};

absl::StatusOr<TransferStores> OpenStores(const ServiceDeps& deps, std::string_view ns, std::string_view snapshotter,
                                          std::string_view lease, bool with_snapshotter) {
  TransferStores stores;
  LIMAN_ASSIGN_OR_RETURN(stores.content, deps.db->ContentView(ns, lease));
  if (with_snapshotter) {
    LIMAN_ASSIGN_OR_RETURN(stores.snapshotter, deps.db->SnapshotterView(snapshotter, ns, lease));
    stores.staging = dynamic_cast<StagingSnapshotter*>(stores.snapshotter.get());
  }
  return stores;
}

void ToProtoResult(const metadata::Image& image, std::string_view config_digest, std::string_view chain_id,
                   api::ImageResult* out) {
  out->set_name(image.name);
  ToProtoDescriptor(image.target, out->mutable_target());
  out->set_config_digest(std::string(config_digest));
  out->set_chain_id(std::string(chain_id));
}

// The import archive as the client streams it: the first message's data, then each later
// message's. Read from ImportArchive's thread, one call at a time.
archive::PieceByteSource ImportStreamSource(grpc::ServerContext& context,
                                            grpc::ServerReaderInterface<api::ImportRequest>& reader,
                                            std::string first_chunk) {
  // The piece handed out lives in `chunk` until the next call.
  return archive::PieceByteSource([&context, &reader, chunk = std::move(first_chunk),
                                   first = true]() mutable -> absl::StatusOr<std::string_view> {
    if (std::exchange(first, false) && !chunk.empty()) return std::string_view(chunk);
    api::ImportRequest request;
    do {
      if (!reader.Read(&request)) {
        if (context.IsCancelled()) return absl::CancelledError("import: the client cancelled the transfer");
        return std::string_view();
      }
      if (request.has_options())
        return absl::InvalidArgumentError("import: options are only accepted in the first message");
    } while (request.data().empty());
    chunk = std::move(*request.mutable_data());
    return std::string_view(chunk);
  });
}

// ctr import --base-name (containerd's archive.AddRefPrefix): a bare tag becomes
// "<base>:<tag>"; a full reference is kept only if it names the base image.
std::function<std::string(const std::string&)> BaseNameTranslator(const std::string& base) {
  return [base](const std::string& ref) -> std::string {
    if (ref.find_first_of("/:@") == std::string::npos) return base + ":" + ref;
    if (ref.size() > base.size() && ref.compare(0, base.size(), base) == 0 &&
        (ref[base.size()] == ':' || ref[base.size()] == '@')) {
      return ref;
    }
    return "";
  };
}

// The registry client's credentials for a request's. It speaks Basic (and Basic to token
// servers): an identity token is sent as docker does for token logins, user "<token>" unless a
// user is given. None when nothing is given.
std::optional<remotes::Credentials> CredentialsOf(const api::RegistryAuth& auth) {
  if (!auth.identity_token().empty())
    return remotes::Credentials{.username = auth.username().empty() ? "<token>" : auth.username(),
                                .password = auth.identity_token()};
  if (auth.username().empty() && auth.password().empty()) return std::nullopt;
  return remotes::Credentials{.username = auth.username(), .password = auth.password()};
}

// A progress message (PullProgress, PushProgress) carrying `progress`.
template <typename Message>
Message ProgressMessage(std::vector<api::ContentProgress>& progress) {
  Message message;
  for (api::ContentProgress& entry : progress) *message.add_progress() = std::move(entry);
  return message;
}

// Runs `work` on a thread of its own while this one writes what `coalescer` gathers every
// kProgressInterval and notices a client that went away (the sync API has no callback for that):
// either sets `cancelled`, which the work watches. Returns the last message, with the progress
// not written yet, for the caller to complete with the result.
template <typename Message>
Message RunReportingProgress(grpc::ServerContext& context, grpc::ServerWriter<Message>& writer,
                             ProgressCoalescer& coalescer, std::atomic<bool>& cancelled,
                             const std::function<void()>& work) {
  std::thread worker([&] {
    work();
    coalescer.Finish();
  });
  std::vector<api::ContentProgress> leftover;
  for (;;) {
    ProgressCoalescer::Batch batch = coalescer.WaitPending(absl::Now() + kProgressInterval);
    if (batch.finished) {
      leftover = std::move(batch.progress);
      break;
    }
    if (!cancelled && context.IsCancelled()) cancelled = true;
    if (cancelled || batch.progress.empty()) continue;
    if (!writer.Write(ProgressMessage<Message>(batch.progress))) cancelled = true;
  }
  worker.join();
  return ProgressMessage<Message>(leftover);
}

class TransferService final : public api::Transfer::Service {
 public:
  explicit TransferService(const ServiceDeps& deps) : deps_(deps) {}

  grpc::Status Pull(grpc::ServerContext* context, const api::PullRequest* request,
                    grpc::ServerWriter<api::PullProgress>* writer) override {
    return server::ToGrpcStatus(DoPull(*context, *request, *writer));
  }

  grpc::Status Import(grpc::ServerContext* context, grpc::ServerReader<api::ImportRequest>* reader,
                      api::ImportResponse* response) override {
    return server::ToGrpcStatus(DoImport(*context, *reader, *response));
  }

  grpc::Status Export(grpc::ServerContext* context, const api::ExportRequest* request,
                      grpc::ServerWriter<api::ExportChunk>* writer) override {
    return server::ToGrpcStatus(DoExport(*context, *request, *writer));
  }

  grpc::Status Push(grpc::ServerContext* context, const api::PushRequest* request,
                    grpc::ServerWriter<api::PushProgress>* writer) override {
    return server::ToGrpcStatus(DoPush(*context, *request, *writer));
  }

  grpc::Status Login(grpc::ServerContext*, const api::LoginRequest* request, api::LoginResponse*) override {
    return server::ToGrpcStatus(DoLogin(*request));
  }

 private:
  // How to reach the registry of `ref`, for pulls and pushes.
  template <typename Options, typename Request>
  absl::Status SetRegistryOptions(const Request& request, const remotes::Reference& ref, Options& options) {
    if (!request.platform().empty()) {
      LIMAN_ASSIGN_OR_RETURN(options.platform, remotes::ParsePlatform(request.platform()));
    }
    options.registry = RegistryOptionsFor(ref, request.plain_http(), request.auth());
    return absl::OkStatus();
  }

  // How to reach `ref`'s registry: the daemon's insecure registries (and this one with
  // `plain_http`), the request's credentials, else the daemon's docker config's.
  remotes::RegistryOptions RegistryOptionsFor(const remotes::Reference& ref, bool plain_http,
                                              const api::RegistryAuth& auth) {
    remotes::RegistryOptions registry;
    registry.insecure_hosts = deps_.insecure_registries;
    if (plain_http) {
      registry.insecure_hosts.push_back(ref.domain);
      registry.insecure_hosts.push_back(ref.RegistryHost());
    }
    registry.credentials = CredentialsOf(auth);
    registry.docker_config = deps_.docker_config;
    return registry;
  }

  absl::StatusOr<remotes::PullOptions> PullOptionsFor(const api::PullRequest& request,
                                                      const remotes::Reference& ref) {
    remotes::PullOptions options;
    LIMAN_RETURN_IF_ERROR(SetRegistryOptions(request, ref, options));
    int concurrent = request.max_concurrent_downloads();
    options.max_concurrent_downloads =
        concurrent <= 0 ? kDefaultConcurrentDownloads : std::min(concurrent, kMaxConcurrentDownloads);
    LIMAN_ASSIGN_OR_RETURN(options.temp_dir, TempMountDir(deps_));
    options.sync_fs = deps_.sync_fs;
    return options;
  }

  absl::Status DoPull(grpc::ServerContext& context, const api::PullRequest& request,
                      grpc::ServerWriter<api::PullProgress>& writer) {
    LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(context));
    if (request.ref().empty()) return absl::InvalidArgumentError("pull: an image reference is required");
    LIMAN_ASSIGN_OR_RETURN(remotes::Reference ref, remotes::ParseReference(request.ref()));
    const std::string name = ref.String();
    auto annotate = [&](const absl::Status& status) { return Annotate(status, fmt::format("pull {}", name)); };

    absl::StatusOr<remotes::PullOptions> options = PullOptionsFor(request, ref);
    if (!options.ok()) return annotate(options.status());
    std::string snapshotter = request.snapshotter().empty() ? deps_.default_snapshotter : request.snapshotter();

    LIMAN_ASSIGN_OR_RETURN(TransferLease lease,
                           TransferLease::Acquire(*deps_.db, ns, server::LeaseFromContext(context)));
    absl::StatusOr<TransferStores> stores = OpenStores(deps_, ns, snapshotter, lease.id(), true);
    if (!stores.ok()) return annotate(stores.status());

    std::atomic<bool> cancelled{false};
    CancellableContentStore content(*stores->content, cancelled);
    ProgressCoalescer coalescer;
    options->progress = [&coalescer](const remotes::PullProgress& progress) { coalescer.Report(progress); };

    std::optional<absl::StatusOr<remotes::PullResult>> pulled;
    // What is left goes out with the result (or is moot after an error).
    api::PullProgress last = RunReportingProgress(context, writer, coalescer, cancelled, [&] {
      pulled = remotes::Pull(name, *options, content, *stores->snapshotter, stores->staging, snapshotter);
    });

    if (cancelled || context.IsCancelled()) return absl::CancelledError(fmt::format("pull {}: cancelled", name));
    if (!pulled->ok()) return pulled->status();
    const remotes::PullResult& result = **pulled;

    metadata::Image image;
    image.name = result.name;
    image.labels.insert(request.labels().begin(), request.labels().end());
    image.target = ToRecordDescriptor(result.target);
    absl::StatusOr<metadata::Image> recorded = RecordImage(deps_, ns, image, ExistingImage::kReplace);
    if (!recorded.ok()) return annotate(recorded.status());

    ToProtoResult(*recorded, result.config_digest, result.chain_id, last.mutable_result());
    writer.Write(last);  // the client may be gone by now; the image is recorded either way
    return absl::OkStatus();
  }

  absl::Status DoImport(grpc::ServerContext& context, grpc::ServerReaderInterface<api::ImportRequest>& reader,
                        api::ImportResponse& response) {
    LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(context));
    api::ImportRequest first;
    if (!reader.Read(&first)) {
      if (context.IsCancelled()) return absl::CancelledError("import: the client cancelled the transfer");
      return absl::InvalidArgumentError("import: the stream carried no archive");
    }
    const api::ImportOptions& options = first.options();
    std::string snapshotter = options.snapshotter().empty() ? deps_.default_snapshotter : options.snapshotter();

    LIMAN_ASSIGN_OR_RETURN(TransferLease lease,
                           TransferLease::Acquire(*deps_.db, ns, server::LeaseFromContext(context)));
    absl::StatusOr<TransferStores> stores = OpenStores(deps_, ns, snapshotter, lease.id(), !options.no_unpack());
    if (!stores.ok()) return Annotate(stores.status(), "import");

    remotes::ImportOptions import_options;
    if (!options.base_name().empty()) import_options.ref_name_translator = BaseNameTranslator(options.base_name());
    archive::PieceByteSource source = ImportStreamSource(context, reader, std::move(*first.mutable_data()));
    // ImportArchive's errors begin with "import" already.
    absl::StatusOr<remotes::ImportResult> imported = remotes::ImportArchive(source, *stores->content, import_options);
    if (!imported.ok()) return imported.status();
    // Whatever follows the archive's end is read and dropped, so that the client's writes succeed.
    LIMAN_RETURN_IF_ERROR(remotes::DrainSource(source));

    // Unpacked before any record is written: a failure leaves no image behind. Several names
    // may share a target; it is unpacked once.
    std::map<std::string, remotes::UnpackResult> unpacked;
    if (!options.no_unpack()) {
      LIMAN_ASSIGN_OR_RETURN(std::string temp_dir, TempMountDir(deps_));
      remotes::UnpackOptions unpack_options{.temp_dir = temp_dir, .sync_fs = deps_.sync_fs};
      remotes::Platform platform = remotes::DefaultPlatform();
      for (const remotes::NamedImage& named : imported->images) {
        if (unpacked.contains(named.target.digest)) continue;
        absl::StatusOr<remotes::UnpackResult> result =
            remotes::UnpackImage(named.target, platform, *stores->content, *stores->snapshotter, stores->staging,
                                 snapshotter, unpack_options);
        if (!result.ok()) return Annotate(result.status(), fmt::format("import: unpack {}", named.name));
        unpacked.emplace(named.target.digest, *std::move(result));
      }
    }

    for (const remotes::NamedImage& named : imported->images) {
      metadata::Image image;
      image.name = named.name;
      image.labels.insert(options.labels().begin(), options.labels().end());
      image.target = ToRecordDescriptor(named.target);
      LIMAN_ASSIGN_OR_RETURN(metadata::Image recorded, RecordImage(deps_, ns, image, ExistingImage::kUpdateTarget));
      auto it = unpacked.find(named.target.digest);
      ToProtoResult(recorded, it == unpacked.end() ? "" : it->second.config_digest,
                    it == unpacked.end() ? "" : it->second.chain_id, response.add_images());
    }
    return absl::OkStatus();
  }

  absl::Status DoExport(grpc::ServerContext& context, const api::ExportRequest& request,
                        grpc::ServerWriter<api::ExportChunk>& writer) {
    LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(context));
    if (request.names().empty()) return absl::InvalidArgumentError("export: no image names given");
    remotes::ExportOptions options;
    options.skip_docker_manifest = request.skip_docker_manifest();
    if (!request.platform().empty()) {
      absl::StatusOr<remotes::Platform> platform = remotes::ParsePlatform(request.platform());
      if (!platform.ok()) return Annotate(platform.status(), "export");
      options.platform = *platform;
    }
    std::vector<remotes::NamedImage> images;
    for (const std::string& name : request.names()) {
      absl::StatusOr<metadata::Image> image = deps_.db->Images().Get(ns, name);
      if (!image.ok()) return Annotate(image.status(), fmt::format("export {}", Quote(name)));
      images.push_back({.name = image->name, .target = FromRecordDescriptor(image->target)});
    }
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<ContentStore> content, deps_.db->ContentView(ns));

    std::string buffer;
    auto flush = [&](size_t at_least) -> absl::Status {
      while (buffer.size() >= at_least && !buffer.empty()) {
        size_t n = std::min(buffer.size(), kExportChunkSize);
        api::ExportChunk chunk;
        chunk.set_data(buffer.data(), n);
        if (context.IsCancelled() || !writer.Write(chunk)) {
          return absl::CancelledError("export: the client cancelled the transfer");
        }
        buffer.erase(0, n);
      }
      return absl::OkStatus();
    };
    LIMAN_RETURN_IF_ERROR(remotes::ExportArchive(images, *content, options, [&](std::string_view data) {
      buffer.append(data);
      return flush(kExportChunkSize);
    }));
    return flush(1);
  }

  absl::Status DoLogin(const api::LoginRequest& request) {
    if (request.host().empty()) return absl::InvalidArgumentError("login: a registry host is required");
    // The registry alone: a reference with an empty path (checked as a name with one).
    LIMAN_ASSIGN_OR_RETURN(remotes::Reference ref, remotes::ParseReference(request.host() + "/login"));
    ref.path.clear();
    ref.tag.clear();
    remotes::RegistryOptions options = RegistryOptionsFor(ref, request.plain_http(), request.auth());
    if (!options.credentials) return absl::InvalidArgumentError("login: a username and a password are required");
    LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<remotes::RegistryClient> client, remotes::RegistryClient::Create(ref, options));
    return client->CheckLogin();
  }

  absl::Status DoPush(grpc::ServerContext& context, const api::PushRequest& request,
                      grpc::ServerWriter<api::PushProgress>& writer) {
    LIMAN_ASSIGN_OR_RETURN(std::string ns, server::RequireNamespace(context));
    if (request.name().empty()) return absl::InvalidArgumentError("push: an image name is required");
    LIMAN_ASSIGN_OR_RETURN(remotes::Reference ref,
                           remotes::ParseReference(request.ref().empty() ? request.name() : request.ref()));
    const std::string name = ref.String();
    auto annotate = [&](const absl::Status& status) { return Annotate(status, fmt::format("push {}", name)); };
    absl::StatusOr<metadata::Image> image = deps_.db->Images().Get(ns, request.name());
    if (!image.ok()) return annotate(image.status());
    remotes::PushOptions options;
    if (absl::Status set = SetRegistryOptions(request, ref, options); !set.ok()) return annotate(set);
    absl::StatusOr<std::unique_ptr<ContentStore>> content = deps_.db->ContentView(ns);
    if (!content.ok()) return annotate(content.status());

    std::atomic<bool> cancelled{false};
    options.cancelled = &cancelled;
    ProgressCoalescer coalescer;
    options.progress = [&coalescer](const remotes::PullProgress& progress) { coalescer.Report(progress); };
    std::optional<absl::StatusOr<remotes::PushResult>> pushed;
    api::PushProgress last = RunReportingProgress(context, writer, coalescer, cancelled, [&] {
      pushed = remotes::Push(name, FromRecordDescriptor(image->target), options, **content);
    });
    if (cancelled || context.IsCancelled()) return absl::CancelledError(fmt::format("push {}: cancelled", name));
    if (!pushed->ok()) return pushed->status();
    ToProtoDescriptor(ToRecordDescriptor((*pushed)->manifest), last.mutable_pushed());
    writer.Write(last);
    return absl::OkStatus();
  }

  ServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeTransferService(const ServiceDeps& deps) {
  return std::make_unique<TransferService>(deps);
}

}  // namespace liman::containerd::services
