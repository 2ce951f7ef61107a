// Quoted literals of the filter language: Go string syntax with ", and for regexps also / and |
// as the quote character (containerd's filters/quote.go), so `~=/a"b/` needs no escaping.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

namespace liman::containerd::filters {

inline bool IsQuoteChar(char c) { return c == '"' || c == '/' || c == '|'; }

struct QuotedLiteral {
  std::string value;  // decoded
  size_t end = 0;     // index just past the closing quote
};

// A syntax error inside a literal, worded as containerd's scanner words it.
struct QuotedError {
  std::string message;
};

// Decodes the literal that starts with the quote character at input[start].
std::variant<QuotedLiteral, QuotedError> ScanQuoted(std::string_view input, size_t start);

}  // namespace liman::containerd::filters
