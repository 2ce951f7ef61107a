// Times as containerd and Docker print them.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liman::shim {

// Go's time.RFC3339Nano in UTC: "2024-05-01T10:20:30.123456789Z", trailing zeros of the fraction
// dropped (no fraction at all for whole seconds).
std::string FormatRfc3339Nano(absl::Time time);
// Accepts any RFC 3339 time ("Z" or a numeric offset, any fraction).
absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text);

}  // namespace liman::shim
