#include "ctl/liman-ctr/signals.h"

#include <signal.h>

#include <charconv>
#include <map>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::ctr {

absl::StatusOr<int> ParseSignal(const std::string& text) {
  int number = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (!text.empty() && error == std::errc() && end == text.data() + text.size()) {
    if (number < 1 || number > 64) return absl::InvalidArgumentError(fmt::format("invalid signal {}", Quote(text)));
    return number;
  }
  static const std::map<std::string, int> names = {
      {"ABRT", SIGABRT}, {"ALRM", SIGALRM}, {"BUS", SIGBUS},       {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
      {"FPE", SIGFPE},   {"HUP", SIGHUP},   {"ILL", SIGILL},       {"INT", SIGINT},   {"IO", SIGIO},
      {"IOT", SIGIOT},   {"KILL", SIGKILL}, {"PIPE", SIGPIPE},     {"POLL", SIGPOLL}, {"PROF", SIGPROF},
      {"PWR", SIGPWR},   {"QUIT", SIGQUIT}, {"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT},
      {"STOP", SIGSTOP}, {"SYS", SIGSYS},   {"TERM", SIGTERM},     {"TRAP", SIGTRAP}, {"TSTP", SIGTSTP},
      {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},       {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
      {"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH}, {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}};
  std::string name = text;
  for (char& c : name) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  if (auto it = names.find(name); it != names.end()) return it->second;
  return absl::InvalidArgumentError(fmt::format("invalid signal {}", Quote(text)));
}

}  // namespace liman::ctr
