// The user's terminal as a CLI attached to a container's terminal sees it: raw mode while
// attached (so ^C, ^D and every key go to the container, not to our line discipline) and the
// window size to give the container's pty.
#pragma once

#include <termios.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"

namespace liman {

// Our terminal (stdin) in raw mode while it lives (cfmakeraw(3)); a no-op when stdin is no tty.
class RawTerminal {
 public:
  static absl::StatusOr<std::unique_ptr<RawTerminal>> Enter();
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  // The window size of our terminal, if stdin (or stdout) is one.
  static std::optional<std::pair<unsigned, unsigned>> Size();  // {width, height}

 private:
  RawTerminal() = default;
  bool active_ = false;
  struct termios saved_ {};
};

}  // namespace liman
