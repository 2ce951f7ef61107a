// containerd's filter language (github.com/containerd/containerd/filters), the one every list
// call of its API takes: `ctr images ls 'name~=^docker.io/,labels."com.example/tier"==web'`.
//
//   filter    := selector (',' selector)*          all selectors must match
//   selector  := fieldpath [operator value]         no operator: the field is present
//   fieldpath := field ('.' field)*
//   field     := [A-Za-z0-9_]+ | "quoted"
//   operator  := '==' | '!=' | '~='                 ~= is an RE2 (Go regexp) search
//   value     := "quoted" | run of printable characters other than ',' and space
//                (after ~= also /quoted/ and |quoted|, so regexps need no double escaping)
//
// Quoted strings use Go's escapes (\n, \", \\, \x41, \u00e9…). Several filter strings are OR-ed.
// Whitespace is tolerated between tokens (containerd accepts it only in some places).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace liman::containerd::filters {

// Resolves a field path of the object being matched, e.g. {"labels","a.b"} or {"name"};
// std::nullopt when the field is absent.
using Adaptor = std::function<std::optional<std::string>(const std::vector<std::string>& fieldpath)>;

enum class Operator {
  kPresent,   // `field`
  kEqual,     // `field==value`: present and equal
  kNotEqual,  // `field!=value`: an absent field counts as ""
  kMatches,   // `field~=regexp`: an absent field counts as ""
};

// One `<fieldpath>[<operator><value>]` term.
struct Selector {
  std::vector<std::string> fieldpath;
  Operator op = Operator::kPresent;
  std::string value;
  std::shared_ptr<const re2::RE2> regexp;  // compiled `value` for kMatches

  bool Match(const Adaptor& adaptor) const;
};

class Filter {
 public:
  // Matches everything.
  Filter() = default;
  // Matches when all selectors of any one of `any_of` match; an empty conjunction matches all.
  explicit Filter(std::vector<std::vector<Selector>> any_of) : any_of_(std::move(any_of)) {}

  bool Match(const Adaptor& adaptor) const;  // an empty Filter matches everything
  bool MatchesEverything() const;
  const std::vector<std::vector<Selector>>& any_of() const { return any_of_; }

 private:
  std::vector<std::vector<Selector>> any_of_;
};

// containerd's syntax: each string is a conjunction of selectors joined by ',' (field, field==v,
// field!=v, field~=regexp; field paths dotted, segments and values may be "quoted");
// several strings are OR-ed. No strings, or an empty one, match everything.
// kInvalidArgument with the position on a syntax error, worded as containerd words it:
//   filters: parse error: [labels. >|?|< foo]: expected field or quoted
// An invalid regexp is an error here too (containerd parses it and then matches nothing).
absl::StatusOr<Filter> Parse(const std::vector<std::string>& filters);

// For adaptors: the entry of a string map (labels, annotations) named by the rest of a field
// path. Like containerd, the segments are joined with '.', so labels.a.b and labels."a.b" both
// name the label "a.b"; std::nullopt for an absent key or an empty rest.
std::optional<std::string> MapField(const std::map<std::string, std::string>& map,
                                    std::span<const std::string> rest);

}  // namespace liman::containerd::filters
