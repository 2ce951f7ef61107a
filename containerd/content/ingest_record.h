// The on-disk record of one ingest, containerd's layout under <root>/ingest/<sha256(ref)>/:
//   ref        the caller's ref (the directory name is its hash, to keep paths short and safe)
//   data       the bytes written so far; its size is the offset
//   total      expected size, decimal (absent when unknown)
//   expected   expected digest (absent when unknown)
//   startedat, updatedat   RFC 3339 timestamps with nanoseconds
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "containerd/core/content.h"

namespace liman::containerd::content {

inline constexpr std::string_view kIngestDataFile = "data";

// RFC 3339 with nanoseconds in UTC, as Go's time.MarshalText writes it.
std::string FormatTimestamp(absl::Time time);
absl::StatusOr<absl::Time> ParseTimestamp(std::string_view text);

// The status of the ingest in `dir`. kNotFound when data or ref is missing (an ingest being
// created or removed); kDataLoss for a record that cannot be parsed.
absl::StatusOr<IngestStatus> ReadIngestRecord(const std::string& dir);

// (Re)writes the metadata files of `status` (not data). `ref` goes last: an ingest whose
// creation was interrupted has no ref and is not taken for a valid one.
absl::Status WriteIngestRecord(const std::string& dir, const IngestStatus& status);

absl::Status WriteIngestUpdatedAt(const std::string& dir, absl::Time updated_at);

// Removes `ref`, making the record invalid before the ingest is restarted.
absl::Status InvalidateIngestRecord(const std::string& dir);

}  // namespace liman::containerd::content
