#include "common/random_bytes.h"

#include <errno.h>
#include <sys/random.h>

#include <cstdlib>

namespace liman {

// Why not std::random_device: each one constructed probes the CPU (cpuid, a VM exit of ~3.6 us
// here) and is then read four bytes at a time; identifiers are made per request.
std::string RandomBytes(size_t count) {
  std::string bytes(count, '\0');
  size_t filled = 0;
  while (filled < count) {
    ssize_t got = getrandom(bytes.data() + filled, count - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      abort();  // ENOSYS/EFAULT/EINVAL: nothing to fall back to that would still be random
    }
    filled += static_cast<size_t>(got);
  }
  return bytes;
}

std::string RandomHex(size_t count) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * count);
  for (unsigned char byte : RandomBytes(count)) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0f]);
  }
  return hex;
}

}  // namespace liman
