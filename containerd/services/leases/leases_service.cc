#include "containerd/services/leases/leases_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "common/random_bytes.h"
#include "common/status.h"
#include "containerd/server/grpc_status.h"
#include "containerd/server/namespace_context.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "shim/proto_time.h"

namespace liman::containerd::services {
namespace {

namespace api = ::containerd::services::leases::v1;

// containerd's leases.WithRandomID: "<nanoseconds of the current second>-<3 random bytes,
// URL-safe base64>", e.g. "123456789-AbC_".
std::string RandomLeaseId() {
  std::string bytes = RandomBytes(3);
  const int64_t nanos = absl::ToUnixNanos(absl::Now()) % 1000000000;
  return fmt::format("{}-{}", nanos, absl::WebSafeBase64Escape(bytes));
}

void ToProtoLease(const metadata::Lease& lease, api::Lease* out) {
  out->set_id(lease.id);
  *out->mutable_created_at() = shim::ToProtoTimestamp(lease.created_at);
  out->mutable_labels()->insert(lease.labels.begin(), lease.labels.end());
}

metadata::LeaseResource FromProtoResource(const api::Resource& resource) {
  return metadata::LeaseResource{.id = resource.id(), .type = resource.type()};
}

class LeasesService final : public api::Leases::Service {
 public:
  explicit LeasesService(const ServiceDeps& deps) : deps_(deps) {}

  grpc::Status Create(grpc::ServerContext* context, const api::CreateRequest* request,
                      api::CreateResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      metadata::Lease lease;
      lease.id = request->id().empty() ? RandomLeaseId() : request->id();
      lease.labels.insert(request->labels().begin(), request->labels().end());
      LIMAN_ASSIGN_OR_RETURN(metadata::Lease created, deps_.db->Leases().Create(ns, std::move(lease)));
      ToProtoLease(created, response->mutable_lease());
      return absl::OkStatus();
    });
  }

  // With `sync` the garbage collector has run (and removed what only this lease held) when
  // the call returns, as containerd's SynchronousDelete.
  grpc::Status Delete(grpc::ServerContext* context, const api::DeleteRequest* request,
                      google::protobuf::Empty*) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(deps_.db->Leases().Delete(ns, request->id()));
      if (request->sync()) LIMAN_RETURN_IF_ERROR(deps_.db->GarbageCollect().status());
      return absl::OkStatus();
    });
  }

  grpc::Status List(grpc::ServerContext* context, const api::ListRequest* request,
                    api::ListResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      std::vector<std::string> filters(request->filters().begin(), request->filters().end());
      LIMAN_ASSIGN_OR_RETURN(std::vector<metadata::Lease> leases, deps_.db->Leases().List(ns, filters));
      for (const metadata::Lease& lease : leases) ToProtoLease(lease, response->add_leases());
      return absl::OkStatus();
    });
  }

  grpc::Status AddResource(grpc::ServerContext* context, const api::AddResourceRequest* request,
                           google::protobuf::Empty*) override {
    return server::InNamespace(*context, [&](const std::string& ns) {
      return deps_.db->Leases().AddResource(ns, request->id(), FromProtoResource(request->resource()));
    });
  }

  grpc::Status DeleteResource(grpc::ServerContext* context, const api::DeleteResourceRequest* request,
                              google::protobuf::Empty*) override {
    return server::InNamespace(*context, [&](const std::string& ns) {
      return deps_.db->Leases().DeleteResource(ns, request->id(), FromProtoResource(request->resource()));
    });
  }

  grpc::Status ListResources(grpc::ServerContext* context, const api::ListResourcesRequest* request,
                             api::ListResourcesResponse* response) override {
    return server::InNamespace(*context, [&](const std::string& ns) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(std::vector<metadata::LeaseResource> resources,
                             deps_.db->Leases().ListResources(ns, request->id()));
      for (const metadata::LeaseResource& resource : resources) {
        api::Resource* out = response->add_resources();
        out->set_id(resource.id);
        out->set_type(resource.type);
      }
      return absl::OkStatus();
    });
  }

 private:

  const ServiceDeps deps_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeLeasesService(const ServiceDeps& deps) {
  return std::make_unique<LeasesService>(deps);
}

}  // namespace liman::containerd::services
