// What the docker CLI prints: Go-template --format strings (the subset docker users write:
// field paths, json, join, index, upper, lower, the `table` prefix), its tables (Go's tabwriter
// with docker's settings) and its wordings of times.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::cli {

// A parsed --format template: "{{.State.Pid}}", "{{json .Config}}", "table {{.ID}}\t{{.Names}}".
class GoTemplate {
 public:
  // kInvalidArgument names the template and what is wrong with it.
  static absl::StatusOr<GoTemplate> Parse(std::string_view text);
  // `value` is the template's dot. A missing field prints "<no value>", as Go's maps do.
  absl::StatusOr<std::string> Render(const nlohmann::json& value) const;
  // "table ..." templates print a header row and go through the tabwriter.
  bool is_table() const { return table_; }
  // The header row of a table template: each action's field name looked up in `headers`
  // (e.g. "ID" -> "CONTAINER ID"), or upper-cased; literal text stays.
  std::string Header(const std::map<std::string, std::string>& headers) const;

  struct Node {
    bool is_action = false;
    std::string text;                // literal text, or the action's source
    std::vector<std::string> words;  // an action's words: function name, arguments
  };

 private:
  bool table_ = false;
  std::vector<Node> nodes_;
};

// Renders `rows` with `format` like docker's formatter: "" or "table" (the default table
// `default_table`), "json" (one JSON object per line), "table TEMPLATE" or a plain TEMPLATE.
absl::StatusOr<std::string> FormatRows(const std::string& format, const std::string& default_table,
                                       const std::vector<nlohmann::json>& rows,
                                       const std::map<std::string, std::string>& headers);

// Go's fmt printing of a JSON value as templates print it: strings bare, whole numbers
// without a fraction, arrays "[a b]", objects "map[k:v]", null "<nil>".
std::string GoPrint(const nlohmann::json& value);

// docker's TableWriter: tabwriter with minwidth 10, tabwidth 1, padding 3, spaces.
std::string Tabulate(std::string_view text);

// An RFC 3339 time ("2026-12-03T10:00:00.123456789Z") as Unix seconds; 0 when unparseable.
double ParseTimestamp(const std::string& text);
// "3 minutes ago" (go-units HumanDuration + " ago") for a Unix time.
std::string Ago(double unix_seconds);
// docker's stringutils.Ellipsis: at most `max` code points, the last one '…' when cut.
std::string Ellipsis(std::string_view text, size_t max);
// Go's strconv.Quote for the text docker ps shows (ASCII printable kept, \" \\ escaped).
std::string GoQuote(std::string_view text);

}  // namespace liman::cli
