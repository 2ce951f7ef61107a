#include "engine/daemon/random_id.h"

#include "common/random_bytes.h"

namespace liman::engine {

std::string RandomHexId() {
  return RandomHex(32);
}

}  // namespace liman::engine
