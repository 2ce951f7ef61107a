// Signal names as ctr takes them (containerd's signal.ParseSignal): "SIGKILL", "KILL", "9".
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace liman::ctr {

// kInvalidArgument for an unknown name or a number out of 1..64.
absl::StatusOr<int> ParseSignal(const std::string& text);

}  // namespace liman::ctr
