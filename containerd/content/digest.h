// Content digests as containerd spells them, "sha256:<64 lowercase hex>", and the streaming
// SHA-256 that ingests compute while data arrives.
#pragma once

#include <openssl/sha.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace liman::containerd::content {

inline constexpr std::string_view kSha256Prefix = "sha256:";

// OK for "sha256:" followed by 64 lowercase hex digits, the only digests the store holds;
// kInvalidArgument naming the digest otherwise.
absl::Status ValidateDigest(std::string_view digest);

// The hex part of a digest that passed ValidateDigest.
inline std::string_view DigestHex(std::string_view digest) { return digest.substr(kSha256Prefix.size()); }

// "sha256:<hex>" of `data`.
std::string Sha256Digest(std::string_view data);

// Incremental SHA-256: Update as bytes are written, Digest at any point (the state is kept).
class Sha256Digester {
 public:
  Sha256Digester();
  void Update(std::string_view data);
  void Reset();
  // "sha256:<hex>" of everything passed to Update since construction or the last Reset.
  std::string Digest() const;

 private:
  SHA256_CTX context_;
};

}  // namespace liman::containerd::content
