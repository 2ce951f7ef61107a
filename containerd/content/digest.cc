// SHA256_Init/Update/Final rather than EVP: see common/sha256.h (no provider load per process).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "containerd/content/digest.h"

#include "common/sha256.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::content {
namespace {
bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
}  // namespace

absl::Status ValidateDigest(std::string_view digest) {
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("invalid digest {}: {}", Quote(digest), why));
  };
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) return invalid("missing algorithm prefix");
  if (digest.substr(0, colon + 1) != kSha256Prefix)
    return invalid(fmt::format("unsupported digest algorithm {}", Quote(digest.substr(0, colon))));
  std::string_view hex = digest.substr(colon + 1);
  if (hex.size() != 64) return invalid("sha256 hex part must be 64 characters");
  for (char c : hex)
    if (!IsLowerHex(c)) return invalid("sha256 hex part must be lowercase hexadecimal");
  return absl::OkStatus();
}

std::string Sha256Digest(std::string_view data) { return fmt::format("{}{}", kSha256Prefix, Sha256Hex(data)); }

Sha256Digester::Sha256Digester() { Reset(); }

void Sha256Digester::Update(std::string_view data) { SHA256_Update(&context_, data.data(), data.size()); }

void Sha256Digester::Reset() { SHA256_Init(&context_); }

std::string Sha256Digester::Digest() const {
  SHA256_CTX copy = context_;  // Final destroys the state; callers keep writing after a peek
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kSha256Prefix);
  for (unsigned char byte : digest) {
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

}  // namespace liman::containerd::content
