// Seccomp for containers as dockerd gives it: profiles in Docker's format (the default one, or
// `--security-opt seccomp=<profile JSON>`, which the docker CLI sends with the file's contents)
// turned into the OCI spec's linux.seccomp for one container: the rules whose `includes` /
// `excludes` (capabilities, architectures, minimum kernel) match it, for this machine's
// architectures.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

// limand's default profile (Docker's policy: an allowlist; EPERM for the rest; namespaces,
// mounts, module loading, kernel keyrings, clock setting and the like only with the capability
// that grants them).
const nlohmann::json& DefaultSeccompProfile();

// The OCI linux.seccomp object for a container with `capabilities` ("CAP_SYS_ADMIN", …).
// kInvalidArgument names what in the profile is malformed.
absl::StatusOr<nlohmann::ordered_json> SeccompForContainer(const nlohmann::json& profile,
                                                           const std::vector<std::string>& capabilities,
                                                           const std::string& kernel_release);

}  // namespace liman::engine
