// Signal arguments as kill(1) takes them: "TERM", "SIGTERM", "sigterm" or "15".
#pragma once

#include <string_view>

#include "absl/status/statusor.h"

namespace liman::shimctl {

absl::StatusOr<int> ParseSignal(std::string_view text);

}  // namespace liman::shimctl
