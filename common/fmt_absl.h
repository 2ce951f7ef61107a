// fmt support for abseil types.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"
#include "fmt/format.h"

// Debian's abseil has its own string_view type (not std::string_view): teach fmt to print it,
// so status.message() can go straight into a format string.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view text, fmt::format_context& context) const {
    return fmt::formatter<std::string_view>::format(std::string_view(text.data(), text.size()), context);
  }
};
