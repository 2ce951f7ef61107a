// startup-bench: how much liman-shim adds to starting a container (the acceptance bound is 5 ms).
// Each round starts the same container (the bundle's process, `true` or `sh -c true`) two ways,
// in alternating order so that a drift of the machine's speed weighs on both alike:
//   (a) through the shim, as containerd does it: `liman-shim … start` (cwd = the bundle), connect
//       to the address it prints, Create (no stdio), Start; timed from the spawn to Start's reply;
//   (b) the runtime directly: `liman-runtime create`, then `liman-runtime start`; timed from the
//       first spawn to the second exit.
// Then, untimed, each container is waited for and deleted and the shim shut down. Prints for each
// way the median and 90th percentile, the same for their parts (`start` until it has exited with
// the address, Create and Start; the runtime's create and start), the median of the per-round
// differences (a) − (b), which is what the shim adds, and last one line of JSON with all of it
// (per part: median_ms, p90_ms and every round's rounds_ms).
//
//   startup-bench --shim BIN --runtime BIN --bundle DIR --cgroup-parent /PARENT [--rounds 20]
//                 [--warmup 1] [--settle 0] [--work DIR] [--manager-address SOCKET] [--namespace NS]
//                 [--no-prime]
//
// Containers start back to back, as in a burst of `docker run`s. --settle DURATION pauses before
// each one instead: on a VM an idle pause leaves caches (and the vCPU) cold, which slows both ways.
// Before the runtime is asked to create, the benchmark moves itself into its own cgroup, so that
// the runtime's own cgroup.procs write does not wait for an RCU grace period in one way more often
// than in the other (see PrimeCgroupSync; the pause this takes in (a), between `start` and
// Create, is not timed). --no-prime leaves that to chance.
//
// Every container gets a bundle directory of its own under the work directory: --bundle's
// config.json with root.path pointing at --bundle's rootfs and linux.cgroupsPath /PARENT/ID. The
// shims are given -address SOCKET (default WORK/manager.sock; nothing needs to listen there: their
// sockets go to its directory's s/) and no TTRPC_ADDRESS, so they publish no events. Everything made
// is removed again, after a failure too: containers, shims, the cgroups /PARENT/ID and /PARENT in
// every hierarchy, the work directory (which must not exist before). Needs root.
#pragma once

#include <vector>

#include "integration/shimctl/cli.h"

namespace liman::shimctl {

std::vector<Command> StartupBenchCommands();

}  // namespace liman::shimctl
