// Go's text/template, as docker's --format uses it, over JSON values: field chains (".A.B"),
// variables ("$", "$name :=", "range $k, $v :="), pipelines ("|") and parenthesised ones,
// if/else if/else, range (arrays, and objects in key order) with else, with, comments, the
// "{{- " / " -}}" trim markers, Go's built-in functions (and, or, not, eq…ge, len, index,
// slice, print, printf, println) and docker's (json, join, split, upper, lower, title, pad,
// truncate). A JSON object behaves as a Go map: a missing key prints "<no value>".
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::cli {

class GoTemplate {
 public:
  struct Node;  // the parse tree (go_template.cc)

  // kInvalidArgument names what is wrong: "template parsing error: …". A leading "table" word
  // marks a table template (docker's formatter); "\t" and "\n" become a tab and a newline.
  static absl::StatusOr<GoTemplate> Parse(std::string_view text);
  // `dot` is the template's dot; kInvalidArgument for what Go fails to execute (a wrong number
  // of arguments, range over a string, an argument given to a non-function…).
  absl::StatusOr<std::string> Render(const nlohmann::json& dot) const;
  // "table ..." templates print a header row and go through the tabwriter.
  bool is_table() const { return table_; }
  // The header row of a table template: each top-level action's last field name looked up in
  // `headers` (e.g. "ID" -> "CONTAINER ID"), or upper-cased; literal text stays.
  std::string Header(const std::map<std::string, std::string>& headers) const;

 private:
  bool table_ = false;
  std::shared_ptr<const Node> root_;
};

// Go's fmt printing of a JSON value as templates print it: strings bare, whole numbers
// without a fraction, arrays "[a b]", objects "map[k:v]", null "<nil>".
std::string GoPrint(const nlohmann::json& value);

}  // namespace liman::cli
