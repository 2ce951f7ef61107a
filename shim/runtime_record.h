// Which runtime a container was created with (binary, root), kept in the bundle so that
// `liman-shim delete` can clean up after a shim that died without being told again.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "shim/runtime_cli.h"

namespace liman::shim {

absl::Status SaveRuntimeConfig(const std::string& bundle, const RuntimeConfig& config);
absl::StatusOr<RuntimeConfig> LoadRuntimeConfig(const std::string& bundle);

}  // namespace liman::shim
