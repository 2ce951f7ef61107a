// Matching a parsed filter against an object through its adaptor (containerd's filters/filter.go).
#include <re2/re2.h>

#include "absl/strings/str_join.h"
#include "containerd/filters/filters.h"

namespace liman::containerd::filters {

bool Selector::Match(const Adaptor& adaptor) const {
  std::optional<std::string> field = adaptor(fieldpath);
  switch (op) {
    case Operator::kPresent:
      return field.has_value();
    case Operator::kEqual:
      return field.has_value() && *field == value;
    case Operator::kNotEqual:
      // containerd compares the absent field as "": `labels.x!=y` selects objects without x.
      return field.value_or("") != value;
    case Operator::kMatches:
      return regexp != nullptr && RE2::PartialMatch(field.value_or(""), *regexp);
  }
  return false;
}

bool Filter::Match(const Adaptor& adaptor) const {
  if (any_of_.empty()) return true;
  for (const std::vector<Selector>& all_of : any_of_) {
    bool matched = true;
    for (const Selector& selector : all_of) {
      if (!selector.Match(adaptor)) {
        matched = false;
        break;
      }
    }
    if (matched) return true;
  }
  return false;
}

bool Filter::MatchesEverything() const {
  if (any_of_.empty()) return true;
  for (const std::vector<Selector>& all_of : any_of_)
    if (all_of.empty()) return true;
  return false;
}

std::optional<std::string> MapField(const std::map<std::string, std::string>& map,
                                    std::span<const std::string> rest) {
  if (rest.empty()) return std::nullopt;
  auto it = rest.size() == 1 ? map.find(rest.front()) : map.find(absl::StrJoin(rest, "."));
  if (it == map.end()) return std::nullopt;
  return it->second;
}

}  // namespace liman::containerd::filters
