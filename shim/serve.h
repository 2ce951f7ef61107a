// The long-lived shim: one thread, one epoll loop serving containerd.task.v2.Task over ttrpc.
#pragma once

#include "common/unique_fd.h"
#include "shim/flags.h"

namespace liman::shim {

// Serves on `listener` until Shutdown; returns the process exit code.
int Serve(const ShimFlags& flags, UniqueFd listener);

}  // namespace liman::shim
