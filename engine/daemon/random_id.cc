#include "engine/daemon/random_id.h"

#include <random>

#include "fmt/format.h"

namespace liman::engine {

std::string RandomHexId() {
  std::random_device random;  // libstdc++ reads the kernel's CSPRNG (getrandom(2))
  std::string id;
  for (int i = 0; i < 32; ++i) id += fmt::format("{:02x}", random() & 0xff);
  return id;
}

}  // namespace liman::engine
