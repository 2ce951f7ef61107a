// What the shim keeps in the bundle directory beyond the runtime's own files: exit records that
// outlive the shim (so `liman-shim delete` after a crash, and a Wait racing a shim restart, still
// report the true exit status), and the pid files the runtime writes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liman::shim {

// The file name the init's record uses; an exec may not take it (see ValidateExecId).
inline constexpr std::string_view kInitRecordName = "init";

struct ExitRecord {
  std::string exec_id;  // empty for the container's init
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  absl::Time exited_at;
};

// Exec ids become file names: containerd's identifier rules (letters and digits, joined by
// single '.', '_' or '-'; at most 76 characters), and not "init". InvalidArgument otherwise.
absl::Status ValidateExecId(std::string_view exec_id);

// <bundle>/exits/<exec_id>.json, or <bundle>/exits/init.json for the init (empty exec_id).
absl::StatusOr<std::string> ExitRecordPath(const std::string& bundle, std::string_view exec_id);

// Writes the record durably (temporary file, fsync, rename, fsync of the directory): once this
// returns, a crash of the shim or of the machine cannot lose the exit status.
absl::Status WriteExitRecord(const std::string& bundle, const ExitRecord& record);

// The record for `exec_id` (empty: init); nullopt when none was written. A record that exists
// but cannot be parsed is an error naming its path.
absl::StatusOr<std::optional<ExitRecord>> ReadExitRecord(const std::string& bundle, std::string_view exec_id);

// A pid file as runtimes write it: decimal digits, optionally one trailing newline, nothing else;
// errors name the path (`pid file "/b/init.pid": invalid content "12a"`).
absl::StatusOr<pid_t> ReadPidFile(const std::string& path);

}  // namespace liman::shim
