#include "containerd/content/label_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::containerd::content {

absl::StatusOr<Labels> ReadLabelFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return Labels();
    return text.status();
  }
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return absl::DataLossError(fmt::format("labels {}: not a JSON object", Quote(path)));
  Labels labels;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string())
      return absl::DataLossError(fmt::format("labels {}: value of {} is not a string", Quote(path), Quote(key)));
    labels.emplace(key, value.get<std::string>());
  }
  return labels;
}

absl::Status WriteLabelFile(const std::string& path, const Labels& labels, absl::Time updated_at) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : labels) json[key] = value;
  // Labels come from API callers: replace invalid UTF-8 rather than throw.
  std::string text = json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  LIMAN_RETURN_IF_ERROR(WriteFileAtomic(path, text, 0644));
  timespec times[2] = {{.tv_sec = 0, .tv_nsec = UTIME_OMIT}, absl::ToTimespec(updated_at)};
  if (utimensat(AT_FDCWD, path.c_str(), times, 0) != 0)
    return ErrnoError(fmt::format("set times of {}", Quote(path)));
  return absl::OkStatus();
}

absl::Status RemoveLabelFile(const std::string& path) {
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError(fmt::format("remove {}", Quote(path)));
  return absl::OkStatus();
}

}  // namespace liman::containerd::content
