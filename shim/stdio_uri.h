// The strings containerd hands a shim for a process's stdin, stdout and stderr
// (CreateTaskRequest/ExecProcessRequest), parsed the way containerd's runc shim reads them with
// Go's url.Parse (pkg/process/io.go): "" is nothing, a plain path is a FIFO the manager made, and
// a URI names a file, a logging binary or (Liman's own scheme) a Docker json-file log.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::shim {

enum class StdioScheme {
  kNone,      // "": the process gets /dev/null
  kFifo,      // "/run/…/fifo" or "fifo:///run/…/fifo"
  kFile,      // "file:///abs/path": raw bytes appended
  kBinary,    // "binary:///abs/logger?key=value": containerd's logging binary protocol
  kJsonFile,  // "json-file:///abs/path?max-size=10m&max-file=3": Docker's json-file format
};

struct StdioUri {
  StdioScheme scheme = StdioScheme::kNone;
  // Absolute and percent-decoded for URIs; a plain FIFO path is kept exactly as given.
  std::string path;
  // Query parameters in the order given, decoded as Go's url.ParseQuery does ('+' is a space).
  std::vector<std::pair<std::string, std::string>> query;

  // The first value given for `key`, or nullptr.
  const std::string* Param(std::string_view key) const;
};

// InvalidArgument for an unknown scheme, a host part ("binary://logger"), a relative path or a
// bad %-escape; the message quotes the whole string.
absl::StatusOr<StdioUri> ParseStdioUri(std::string_view text);

// "fifo", "file", "binary", "json-file"; "" for kNone.
std::string_view StdioSchemeName(StdioScheme scheme);

}  // namespace liman::shim
