// The containerd.task.v2.Task calls, one command each: build the request from flags, call the
// shim, print the response as one line of JSON.
#pragma once

#include <vector>

#include "integration/shimctl/cli.h"

namespace liman::shimctl {

std::vector<Command> TaskCommands();

}  // namespace liman::shimctl
