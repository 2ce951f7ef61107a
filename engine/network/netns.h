// Network namespaces kept by a bind mount (as `ip netns add` and Docker's sandboxes do), so they
// outlive the thread that made them and a container can be given one by path.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace liman::engine::network {

// A new network namespace bound at `path` (created; its directory must exist).
absl::Status CreateNetns(const std::string& path);
// Unmounts and removes `path`; the namespace goes once nothing else holds it. Missing is fine.
absl::Status RemoveNetns(const std::string& path);
// Runs `fn` on a thread that has joined the namespace at `path` (setns(2) changes only the
// calling thread's namespace, so this process's other threads stay where they are).
absl::Status RunInNetns(const std::string& path, const std::function<absl::Status()>& fn);

}  // namespace liman::engine::network
