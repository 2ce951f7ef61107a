// How values are stored in the metadata tables: string maps as JSON objects, times as
// nanoseconds since the Unix epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/core/content.h"

namespace liman::containerd::metadata {

std::string EncodeLabels(const Labels& labels);
// kDataLoss when the column is not a JSON object of strings (a damaged database).
absl::StatusOr<Labels> DecodeLabels(std::string_view json);

inline int64_t EncodeTime(absl::Time time) { return absl::ToUnixNanos(time); }
inline absl::Time DecodeTime(int64_t nanos) { return absl::FromUnixNanos(nanos); }

// An RFC 3339 time ("2006-01-02T15:04:05Z07:00", fractions allowed), as Go's time.RFC3339
// parses it; std::nullopt if it is not one.
std::optional<absl::Time> ParseRfc3339(std::string_view text);

}  // namespace liman::containerd::metadata
