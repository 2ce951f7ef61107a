// ASCII case folding for protocol text (HTTP header names, registry hosts, DNS names, runtime
// messages): locale-independent, as those protocols compare.
#pragma once

#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace liman {

inline std::string AsciiLower(std::string_view text) {
  return absl::AsciiStrToLower(absl::string_view(text.data(), text.size()));
}

}  // namespace liman
