#include "integration/shimctl/signal_names.h"

#include <signal.h>
#include <string.h>

#include <cctype>
#include <string>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::shimctl {

absl::StatusOr<int> ParseSignal(std::string_view text) {
  int number = 0;
  if (absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &number)) {
    if (number < 1 || number > SIGRTMAX) return absl::InvalidArgumentError(fmt::format("invalid signal {}", Quote(text)));
    return number;
  }
  std::string name;
  for (char c : text) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.compare(0, 3, "SIG") == 0) name.erase(0, 3);
  // sigabbrev_np(3) (glibc 2.32) names every standard signal without its SIG prefix.
  for (int signal = 1; signal < SIGRTMIN; ++signal) {
    const char* abbrev = sigabbrev_np(signal);
    if (abbrev != nullptr && name == abbrev) return signal;
  }
  return absl::InvalidArgumentError(fmt::format("invalid signal {}", Quote(text)));
}

}  // namespace liman::shimctl
