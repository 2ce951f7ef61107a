// Process-wide logging in runc's two formats: text (`time="…" level=error msg="…"`) and JSON
// (`{"level":"error","msg":"…","time":"…"}`), the latter being what containerd's shims parse from
// a runtime's --log file to explain a failure.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/fmt_absl.h"

namespace liman {

enum class LogLevel { kDebug = 0, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

struct LogConfig {
  std::string path;  // empty: stderr
  LogFormat format = LogFormat::kText;
  LogLevel level = LogLevel::kWarn;
};

// Opens the sink (append); on failure logging falls back to stderr and the error is returned.
absl::Status ConfigureLogging(const LogConfig& config);
bool LogEnabled(LogLevel level);
void LogMessage(LogLevel level, std::string_view message);

template <typename... Args>
void LogDebug(fmt::format_string<Args...> format, Args&&... args) {
  if (LogEnabled(LogLevel::kDebug)) LogMessage(LogLevel::kDebug, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void LogInfo(fmt::format_string<Args...> format, Args&&... args) {
  if (LogEnabled(LogLevel::kInfo)) LogMessage(LogLevel::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void LogWarn(fmt::format_string<Args...> format, Args&&... args) {
  if (LogEnabled(LogLevel::kWarn)) LogMessage(LogLevel::kWarn, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void LogError(fmt::format_string<Args...> format, Args&&... args) {
  LogMessage(LogLevel::kError, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace liman
