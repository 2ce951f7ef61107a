// A pipe(2) as two owned descriptors, both close-on-exec: a child gets an end only by having it
// dup2()ed to a chosen number.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace liman {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// `what` names the pipe in the error: `pipe2 (logger stdout): too many open files`.
absl::StatusOr<Pipe> MakePipe(std::string_view what);

}  // namespace liman
