#include "containerd/server/introspection_service.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "common/file_util.h"
#include "common/random_bytes.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/server/grpc_status.h"

namespace liman::containerd::server {
namespace {

namespace api = ::containerd::services::introspection::v1;

using UuidBytes = std::array<uint8_t, 16>;

UuidBytes RandomUuidBytes() {
  std::string random = RandomBytes(sizeof(UuidBytes));
  UuidBytes bytes;
  std::copy(random.begin(), random.end(), bytes.begin());
  return bytes;
}

// RFC 4122 version 4: random except the version nibble (4) and the variant bits (10).
std::string NewRandomUuid() {
  UuidBytes bytes = RandomUuidBytes();
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  std::string text;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += fmt::format("{:02x}", bytes[i]);
  }
  return text;
}

// The canonical 8-4-4-4-12 form, either case (what Go's uuid.Parse accepts in it).
bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !absl::ascii_isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

void ToProto(const PluginInfo& plugin, api::Plugin* out) {
  out->set_type(plugin.type);
  out->set_id(plugin.id);
  for (const std::string& type : plugin.requires_types) out->add_requires_types(type);
  for (const PluginPlatform& platform : plugin.platforms) {
    auto* p = out->add_platforms();
    p->set_os(platform.os);
    p->set_architecture(platform.architecture);
    p->set_variant(platform.variant);
  }
  for (const auto& [key, value] : plugin.exports) (*out->mutable_exports())[key] = value;
  for (const std::string& capability : plugin.capabilities) out->add_capabilities(capability);
  if (!plugin.init_error.ok()) {
    out->mutable_init_err()->set_code(static_cast<int32_t>(plugin.init_error.code()));
    out->mutable_init_err()->set_message(std::string(plugin.init_error.message()));
  }
}

}  // namespace

std::string ServerUuidPath(const std::string& root) {
  return JoinPath(JoinPath(root, "io.containerd.grpc.v1.introspection"), "uuid");
}

absl::StatusOr<std::string> LoadOrCreateServerUuid(const std::string& path) {
  absl::StatusOr<std::string> existing = ReadFile(path);
  if (existing.ok()) {
    std::string uuid(absl::StripAsciiWhitespace(*existing));
    if (!IsUuid(uuid))
      return absl::FailedPreconditionError(
          fmt::format("server uuid in {}: invalid UUID {}", Quote(path), Quote(uuid)));
    return uuid;
  }
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing.status();

  std::string uuid = NewRandomUuid();
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) LIMAN_RETURN_IF_ERROR(MkdirAll(path.substr(0, slash), 0711));
  LIMAN_RETURN_IF_ERROR(WriteFileAtomic(path, uuid, 0644));
  return uuid;
}

absl::StatusOr<std::unique_ptr<IntrospectionService>> IntrospectionService::Create(const std::string& root,
                                                                                   std::vector<PluginInfo> plugins) {
  LIMAN_ASSIGN_OR_RETURN(std::string uuid, LoadOrCreateServerUuid(ServerUuidPath(root)));
  return std::unique_ptr<IntrospectionService>(new IntrospectionService(std::move(uuid), std::move(plugins)));
}

grpc::Status IntrospectionService::Plugins(grpc::ServerContext*, const api::PluginsRequest* request,
                                           api::PluginsResponse* response) {
  absl::StatusOr<filters::Filter> filter =
      filters::Parse(std::vector<std::string>(request->filters().begin(), request->filters().end()));
  if (!filter.ok()) return ToGrpcStatus(filter.status());
  for (const PluginInfo& plugin : plugins_) {
    // Only type and id can be filtered on, as in containerd (present when not empty).
    auto adaptor = [&plugin](const std::vector<std::string>& fieldpath) -> std::optional<std::string> {
      if (fieldpath.empty()) return std::nullopt;
      const std::string* value = nullptr;
      if (fieldpath[0] == "type") value = &plugin.type;
      if (fieldpath[0] == "id") value = &plugin.id;
      if (value == nullptr || value->empty()) return std::nullopt;
      return *value;
    };
    if (filter->Match(adaptor)) ToProto(plugin, response->add_plugins());
  }
  return grpc::Status::OK;
}

grpc::Status IntrospectionService::Server(grpc::ServerContext*, const google::protobuf::Empty*,
                                          api::ServerResponse* response) {
  response->set_uuid(uuid_);
  return grpc::Status::OK;
}

}  // namespace liman::containerd::server
