// limand's cgroup parent (--cgroup-parent, /liman by default), made in every cgroup hierarchy
// when limand starts and kept, as /docker is with dockerd.
//
// Why: liman-runtime removes the ancestors of a container's cgroup that it made itself once the
// container is deleted. Without a parent made beforehand, every `docker run --rm` in a row made
// /liman in each of the ~10 hierarchies of a hybrid host and removed it again: 10 more mkdirs at
// create and 10 more rmdirs at delete, both on the path of the run.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace liman::engine {

// Makes `parent` (absolute; a relative one is left to the runtime, which resolves it against its
// own cgroup) below every cgroup v1 hierarchy and the cgroup2 one mounted at or below
// `mount_root`, as <proc_root>/self/mountinfo lists them. Existing directories are fine. The
// error names each directory that could not be made.
absl::Status MakeCgroupParent(const std::string& parent, const std::string& mount_root = "/sys/fs/cgroup",
                              const std::string& proc_root = "/proc");

// moby's default --cgroupns: "private" where the host's cgroups are unified (v2), "host" on v1
// and hybrid hosts, and where the layout cannot be read.
std::string DefaultCgroupnsMode(const std::string& mount_root = "/sys/fs/cgroup", const std::string& proc_root = "/proc");

}  // namespace liman::engine
