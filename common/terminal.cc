#include "common/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include "common/status.h"

namespace liman {

absl::StatusOr<std::unique_ptr<RawTerminal>> RawTerminal::Enter() {
  std::unique_ptr<RawTerminal> raw(new RawTerminal());
  if (!isatty(STDIN_FILENO)) return raw;
  if (tcgetattr(STDIN_FILENO, &raw->saved_) != 0) return ErrnoError("tcgetattr stdin");
  struct termios mode = raw->saved_;
  cfmakeraw(&mode);
  if (tcsetattr(STDIN_FILENO, TCSANOW, &mode) != 0) return ErrnoError("tcsetattr stdin");
  raw->active_ = true;
  return raw;
}

RawTerminal::~RawTerminal() {
  if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
}

std::optional<std::pair<unsigned, unsigned>> RawTerminal::Size() {
  struct winsize size;
  for (int fd : {STDIN_FILENO, STDOUT_FILENO})
    if (ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
      return std::pair<unsigned, unsigned>{size.ws_col, size.ws_row};
  return std::nullopt;
}

}  // namespace liman
