// Splitting text into views of itself: /proc files, cgroup files, /etc/passwd.
// Debian's abseil has its own string_view, so absl::StrSplit does not mix with std::string_view.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace liman {

// `text` cut at each `separator`, empty pieces kept, at most `max_parts` pieces (the last one
// keeps the rest).
std::vector<std::string_view> SplitView(std::string_view text, char separator, size_t max_parts = SIZE_MAX);

// Whitespace-separated (space, tab) fields, without empty ones.
std::vector<std::string_view> SplitFields(std::string_view text);

// The lines of `text`, without empty ones.
std::vector<std::string_view> SplitLines(std::string_view text);

}  // namespace liman
