#include "containerd/metadata/codec.h"

#include <nlohmann/json.hpp>

#include "common/fmt_absl.h"

namespace liman::containerd::metadata {

std::string EncodeLabels(const Labels& labels) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : labels) object[key] = value;
  // Labels are arbitrary bytes in containerd; replace invalid UTF-8 rather than throw.
  return object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::StatusOr<Labels> DecodeLabels(std::string_view json) {
  nlohmann::json object = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return absl::DataLossError(fmt::format("labels column is not a JSON object: {}", json));
  Labels labels;
  for (const auto& [key, value] : object.items()) {
    if (!value.is_string()) return absl::DataLossError(fmt::format("label {} is not a string", key));
    labels.emplace(key, value.get<std::string>());
  }
  return labels;
}

std::optional<absl::Time> ParseRfc3339(std::string_view text) {
  absl::Time time;
  std::string error;
  // %Ez takes "Z" as well as "+hh:mm"; %E*S takes optional fractional seconds.
  if (!absl::ParseTime(absl::RFC3339_full, absl::string_view(text.data(), text.size()), &time, &error))
    return std::nullopt;
  return time;
}

}  // namespace liman::containerd::metadata
