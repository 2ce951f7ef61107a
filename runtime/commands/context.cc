#include <signal.h>
#include <unistd.h>

#include <cstring>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/commands/commands.h"
#include "runtime/self_exe.h"

namespace liman::runtime {

void CommandContext::Report(const absl::Status& status) {
  if (status.ok()) return;
  exit_code = 1;
  std::string message(status.message());
  LogError("{}", message);
  if (!log_file.empty()) fmt::print(stderr, "liman-runtime: {}\n", message);
}

absl::Status CommandContext::EnsureSealed() {
  if (RunningFromSealedCopy()) return absl::OkStatus();
  // The state root is the overlay's second layer; if it cannot be made, the memfd copy serves.
  if (absl::Status made = MkdirAll(root, 0711); !made.ok()) LogDebug("{}", made.message());
  return ReexecFromSealedCopy(argv, root);
}

absl::StatusOr<int> ParseSignal(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("empty signal");
  char* end = nullptr;
  long number = strtol(text.c_str(), &end, 10);
  if (*end == '\0') {
    if (number <= 0 || number > SIGRTMAX) return absl::InvalidArgumentError(fmt::format("invalid signal {}", Quote(text)));
    return static_cast<int>(number);
  }
  std::string name = text;
  for (char& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.starts_with("SIG")) name = name.substr(3);
  for (int signal = 1; signal < NSIG; ++signal) {
    const char* abbrev = sigabbrev_np(signal);
    if (abbrev != nullptr && name == abbrev) return signal;
  }
  if (name.starts_with("RTMIN")) {
    int offset = name.size() > 5 ? atoi(name.c_str() + 5) : 0;
    if (SIGRTMIN + offset <= SIGRTMAX) return SIGRTMIN + offset;
  }
  return absl::InvalidArgumentError(fmt::format("unknown signal {}", Quote(text)));
}

absl::StatusOr<std::string> ResolveBundle(const std::string& bundle) {
  char resolved[PATH_MAX];
  const char* path = bundle.empty() ? "." : bundle.c_str();
  if (realpath(path, resolved) == nullptr) return ErrnoError(fmt::format("bundle {}", Quote(path)));
  return std::string(resolved);
}

}  // namespace liman::runtime
