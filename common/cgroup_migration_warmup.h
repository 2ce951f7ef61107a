// Warming the kernel's cgroup-migration lock before a runtime moves a container's process.
//
// Every write to a cgroup.procs file (v1 and v2) takes the global cgroup_threadgroup_rwsem for
// writing. percpu_down_write first calls rcu_sync_enter, which waits for a whole RCU grace period
// unless another writer went through within about the last one or two (kernel/rcu/sync.c: the
// lock stays in its slow mode until a grace period passes with no writer; cgroup v2's
// favordynmods mount option keeps it there for good). On this kind of VM that wait is 6-20 ms,
// the largest single cost of starting a container: `runc create` pays it when it moves the init
// into the container's cgroups, `runc exec` when it moves the new process.
//
// So the daemons that know a container's process is about to be created (limand at container
// create, start and exec create; the manager at container and task create and exec) move their
// own process into the cgroup it is already in: a no-op migration under the same lock, on a
// thread of its own. The grace period then passes while the request travels down the chain. One
// such write keeps the lock fast only until a grace period after it, and a start often came too
// late or too early for it (starts of 11-22 ms, mean 15.6, through limand); so the thread writes
// again every 3 ms until 100 ms after the last request, and the runtime's migration finds the
// lock fast: starts of 11-13 ms. Each write holds the lock for microseconds once it is fast.
//
// The write holds cgroup_mutex while it waits (cgroup_kn_lock_live, then
// cgroup_procs_write_start), so every other cgroup change on the machine (a mkdir, a controller
// write that takes the mutex) waits with it, as it would for any migration. That is why the
// runtime itself does not warm up: its mkdirs of the container's cgroups come right after its
// start, and little happens between those and the move (tried: no gain). Nor the shim: a thread
// there would keep its stack and the binary's 65 KiB of static TLS cached for the container's
// whole life (+60 KiB PSS per shim, measured), and the manager's warm-up a few milliseconds
// earlier covers what it would.
#pragma once

namespace liman {

// Keeps the lock warm for the next 100 ms: starts the thread that writes, or extends the time of
// the one running, and returns at once. Failures are logged at debug level: it only saves time.
void WarmCgroupMigrationLock();

// Waits until the thread has stopped, 100 ms after the last request (for tests).
void WaitForCgroupMigrationWarmup();

}  // namespace liman
