#include "containerd/server/namespace_context.h"

#include <string>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::server {
namespace {

constexpr size_t kMaxNamespaceLength = 76;
constexpr char kNamespacePattern[] = "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$";

bool IsAlphanumeric(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsSeparator(char c) { return c == '.' || c == '_' || c == '-'; }

// The first value of a metadata key, as containerd's fromGRPCHeader takes it. Keys arrive in
// lower case (gRPC requires it), values are bytes.
std::optional<std::string> FirstMetadataValue(const grpc::ServerContextBase& context, std::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.lower_bound(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end() || it->first != grpc::string_ref(key.data(), key.size())) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

absl::Status ValidateNamespaceName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("namespace validation: identifier must not be empty");
  if (name.size() > kMaxNamespaceLength)
    return absl::InvalidArgumentError(
        fmt::format("namespace validation: identifier {} greater than maximum length ({} characters)",
                    Quote(name), kMaxNamespaceLength));
  // Runs of alphanumerics joined by single separators: no separator first, last or doubled.
  bool valid = true;
  bool after_separator = true;
  for (char c : name) {
    bool separator = IsSeparator(c);
    if (separator ? after_separator : !IsAlphanumeric(c)) {
      valid = false;
      break;
    }
    after_separator = separator;
  }
  if (!valid || after_separator)
    return absl::InvalidArgumentError(
        fmt::format("namespace validation: identifier {} must match {}", Quote(name), kNamespacePattern));
  return absl::OkStatus();
}

absl::StatusOr<std::string> RequireNamespace(const grpc::ServerContextBase& context) {
  std::optional<std::string> name = FirstMetadataValue(context, kNamespaceMetadataKey);
  if (!name || name->empty()) return absl::FailedPreconditionError("namespace is required");
  LIMAN_RETURN_IF_ERROR(ValidateNamespaceName(*name));
  return *std::move(name);
}

std::optional<std::string> LeaseFromContext(const grpc::ServerContextBase& context) {
  std::optional<std::string> lease = FirstMetadataValue(context, kLeaseMetadataKey);
  if (lease && lease->empty()) return std::nullopt;
  return lease;
}

}  // namespace liman::containerd::server
