#include "shim/stdio_uri.h"

#include <cctype>
#include <optional>

#include "common/status.h"
#include "fmt/format.h"

namespace liman::shim {
namespace {

constexpr std::pair<std::string_view, StdioScheme> kSchemes[] = {
    {"fifo", StdioScheme::kFifo},
    {"file", StdioScheme::kFile},
    {"binary", StdioScheme::kBinary},
    {"json-file", StdioScheme::kJsonFile},
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX escapes; with `plus_is_space` also '+' as in a query (Go's url.QueryUnescape).
std::optional<std::string> Unescape(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int high = HexValue(text[i + 1]);
      int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// A URI scheme per RFC 3986: a letter, then letters, digits, '+', '-' or '.'.
bool IsScheme(std::string_view text) {
  if (text.empty() || !std::isalpha(static_cast<unsigned char>(text[0]))) return false;
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

}  // namespace

const std::string* StdioUri::Param(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return &v;
  return nullptr;
}

std::string_view StdioSchemeName(StdioScheme scheme) {
  for (const auto& [name, value] : kSchemes)
    if (value == scheme) return name;
  return "";
}

absl::StatusOr<StdioUri> ParseStdioUri(std::string_view text) {
  StdioUri uri;
  if (text.empty()) return uri;
  auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("stdio URI {}: {}", Quote(text), why));
  };

  // No "scheme:" prefix: a FIFO path, used verbatim (containerd opens the string itself, not the
  // parsed URL's path, so '?' or '%' in it mean nothing).
  size_t colon = text.find(':');
  size_t slash = text.find('/');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && slash < colon) ||
      !IsScheme(text.substr(0, colon))) {
    uri.scheme = StdioScheme::kFifo;
    uri.path = std::string(text);
    return uri;
  }

  std::string scheme_name(text.substr(0, colon));
  for (char& c : scheme_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool known = false;
  for (const auto& [name, value] : kSchemes) {
    if (name == scheme_name) {
      uri.scheme = value;
      known = true;
    }
  }
  if (!known) return invalid(fmt::format("unknown scheme {}", Quote(scheme_name)));

  std::string_view rest = text.substr(colon + 1);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  std::string_view raw_query;
  if (size_t question = rest.find('?'); question != std::string_view::npos) {
    raw_query = rest.substr(question + 1);
    rest = rest.substr(0, question);
  }
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    size_t path_start = rest.find('/');
    std::string_view host = rest.substr(0, path_start);
    // containerd uses only the URL's path: "binary://logger" would start "" as the logger.
    if (!host.empty())
      return invalid(fmt::format("has host {}; want {}:///absolute/path", Quote(host), scheme_name));
    rest = path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  }
  std::optional<std::string> path = Unescape(rest, /*plus_is_space=*/false);
  if (!path) return invalid("bad %-escape in path");
  if (path->empty() || (*path)[0] != '/') return invalid("path is not absolute");
  uri.path = std::move(*path);

  // Go's url.ParseQuery: '&'-separated, "key=value" split at the first '=', a bare key has an
  // empty value, empty pieces are skipped.
  while (!raw_query.empty()) {
    size_t amp = raw_query.find('&');
    std::string_view piece = raw_query.substr(0, amp);
    raw_query = amp == std::string_view::npos ? std::string_view() : raw_query.substr(amp + 1);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::optional<std::string> key = Unescape(piece.substr(0, eq), /*plus_is_space=*/true);
    std::optional<std::string> value =
        Unescape(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), /*plus_is_space=*/true);
    if (!key || !value) return invalid(fmt::format("bad %-escape in query parameter {}", Quote(piece)));
    uri.query.emplace_back(std::move(*key), std::move(*value));
  }
  return uri;
}

}  // namespace liman::shim
