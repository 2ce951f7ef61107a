#include "common/logging.h"

#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <ctime>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "nlohmann/json.hpp"

namespace liman {
namespace {

struct LogState {
  int fd = STDERR_FILENO;
  LogFormat format = LogFormat::kText;
  LogLevel level = LogLevel::kWarn;
};

LogState& State() {
  static LogState state;
  return state;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

std::string Rfc3339Now() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  tm utc;
  gmtime_r(&tv.tv_sec, &utc);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  snprintf(buf + n, sizeof buf - n, ".%06ldZ", static_cast<long>(tv.tv_usec));
  return buf;
}

}  // namespace

absl::Status ConfigureLogging(const LogConfig& config) {
  LogState& state = State();
  state.format = config.format;
  state.level = config.level;
  if (config.path.empty()) return absl::OkStatus();
  int fd = open(config.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoError(absl::StrCat("open log file ", Quote(config.path)));
  if (state.fd != STDERR_FILENO) close(state.fd);
  state.fd = fd;
  return absl::OkStatus();
}

bool LogEnabled(LogLevel level) { return level >= State().level; }

void LogMessage(LogLevel level, std::string_view message) {
  LogState& state = State();
  std::string line;
  if (state.format == LogFormat::kJson) {
    nlohmann::json entry = {{"level", LevelName(level)}, {"msg", std::string(message)}, {"time", Rfc3339Now()}};
    line = entry.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    line = absl::StrCat("time=\"", Rfc3339Now(), "\" level=", LevelName(level), " msg=",
                        Quote(message), "\n");
  }
  ssize_t ignored = write(state.fd, line.data(), line.size());
  (void)ignored;
}

}  // namespace liman
