#include "ctl/liman/format.h"

#include <cctype>
#include <cmath>
#include <ctime>

#include "absl/time/time.h"
#include "common/status.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

absl::StatusOr<std::string> FormatRows(const std::string& format, const std::string& default_table,
                                       const std::vector<json>& rows, const std::map<std::string, std::string>& headers) {
  if (format == "json") {
    std::string out;
    for (const json& row : rows) out += row.dump() + "\n";
    return out;
  }
  std::string source = format.empty() || format == "table" ? "table " + default_table : format;
  LIMAN_ASSIGN_OR_RETURN(GoTemplate tmpl, GoTemplate::Parse(source));
  std::string text;
  if (tmpl.is_table()) text += tmpl.Header(headers) + "\n";
  for (const json& row : rows) {
    LIMAN_ASSIGN_OR_RETURN(std::string line, tmpl.Render(row));
    text += line + "\n";
  }
  return tmpl.is_table() ? Tabulate(text) : text;
}

std::string Tabulate(std::string_view text) {
  ctr::TabWriter writer(10, 1, 3, ' ');
  writer.Write(text);
  return writer.Flush();
}

double ParseTimestamp(const std::string& text) {
  absl::Time time;
  std::string error;
  if (text.empty() || !absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return 0;
  return absl::ToDoubleSeconds(time - absl::UnixEpoch());
}

std::string Ago(double unix_seconds) {
  double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  return ctr::HumanDuration(std::max(0.0, now - unix_seconds)) + " ago";
}

std::string Ellipsis(std::string_view text, size_t max) {
  // Count code points: continuation bytes are 10xxxxxx.
  std::vector<size_t> starts;
  for (size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  if (starts.size() <= max) return std::string(text);
  if (max == 0) return "";
  return std::string(text.substr(0, starts[max - 1])) + "…";
}

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
        else out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

}  // namespace liman::cli
