// SHA-256 through OpenSSL's block functions. Not OpenSSL 3's one-shot SHA256()/EVP: those go
// through EVP_Q_digest and initialise the provider machinery, ~2 ms on every shim start here.
#pragma once

#include <string>
#include <string_view>

namespace liman {

// Lower-case hex digest of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace liman
