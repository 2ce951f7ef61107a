// How the container's first process enters the container's cgroup by itself, without the
// parent moving it (cgroups::SelfJoin says why): whoever forks it calls ForkIntoCgroup, and the
// child calls EnterCgroup before anything of the container runs.
#pragma once

#include <sys/types.h>

#include "runtime/cgroups/manager.h"
#include "runtime/child_error.h"

namespace liman::runtime {

// fork(2), with the child born in `join.cgroup2_dir` when there is one: clone3(2) with
// CLONE_INTO_CGROUP (Linux 5.7). Where the kernel refuses that (older kernels) it is a plain
// fork, and *born_inside tells the child which. Call it with the host's credentials: from inside
// a new user namespace the kernel refuses (EACCES), and a refused first fork into a new pid
// namespace leaves that namespace unable to get any process (free_pid, PIDNS_ADDING). Like fork in a single-threaded process: glibc's atfork
// handlers do not run for clone3, and liman-runtime registers none.
pid_t ForkIntoCgroup(const cgroups::SelfJoin& join, bool* born_inside);

// In the child: writes "0" to every v1 `tasks` file, and to cgroup2's cgroup.procs unless born
// there. Never allocates; on failure fills *error (errno and the file) and returns false.
bool EnterCgroup(const cgroups::SelfJoin& join, bool born_inside, ChildError* error);

}  // namespace liman::runtime
