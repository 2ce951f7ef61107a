#include "containerd/metadata/validate.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/fmt_absl.h"
#include "common/status.h"

namespace liman::containerd::metadata {
namespace {

constexpr size_t kMaxIdentifierLength = 76;
constexpr size_t kMaxLabelSize = 4096;
constexpr char kIdentifierPattern[] = "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$";

bool IsAlnum(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)); }
bool IsSeparator(char c) { return c == '.' || c == '_' || c == '-'; }

// Runs of alphanumerics separated by single separators, starting and ending alphanumeric.
bool MatchesIdentifier(std::string_view id) {
  bool previous_alnum = false;
  for (char c : id) {
    if (IsAlnum(c)) {
      previous_alnum = true;
    } else if (IsSeparator(c) && previous_alnum) {
      previous_alnum = false;
    } else {
      return false;
    }
  }
  return previous_alnum;
}

}  // namespace

absl::Status ValidateIdentifier(std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("identifier must not be empty");
  if (id.size() > kMaxIdentifierLength) {
    return absl::InvalidArgumentError(
        fmt::format("identifier {} greater than maximum length ({} characters)", Quote(id), kMaxIdentifierLength));
  }
  if (!MatchesIdentifier(id)) {
    return absl::InvalidArgumentError(fmt::format("identifier {} must match {}", Quote(id), kIdentifierPattern));
  }
  return absl::OkStatus();
}

absl::Status ValidateNamespace(std::string_view ns) {
  if (ns.empty()) return absl::FailedPreconditionError("namespace is required");
  if (absl::Status status = ValidateIdentifier(ns); !status.ok()) return Annotate(status, "namespace validation");
  return absl::OkStatus();
}

absl::Status ValidateLabels(const Labels& labels, std::string_view what) {
  for (const auto& [key, value] : labels) {
    if (key.size() + value.size() > kMaxLabelSize) {
      return absl::InvalidArgumentError(
          fmt::format("{}: label key and value greater than maximum size ({} bytes), key: {}", what, kMaxLabelSize,
                      std::string_view(key).substr(0, 10)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDigest(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(fmt::format("invalid digest {}: invalid checksum digest format", Quote(digest)));
  }
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  size_t length = 0;
  if (algorithm == "sha256")
    length = 64;
  else if (algorithm == "sha384")
    length = 96;
  else if (algorithm == "sha512")
    length = 128;
  else
    return absl::InvalidArgumentError(fmt::format("invalid digest {}: unsupported digest algorithm", Quote(digest)));
  bool lower_hex =
      std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  if (hex.size() != length || !lower_hex) {
    return absl::InvalidArgumentError(fmt::format("invalid digest {}: invalid checksum digest length", Quote(digest)));
  }
  return absl::OkStatus();
}

}  // namespace liman::containerd::metadata
