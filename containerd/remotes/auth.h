// Registry authentication inputs: WWW-Authenticate challenges (RFC 7235, as registries send
// them: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`) and credentials from a
// Docker-style config.json.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::containerd::remotes {

struct AuthChallenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // parameter names lower case, values unquoted
};

// All challenges of one WWW-Authenticate header value (a value may carry several, separated by
// commas). Malformed trailing parts are ignored: a challenge is a hint, not a contract.
std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
};

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json.
std::string DefaultDockerConfigPath();

// The credentials config.json at `path` holds for `registry_host` (a Reference's domain, e.g.
// "docker.io" or "127.0.0.1:5000"): `auths.<host>.auth` (base64 "user:password") or
// `auths.<host>.username`/`password`. Keys may be URLs ("https://index.docker.io/v1/"); docker.io
// also matches index.docker.io and registry-1.docker.io. std::nullopt when the file does not
// exist or has no entry; an error naming the path when it cannot be read or parsed.
// Credential helpers (credsStore, credHelpers) are not run.
absl::StatusOr<std::optional<Credentials>> LookupDockerConfigCredentials(const std::string& path,
                                                                         std::string_view registry_host);

}  // namespace liman::containerd::remotes
