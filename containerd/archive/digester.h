// Streaming SHA-256 in the form OCI descriptors use ("sha256:<hex>"), for the digest of a
// compressed layer and the diff_id of its tar while the bytes stream through.
#pragma once

#include <openssl/sha.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace liman::containerd::archive {

class Sha256Digester {
 public:
  Sha256Digester();
  void Update(std::string_view data);
  // "sha256:<64 hex>" of everything so far; the digester stays usable.
  std::string Digest() const;
  int64_t size() const { return size_; }

 private:
  SHA256_CTX context_;
  int64_t size_ = 0;
};

}  // namespace liman::containerd::archive
