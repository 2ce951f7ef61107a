#include "common/pipe.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/status.h"
#include "fmt/format.h"

namespace liman {

absl::StatusOr<Pipe> MakePipe(std::string_view what) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(fmt::format("pipe2 ({})", what));
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace liman
