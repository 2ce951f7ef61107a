// `docker run --init`: the container runs an init as PID 1 that reaps orphans and forwards
// signals to the command (moby's docker-init, which is tini), bound read-only into the container.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace liman::engine {

// Where the init appears in a container; its command line is `/sbin/docker-init -- CMD…`.
inline constexpr char kInContainerInitPath[] = "/sbin/docker-init";
// dockerd's default --init-path.
inline constexpr char kDefaultInitBinary[] = "docker-init";

// The host's init binary, as moby's LookupInitPath: an absolute `configured` path as it is; a
// name (docker-init when `configured` is empty) in /usr/local/libexec/docker,
// /usr/libexec/docker, /usr/local/lib/docker, /usr/lib/docker, then $PATH. Where the default name
// is found nowhere, Debian's tini-static (which Debian's docker.io links as docker-init). The
// init runs inside containers that may have no C library: it must be a static binary.
absl::StatusOr<std::string> LookupInitPath(const std::string& configured);

}  // namespace liman::engine
