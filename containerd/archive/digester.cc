// SHA256_Init/Update/Final rather than EVP: see common/sha256.h (no provider load per process).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "containerd/archive/digester.h"

namespace liman::containerd::archive {

Sha256Digester::Sha256Digester() { SHA256_Init(&context_); }

void Sha256Digester::Update(std::string_view data) {
  SHA256_Update(&context_, data.data(), data.size());
  size_ += static_cast<int64_t>(data.size());
}

std::string Sha256Digester::Digest() const {
  SHA256_CTX copy = context_;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &copy);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text = "sha256:";
  text.reserve(7 + 2 * SHA256_DIGEST_LENGTH);
  for (unsigned char byte : digest) {
    text.push_back(kHex[byte >> 4]);
    text.push_back(kHex[byte & 0xf]);
  }
  return text;
}

}  // namespace liman::containerd::archive
