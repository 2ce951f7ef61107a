// Reading back the json-file logs the shim writes (shim/json_file_log.h): rotated files oldest
// first, stream and time filters, the last N lines, and following the live file (through
// rotation) until the container is gone and everything it wrote has been read, as moby's
// jsonfilelog reader does for `docker logs -f` and attach.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liman::engine {

struct LogEntry {
  bool stderr_stream = false;
  std::string log;  // the raw bytes, newline included when the line had one
  absl::Time time;
};

struct LogReadOptions {
  bool stdout_stream = true;
  bool stderr_stream = true;
  int64_t tail = -1;  // only the last N entries; -1: all
  std::optional<absl::Time> since;
  std::optional<absl::Time> until;
  bool follow = false;
  // Follow from the end of what is there now (attach to a running container).
  bool from_end = false;
  int max_files = 1;  // how many files rotation keeps (path, path.1, … path.N-1)
};

// Emits each entry; `emit` returns false to stop (the client went away). With follow, once
// the files are read, waits for more until `finished()` returns true, then reads what is left.
absl::Status ReadJsonLog(const std::string& path, const LogReadOptions& options,
                         const std::function<bool(const LogEntry&)>& emit, const std::function<bool()>& finished);

// Docker's --since/--until value: a unix time "1700000000[.123456789]", an RFC 3339 time, or a
// duration back from now ("10m", "1h30m").
absl::StatusOr<absl::Time> ParseLogTime(const std::string& text, absl::Time now);

// jsonmessage.RFC3339NanoFixed: nine fractional digits.
std::string FormatLogTime(absl::Time time);

}  // namespace liman::engine
