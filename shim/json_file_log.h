// Docker's json-file log driver, byte for byte, so that `docker logs` and every tool reading
// /var/lib/docker/containers/*/*-json.log read ours: one JSON object a line,
//   {"log":"hello\n","stream":"stdout","time":"2026-12-02T13:52:03.123456789Z"}
// with the line split and escaping of moby's daemon/logger (copier.go, jsonfilelog) and its
// size-based rotation (loggerutils.LogFile). The shim writes it itself, so that a container's
// output is kept while no manager reads it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "shim/stdio_uri.h"

namespace liman::shim {

enum class LogStream { kStdout = 0, kStderr = 1 };
std::string_view LogStreamName(LogStream stream);  // "stdout", "stderr"

struct JsonFileLogOptions {
  std::string path;
  int64_t max_size = -1;  // bytes a file may reach before rotation; -1: never rotate
  int max_files = 1;      // files kept, the live one included; 1: truncate in place
  std::function<absl::Time()> clock;  // when lines arrive; empty: absl::Now
};

// Docker's size syntax (go-units FromHumanSize): "1024", "10k", "10kb", "1.5m", "1g", decimal
// multiples (k = 1000).
absl::StatusOr<int64_t> ParseByteSize(std::string_view text);

// From "json-file:///path?max-size=10m&max-file=3"; other parameters are refused, as Docker's
// ValidateLogOpt refuses unknown log options.
absl::StatusOr<JsonFileLogOptions> JsonFileLogOptionsFromUri(const StdioUri& uri);

// One log line as Docker writes it, trailing '\n' included. An empty `log` is left out.
std::string FormatJsonLogEntry(std::string_view log, std::string_view stream, absl::Time time);
// `bytes` as a JSON string the way moby's jsonlog encodes []byte: <, >, & and control characters
// as \u00XX, \n and \r short, U+2028/U+2029 escaped, each byte of invalid UTF-8 as \ufffd.
void AppendJsonString(std::string* out, std::string_view bytes);

class JsonFileLog {
 public:
  // Docker's copier buffer: a line longer than this is logged in pieces of this size, each
  // without the trailing newline, and all stamped with the time of the first piece.
  static constexpr size_t kMaxLineSize = 16 * 1024;

  // Creates the parent directories and opens (appends to) the log, mode 0640.
  static absl::StatusOr<std::unique_ptr<JsonFileLog>> Open(JsonFileLogOptions options);

  // Raw output of one stream; complete lines are logged now, the rest waits for its newline.
  // A failed write or rotation loses no later line: the first error is returned.
  absl::Status Write(LogStream stream, std::string_view data);
  // The stream ended: what is left of its last line is logged without a newline.
  absl::Status Flush(LogStream stream);

  int64_t size() const { return size_; }
  const std::string& path() const { return options_.path; }

 private:
  struct StreamState {
    std::string pending;                   // bytes of an unfinished line
    std::optional<absl::Time> partial_time;  // time of the line's first logged piece
  };

  JsonFileLog(JsonFileLogOptions options, UniqueFd fd, int64_t size)
      : options_(std::move(options)), fd_(std::move(fd)), size_(size) {}
  absl::Time Now() const { return options_.clock ? options_.clock() : absl::Now(); }
  // Logs `line` (without its newline); `complete` says whether the newline was seen.
  absl::Status Log(LogStream stream, std::string_view line, bool complete);
  absl::Status Append(std::string_view entry);
  absl::Status Rotate();

  JsonFileLogOptions options_;
  UniqueFd fd_;
  int64_t size_;
  StreamState streams_[2];
};

}  // namespace liman::shim
