#include "shim/rfc3339.h"

#include "common/status.h"
#include "fmt/format.h"

namespace liman::shim {

std::string FormatRfc3339Nano(absl::Time time) {
  // %E*S: seconds with as many fractional digits as needed, none for whole seconds.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(text), &time, &error))
    return absl::InvalidArgumentError(fmt::format("time {}: not RFC 3339: {}", Quote(text), error));
  return time;
}

}  // namespace liman::shim
