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

// A status prints as its message ("open \"/x\": no such file or directory"): the code is for
// callers, the words are for people.
#include "absl/status/status.h"
template <>
struct fmt::formatter<absl::Status> : fmt::formatter<std::string_view> {
  auto format(const absl::Status& status, fmt::format_context& context) const {
    absl::string_view message = status.message();
    return fmt::formatter<std::string_view>::format(std::string_view(message.data(), message.size()), context);
  }
};
