// The container's first two processes, forked from liman-runtime. Stage 1 joins and creates
// namespaces and forks stage 2, which becomes the container's process: it builds the root
// filesystem, drops privileges and execs. Both report to the parent over `sync_fd` and never
// return.
#pragma once

#include "runtime/plan.h"

namespace liman::runtime {

// `born_in_cgroup2`: ForkIntoCgroup placed stage 1, and so stage 2, in cgroup2 already.
[[noreturn]] void RunStage1(const ContainerPlan& plan, int sync_fd, bool born_in_cgroup2);

}  // namespace liman::runtime
