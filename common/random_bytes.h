// Random bytes from the kernel's CSPRNG (getrandom(2)), for identifiers: container, exec and
// volume ids, lease ids, generated names.
#pragma once

#include <cstddef>
#include <string>

namespace liman {

// `count` random bytes. getrandom(2) does not fail for the small sizes asked here once the
// kernel's pool is initialised (which it is long before any daemon starts); EINTR is retried.
std::string RandomBytes(size_t count);

// `count` random bytes as 2 × `count` lower-case hex digits.
std::string RandomHex(size_t count);

}  // namespace liman
