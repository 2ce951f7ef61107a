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

namespace {

// Splits an action into words; double-quoted strings are one word (kept with their quotes).
absl::StatusOr<std::vector<std::string>> SplitAction(std::string_view action) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < action.size()) {
    if (std::isspace(static_cast<unsigned char>(action[i]))) {
      ++i;
      continue;
    }
    size_t start = i;
    if (action[i] == '"') {
      for (++i; i < action.size() && action[i] != '"'; ++i)
        if (action[i] == '\\') ++i;
      if (i >= action.size()) return absl::InvalidArgumentError(fmt::format("unterminated string in {{{{{}}}}}", action));
      ++i;
    } else {
      while (i < action.size() && !std::isspace(static_cast<unsigned char>(action[i]))) ++i;
    }
    words.emplace_back(action.substr(start, i - start));
  }
  return words;
}

std::string Unquote(const std::string& word) {
  std::string out;
  for (size_t i = 1; i + 1 < word.size(); ++i) {
    if (word[i] == '\\' && i + 2 < word.size()) {
      char c = word[++i];
      out.push_back(c == 'n' ? '\n' : c == 't' ? '\t' : c);
    } else {
      out.push_back(word[i]);
    }
  }
  return out;
}

// A field path (".", ".A", ".A.B") on `dot`; missing fields are null, with `missing` set.
json Lookup(const json& dot, const std::string& path, bool* missing) {
  if (path == ".") return dot;
  const json* at = &dot;
  size_t i = 1;
  while (i <= path.size()) {
    size_t end = path.find('.', i);
    if (end == std::string::npos) end = path.size();
    std::string key = path.substr(i, end - i);
    if (!at->is_object() || !at->contains(key)) {
      *missing = true;
      return nullptr;
    }
    at = &(*at)[key];
    i = end + 1;
  }
  return *at;
}

std::string LowerOrUpper(std::string text, bool upper) {
  for (char& c : text) c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::string GoPrint(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::string: return value.get<std::string>();
    case json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(value.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(value.get<uint64_t>());
    case json::value_t::number_float: {
      double d = value.get<double>();
      if (std::floor(d) == d && std::fabs(d) < 1e15) return fmt::format("{}", static_cast<int64_t>(d));
      return fmt::format("{}", d);
    }
    case json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) out += (i ? " " : "") + GoPrint(value[i]);
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [key, item] : value.items()) {  // nlohmann's object keeps keys sorted, as Go prints maps
        out += (first ? "" : " ") + key + ":" + GoPrint(item);
        first = false;
      }
      return out + "]";
    }
    default: return value.dump();
  }
}

absl::StatusOr<GoTemplate> GoTemplate::Parse(std::string_view text) {
  GoTemplate parsed;
  if (text.rfind("table", 0) == 0 && (text.size() == 5 || std::isspace(static_cast<unsigned char>(text[5])))) {
    parsed.table_ = true;
    text.remove_prefix(std::min<size_t>(6, text.size()));
  }
  // Docker's formatter turns the two characters "\t" and "\n" into a tab and a newline.
  std::string source;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 't' || text[i + 1] == 'n')) {
      source.push_back(text[i + 1] == 't' ? '\t' : '\n');
      ++i;
    } else {
      source.push_back(text[i]);
    }
  }
  size_t i = 0;
  while (i < source.size()) {
    size_t open = source.find("{{", i);
    if (open == std::string::npos) {
      parsed.nodes_.push_back({false, source.substr(i), {}});
      break;
    }
    if (open > i) parsed.nodes_.push_back({false, source.substr(i, open - i), {}});
    size_t close = source.find("}}", open + 2);
    if (close == std::string::npos)
      return absl::InvalidArgumentError(fmt::format("template parsing error: unclosed action in {:?}", std::string(text)));
    std::string action = source.substr(open + 2, close - open - 2);
    if (!action.empty() && action.front() == '-') action.erase(0, 1);
    if (!action.empty() && action.back() == '-') action.pop_back();
    absl::StatusOr<std::vector<std::string>> words = SplitAction(action);
    if (!words.ok()) return absl::InvalidArgumentError(fmt::format("template parsing error: {}", words.status().message()));
    if (words->empty()) return absl::InvalidArgumentError("template parsing error: missing value for command");
    static const std::vector<std::string> kFunctions = {"json", "join", "index", "upper", "lower", "title", "println"};
    const std::string& first = words->front();
    if (first[0] != '.' && first[0] != '"' &&
        std::find(kFunctions.begin(), kFunctions.end(), first) == kFunctions.end())
      return absl::InvalidArgumentError(
          fmt::format("template parsing error: template: :1: function {:?} not defined", first));
    parsed.nodes_.push_back({true, action, *std::move(words)});
    i = close + 2;
  }
  return parsed;
}

absl::StatusOr<std::string> GoTemplate::Render(const json& dot) const {
  std::string out;
  for (const Node& node : nodes_) {
    if (!node.is_action) {
      out += node.text;
      continue;
    }
    bool missing = false;
    auto argument = [&](size_t i) -> json {
      const std::string& word = node.words[i];
      if (word[0] == '"') return Unquote(word);
      return Lookup(dot, word, &missing);
    };
    const std::string& function = node.words[0];
    size_t arity = node.words.size() - 1;
    auto need = [&](size_t count) -> absl::Status {
      if (arity == count) return absl::OkStatus();
      return absl::InvalidArgumentError(
          fmt::format("template: :1: wrong number of args for {}: want {} got {}", function, count, arity));
    };
    if (function[0] == '.' || function[0] == '"') {
      json value = argument(0);
      out += missing ? "<no value>" : GoPrint(value);
    } else if (function == "json") {
      LIMAN_RETURN_IF_ERROR(need(1));
      out += argument(1).dump();
    } else if (function == "join") {
      LIMAN_RETURN_IF_ERROR(need(2));
      json list = argument(1);
      std::string separator = GoPrint(argument(2));
      if (list.is_array())
        for (size_t i = 0; i < list.size(); ++i) out += (i ? separator : "") + GoPrint(list[i]);
    } else if (function == "index") {
      LIMAN_RETURN_IF_ERROR(need(2));
      json container = argument(1), key = argument(2);
      if (container.is_object() && key.is_string() && container.contains(key.get<std::string>()))
        out += GoPrint(container[key.get<std::string>()]);
      else if (container.is_array() && key.is_number_integer() && key.get<size_t>() < container.size())
        out += GoPrint(container[key.get<size_t>()]);
      else
        out += "<no value>";
    } else if (function == "upper" || function == "lower") {
      LIMAN_RETURN_IF_ERROR(need(1));
      out += LowerOrUpper(GoPrint(argument(1)), function == "upper");
    } else if (function == "title") {
      LIMAN_RETURN_IF_ERROR(need(1));
      std::string text = GoPrint(argument(1));
      if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
      out += text;
    } else if (function == "println") {
      for (size_t i = 1; i <= arity; ++i) out += (i > 1 ? " " : "") + GoPrint(argument(i));
      out += "\n";
    }
  }
  return out;
}

std::string GoTemplate::Header(const std::map<std::string, std::string>& headers) const {
  std::string out;
  for (const Node& node : nodes_) {
    if (!node.is_action) {
      out += node.text;
      continue;
    }
    // The field the action shows: ".Names" or "json .Names" -> "Names".
    std::string field;
    for (const std::string& word : node.words)
      if (word[0] == '.') field = word.substr(word.rfind('.') + 1);
    auto it = headers.find(field);
    out += it != headers.end() ? it->second : LowerOrUpper(field, true);
  }
  return out;
}

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
