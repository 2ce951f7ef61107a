#include "containerd/filters/quoted.h"

#include <cstdint>

namespace liman::containerd::filters {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  // Go's utf8.EncodeRune writes U+FFFD for surrogate halves.
  if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// `count` digits of `base` at input[pos...]; -1 if there are fewer.
int64_t ReadDigits(std::string_view input, size_t pos, int count, int base) {
  if (input.size() - pos < static_cast<size_t>(count)) return -1;
  int64_t value = 0;
  for (int i = 0; i < count; ++i) {
    int digit = HexValue(input[pos + i]);
    if (digit < 0 || digit >= base) return -1;
    value = value * base + digit;
  }
  return value;
}

}  // namespace

std::variant<QuotedLiteral, QuotedError> ScanQuoted(std::string_view input, size_t start) {
  const char quote = input[start];
  QuotedLiteral literal;
  size_t pos = start + 1;
  for (;;) {
    if (pos >= input.size() || input[pos] == '\n') return QuotedError{"quoted literal not terminated"};
    char c = input[pos];
    if (c == quote) break;
    if (c != '\\') {
      literal.value.push_back(c);
      ++pos;
      continue;
    }
    if (pos + 1 >= input.size()) return QuotedError{"quoted literal not terminated"};
    char escape = input[pos + 1];
    pos += 2;
    switch (escape) {
      case 'a': literal.value.push_back('\a'); break;
      case 'b': literal.value.push_back('\b'); break;
      case 'f': literal.value.push_back('\f'); break;
      case 'n': literal.value.push_back('\n'); break;
      case 'r': literal.value.push_back('\r'); break;
      case 't': literal.value.push_back('\t'); break;
      case 'v': literal.value.push_back('\v'); break;
      case '\\': literal.value.push_back('\\'); break;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        // Three octal digits naming one byte (Go: "\377" is the byte 0xff, not a rune).
        int64_t value = ReadDigits(input, pos - 1, 3, 8);
        if (value < 0) return QuotedError{"illegal numeric escape sequence"};
        if (value > 255) return QuotedError{"unquoting failed: quote syntax error"};
        literal.value.push_back(static_cast<char>(value));
        pos += 2;
        break;
      }
      case 'x': {
        int64_t value = ReadDigits(input, pos, 2, 16);
        if (value < 0) return QuotedError{"illegal numeric escape sequence"};
        literal.value.push_back(static_cast<char>(value));
        pos += 2;
        break;
      }
      case 'u':
      case 'U': {
        int count = escape == 'u' ? 4 : 8;
        int64_t value = ReadDigits(input, pos, count, 16);
        if (value < 0) return QuotedError{"illegal numeric escape sequence"};
        if (value > 0x10FFFF) return QuotedError{"unquoting failed: quote syntax error"};
        AppendUtf8(literal.value, static_cast<uint32_t>(value));
        pos += count;
        break;
      }
      default:
        if (escape != quote) return QuotedError{"illegal escape sequence"};
        literal.value.push_back(quote);
        break;
    }
  }
  literal.end = pos + 1;
  return literal;
}

}  // namespace liman::containerd::filters
