#include "common/daemon_memory.h"

#include <malloc.h>

namespace liman {

// mallopt(3): M_ARENA_MAX.
void LimitMallocArenas() { mallopt(M_ARENA_MAX, 2); }

void ReleaseFreeMemory() { malloc_trim(0); }

}  // namespace liman
