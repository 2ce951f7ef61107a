#include "containerd/events/identifiers.h"

#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::events {
namespace {

constexpr size_t kMaxIdentifierLength = 76;

bool IsAlphanumeric(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsSeparator(char c) { return c == '.' || c == '_' || c == '-'; }

}  // namespace

absl::Status ValidateIdentifier(std::string_view identifier) {
  if (identifier.empty()) return absl::InvalidArgumentError("identifier must not be empty");
  if (identifier.size() > kMaxIdentifierLength)
    return absl::InvalidArgumentError(fmt::format("identifier {} greater than maximum length ({} characters)",
                                                  Quote(identifier), kMaxIdentifierLength));
  // ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: alphanumerics at both ends, no two separators in a row.
  bool previous_separator = true;  // the first character must be alphanumeric
  for (char c : identifier) {
    bool separator = IsSeparator(c);
    if ((!separator && !IsAlphanumeric(c)) || (separator && previous_separator))
      return absl::InvalidArgumentError(
          fmt::format("identifier {} must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$", Quote(identifier)));
    previous_separator = separator;
  }
  if (previous_separator)
    return absl::InvalidArgumentError(
        fmt::format("identifier {} must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$", Quote(identifier)));
  return absl::OkStatus();
}

absl::Status ValidateTopic(std::string_view topic) {
  auto invalid = [topic](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("envelope topic {}: {}", Quote(topic), why));
  };
  if (topic.empty()) return invalid("must not be empty");
  if (topic[0] != '/') return invalid("must start with '/'");
  if (topic.size() == 1) return invalid("must have at least one component");
  std::string_view rest = topic.substr(1);
  while (true) {
    size_t slash = rest.find('/');
    std::string_view component = rest.substr(0, slash);
    if (absl::Status status = ValidateIdentifier(component); !status.ok())
      return invalid(fmt::format("failed validation on component {}: {}", Quote(component), status.message()));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return absl::OkStatus();
}

}  // namespace liman::containerd::events
