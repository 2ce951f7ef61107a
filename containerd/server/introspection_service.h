// containerd.services.introspection.v1.Introspection: the plugin list (`ctr plugins ls`) and
// the server's identity (`ctr version` asks for it before anything else). The identity is a
// random UUID made on first start and kept under --root, so it survives restarts and tells
// two daemons on one host apart.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/server/plugins.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"

namespace liman::containerd::server {

// Where the UUID is kept: <root>/io.containerd.grpc.v1.introspection/uuid, as containerd has it.
std::string ServerUuidPath(const std::string& root);

// Reads the UUID at `path`, or makes a random (version 4) one and writes it there atomically.
// kFailedPrecondition when the file holds something that is not a UUID.
absl::StatusOr<std::string> LoadOrCreateServerUuid(const std::string& path);

class IntrospectionService final : public ::containerd::services::introspection::v1::Introspection::Service {
 public:
  // Loads (or creates) the server UUID under `root`.
  static absl::StatusOr<std::unique_ptr<IntrospectionService>> Create(const std::string& root,
                                                                      std::vector<PluginInfo> plugins);

  const std::string& uuid() const { return uuid_; }

  // Filters are containerd's filter syntax over the fields "type" and "id".
  grpc::Status Plugins(grpc::ServerContext* context,
                       const ::containerd::services::introspection::v1::PluginsRequest* request,
                       ::containerd::services::introspection::v1::PluginsResponse* response) override;
  grpc::Status Server(grpc::ServerContext* context, const google::protobuf::Empty* request,
                      ::containerd::services::introspection::v1::ServerResponse* response) override;

 private:
  IntrospectionService(std::string uuid, std::vector<PluginInfo> plugins)
      : uuid_(std::move(uuid)), plugins_(std::move(plugins)) {}

  const std::string uuid_;
  const std::vector<PluginInfo> plugins_;
};

}  // namespace liman::containerd::server
