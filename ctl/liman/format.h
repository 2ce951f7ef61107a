// What the docker CLI prints: --format strings (Go templates, go_template.h, with docker's
// `table` and `json` forms), its tables (Go's tabwriter with docker's settings) and its
// wordings of times.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "ctl/liman/go_template.h"
#include "nlohmann/json.hpp"

namespace liman::cli {

// Renders `rows` with `format` like docker's formatter: "" or "table" (the default table
// `default_table`), "json" (one JSON object per line), "table TEMPLATE" or a plain TEMPLATE.
absl::StatusOr<std::string> FormatRows(const std::string& format, const std::string& default_table,
                                       const std::vector<nlohmann::json>& rows,
                                       const std::map<std::string, std::string>& headers);

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
