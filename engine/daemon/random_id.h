// The 64-hex-digit random identifiers Docker gives containers, exec instances and anonymous
// volumes (moby's stringid.GenerateRandomID).
#pragma once

#include <string>

namespace liman::engine {

std::string RandomHexId();

}  // namespace liman::engine
