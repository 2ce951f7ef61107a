// The connection to liman-containerd (or containerd): one gRPC channel over the unix socket,
// stubs for every service, and the per-call context carrying the namespace (metadata
// "containerd-namespace", like every containerd client), a lease when asked, and the deadline
// of --timeout.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/events/v1/events.grpc.pb.h"
#include "containerd/services/images/v1/images.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"
#include "ctl/liman-ctr/image_resolve.h"
#include "liman/services/transfer/v1/transfer.grpc.pb.h"

namespace liman::ctr {

inline constexpr char kDefaultAddress[] = "/run/liman/containerd/containerd.sock";
inline constexpr char kDefaultNamespace[] = "default";
inline constexpr char kDefaultSnapshotter[] = "overlayfs";

struct GlobalOptions {
  std::string address = kDefaultAddress;      // --address / CONTAINERD_ADDRESS
  std::string namespace_name = kDefaultNamespace;  // -n / CONTAINERD_NAMESPACE
  std::chrono::seconds timeout{0};            // --timeout; 0: none
};

// `what: <server's message>` with the gRPC code kept (absl codes are gRPC's).
absl::Status CallError(const grpc::Status& status, std::string_view what);

class Client {
 public:
  explicit Client(const GlobalOptions& options);

  const std::string& Namespace() const { return options_.namespace_name; }
  const GlobalOptions& Options() const { return options_; }

  // A context for one call: namespace metadata (none if `with_namespace` is false), the lease
  // if given, and --timeout's deadline unless `no_deadline` (streams that last: events, wait).
  std::unique_ptr<grpc::ClientContext> Context(std::optional<std::string> lease = std::nullopt,
                                               bool no_deadline = false) const;

  ::containerd::services::version::v1::Version::Stub& Version() { return *version_; }
  ::containerd::services::introspection::v1::Introspection::Stub& Introspection() { return *introspection_; }
  ::containerd::services::namespaces::v1::Namespaces::Stub& Namespaces() { return *namespaces_; }
  ::containerd::services::images::v1::Images::Stub& Images() { return *images_; }
  ::containerd::services::content::v1::Content::Stub& Content() { return *content_; }
  ::containerd::services::snapshots::v1::Snapshots::Stub& Snapshots() { return *snapshots_; }
  ::containerd::services::diff::v1::Diff::Stub& Diff() { return *diff_; }
  ::containerd::services::containers::v1::Containers::Stub& Containers() { return *containers_; }
  ::containerd::services::tasks::v1::Tasks::Stub& Tasks() { return *tasks_; }
  ::containerd::services::events::v1::Events::Stub& Events() { return *events_; }
  ::containerd::services::leases::v1::Leases::Stub& Leases() { return *leases_; }
  ::liman::services::transfer::v1::Transfer::Stub& Transfer() { return *transfer_; }

  // A whole blob from the content service.
  absl::StatusOr<std::string> ReadBlob(const std::string& digest);
  BlobReader Blobs() {
    return [this](const std::string& digest) { return ReadBlob(digest); };
  }
  // Writes `data` as the blob `digest` (verified by the content service) with `labels`, under
  // `lease` (containerd's content.WriteBlob). A blob that exists already is left as it is.
  absl::Status WriteBlob(std::string_view data, const std::string& digest,
                         const std::map<std::string, std::string>& labels, const std::optional<std::string>& lease);

  // A lease holding what a command creates back from garbage collection until it is referenced
  // (containerd's client.WithLease: 24 h expiry as the fallback); Release deletes it.
  absl::StatusOr<std::string> CreateLease();
  void ReleaseLease(const std::string& id);
  // Records `image` in the image store: created, or updated when its name exists (the name then
  // names the record's target). Errors name the image.
  absl::Status PutImage(const ::containerd::services::images::v1::Image& image);
  // Makes `lease` hold the resource `id` of `type` ("snapshots/<snapshotter>", "content"), so a
  // resource found rather than made under the lease stays until something references it.
  absl::Status AddLeaseResource(const std::string& lease, const std::string& type, const std::string& id);

 private:
  GlobalOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<::containerd::services::version::v1::Version::Stub> version_;
  std::unique_ptr<::containerd::services::introspection::v1::Introspection::Stub> introspection_;
  std::unique_ptr<::containerd::services::namespaces::v1::Namespaces::Stub> namespaces_;
  std::unique_ptr<::containerd::services::images::v1::Images::Stub> images_;
  std::unique_ptr<::containerd::services::content::v1::Content::Stub> content_;
  std::unique_ptr<::containerd::services::snapshots::v1::Snapshots::Stub> snapshots_;
  std::unique_ptr<::containerd::services::diff::v1::Diff::Stub> diff_;
  std::unique_ptr<::containerd::services::containers::v1::Containers::Stub> containers_;
  std::unique_ptr<::containerd::services::tasks::v1::Tasks::Stub> tasks_;
  std::unique_ptr<::containerd::services::events::v1::Events::Stub> events_;
  std::unique_ptr<::containerd::services::leases::v1::Leases::Stub> leases_;
  std::unique_ptr<::liman::services::transfer::v1::Transfer::Stub> transfer_;
};

// Any.UnpackTo wants "<prefix>/<full name>"; containerd's typeurl writes the bare full name
// ("io.containerd.cgroups.v1.Metrics"), so this matches on the text after the last '/', if any.
bool UnpackAny(const google::protobuf::Any& any, google::protobuf::Message* message);

// The descriptor of an image record's target, as image_resolve wants it.
Descriptor FromProto(const ::containerd::types::Descriptor& desc);

}  // namespace liman::ctr
