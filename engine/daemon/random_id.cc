#include "engine/daemon/random_id.h"

#include "common/random_bytes.h"
#include "fmt/format.h"

namespace liman::engine {

std::string RandomHexId() {
  std::string id;
  for (unsigned char byte : RandomBytes(32)) id += fmt::format("{:02x}", byte);
  return id;
}

}  // namespace liman::engine
