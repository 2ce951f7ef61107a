// `liman-shim … start`: containerd's shim v2 start convention. Starts (or finds) the long-lived
// shim for one container and prints its ttrpc address on stdout.
#pragma once

#include "shim/flags.h"

namespace liman::shim {

// Returns the process exit code; the forked server never returns from here.
int RunStart(const ShimFlags& flags);

}  // namespace liman::shim
