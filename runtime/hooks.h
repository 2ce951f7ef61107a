// OCI hooks: each runs with the container state JSON on stdin, its own args and env, and is killed
// when its timeout passes (config.md, "POSIX-platform Hooks").
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/oci_spec.h"

namespace liman::runtime {

// Runs `hooks` in order; the first failure stops the rest and is returned, naming the phase,
// index and path: `prestart hook #1 "/bin/x": exit status 3`.
absl::Status RunHooks(const char* phase, const std::vector<oci::Hook>& hooks, const std::string& state_json);

// For poststart and poststop, whose failures do not stop the lifecycle: every hook runs, and each
// failure is logged as a warning (runtime.md, "Lifecycle" steps 10 and 12: "the remaining hooks and
// lifecycle continue as if the hook had succeeded").
void RunHooksWarningOnFailure(const char* phase, const std::vector<oci::Hook>& hooks, const std::string& state_json);

}  // namespace liman::runtime
