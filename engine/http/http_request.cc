#include "engine/http/http_request.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine::http {

std::string HttpRequest::Header(std::string_view name) const {
  auto found = headers.find(absl::AsciiStrToLower(std::string(name)));
  return found == headers.end() ? std::string() : found->second;
}

std::optional<std::string> HttpRequest::Query(std::string_view key) const {
  for (const auto& [name, value] : query)
    if (name == key) return value;
  return std::nullopt;
}

std::vector<std::string> HttpRequest::QueryAll(std::string_view key) const {
  std::vector<std::string> values;
  for (const auto& [name, value] : query)
    if (name == key) values.push_back(value);
  return values;
}

bool HttpRequest::QueryBool(std::string_view key) const {
  std::optional<std::string> value = Query(key);
  if (!value) return false;
  std::string lower = absl::AsciiStrToLower(*value);
  return !(lower.empty() || lower == "0" || lower == "no" || lower == "false" || lower == "none");
}

absl::StatusOr<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size() || !absl::ascii_isxdigit(text[i + 1]) || !absl::ascii_isxdigit(text[i + 2]))
        return absl::InvalidArgumentError(fmt::format("invalid URL escape {}", Quote(text.substr(i, 3))));
      auto hex = [](char h) { return absl::ascii_isdigit(h) ? h - '0' : absl::ascii_tolower(h) - 'a' + 10; };
      out.push_back(static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), '&', absl::SkipEmpty())) {
    size_t equals = part.find('=');
    std::string_view key(part.data(), std::min(equals, part.size()));
    std::string_view value = equals == absl::string_view::npos ? std::string_view() : std::string_view(part.data() + equals + 1, part.size() - equals - 1);
    absl::StatusOr<std::string> decoded_key = PercentDecode(key, true);
    if (!decoded_key.ok()) return decoded_key.status();
    absl::StatusOr<std::string> decoded_value = PercentDecode(value, true);
    if (!decoded_value.ok()) return decoded_value.status();
    pairs.emplace_back(std::move(*decoded_key), std::move(*decoded_value));
  }
  return pairs;
}

}  // namespace liman::engine::http
