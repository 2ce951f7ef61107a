// `liman-shim … delete`: containerd runs it after a task is deleted and whenever a shim died, to
// clean up what the shim would have: the runtime's container, the rootfs mount, the socket. It
// prints a containerd.task.v2.DeleteResponse with the exit the dead shim recorded, or 137
// (killed) when it recorded none.
#pragma once

#include "shim/flags.h"

namespace liman::shim {

int RunCleanup(const ShimFlags& flags);

}  // namespace liman::shim
