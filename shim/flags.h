// The shim's command line, containerd's shim v2 convention (runtime/v2/shim/shim.go): Go `flag`
// style single-dash options, then the action:
//   liman-shim -namespace NS -address SOCK -publish-binary BIN -id ID [-bundle DIR] [-debug] start
//   liman-shim -namespace NS -address SOCK -publish-binary BIN -id ID -bundle DIR delete
// With no action the process is the long-lived server itself (containerd never runs it that way;
// `start` forks it).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::shim {

struct ShimFlags {
  std::string namespace_name;
  std::string id;
  std::string address;         // the manager's gRPC socket; shim sockets go beside it
  std::string publish_binary;  // containerd's; unused: events go over ttrpc to $TTRPC_ADDRESS
  std::string bundle;          // default: the working directory
  std::string socket_dir;      // default: dirname(address)/s
  bool debug = false;
  bool version = false;
  std::string action;          // "start", "delete" or empty
};

absl::StatusOr<ShimFlags> ParseShimFlags(const std::vector<std::string>& args);

// Where this shim's socket lives: <socket_dir>/<sha256(address/namespace/id)>, so a second
// `start` for the same container finds the first shim, and a path stays under 108 bytes.
std::string ShimSocketPath(const ShimFlags& flags);

}  // namespace liman::shim
