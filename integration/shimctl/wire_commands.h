// Commands below the Task API, for robustness tests and for `liman-shim delete`'s output:
//   raw SERVICE METHOD HEXPAYLOAD  any ttrpc call with an arbitrary payload
//   send-bytes FILE                FILE's bytes as they are on a new connection; reports the
//                                  frames that came back and whether the shim closed the connection
//   decode-delete                  a binary containerd.task.v2.DeleteResponse on stdin, as JSON
#pragma once

#include <vector>

#include "integration/shimctl/cli.h"

namespace liman::shimctl {

std::vector<Command> WireCommands();

}  // namespace liman::shimctl
