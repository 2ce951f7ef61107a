// The filter parser: recursive descent over one filter string, with the error messages and
// positions of containerd's filters/parser.go so clients see the same diagnostics.
#include <re2/re2.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "common/status.h"
#include "containerd/filters/filters.h"
#include "containerd/filters/quoted.h"
#include "fmt/format.h"

namespace liman::containerd::filters {
namespace {

struct Rune {
  uint32_t code = 0;
  size_t width = 0;  // 0: invalid UTF-8
};

// Strict UTF-8 decoding (no overlongs, surrogates or code points past U+10FFFF), as Go's.
Rune DecodeRune(std::string_view s, size_t pos) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  uint8_t lead = byte(pos);
  if (lead < 0x80) return {lead, 1};
  size_t width;
  uint32_t code, min;
  if ((lead & 0xE0) == 0xC0) {
    width = 2, code = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    width = 3, code = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    width = 4, code = lead & 0x07, min = 0x10000;
  } else {
    return {};
  }
  if (s.size() - pos < width) return {};
  for (size_t i = 1; i < width; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return {};
    code = (code << 6) | (byte(pos + i) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return {};
  return {code, width};
}

// Go's unicode.IsSpace.
bool IsSpace(uint32_t c) {
  switch (c) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
  }
  return c >= 0x2000 && c <= 0x200A;
}

bool IsFieldChar(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsOperatorChar(char c) { return c == '=' || c == '!' || c == '~'; }

// Printable characters other than ',' and spaces (Go's unicode.IsGraphic, minus the
// format/private-use distinctions that would need the Unicode tables).
bool IsValueRune(uint32_t c) {
  if (c == ',' || IsSpace(c)) return false;
  if (c < 0x80) return c > 0x20 && c < 0x7F;
  if (c <= 0x9F) return false;                       // C1 controls
  if (c == 0xAD || (c >= 0x200B && c <= 0x200F) || (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF)
    return false;                                    // format characters
  return true;
}

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input) {}

  absl::StatusOr<std::vector<Selector>> Parse() {
    LIMAN_RETURN_IF_ERROR(CheckEncoding());
    std::vector<Selector> selectors;
    for (;;) {
      LIMAN_ASSIGN_OR_RETURN(Selector selector, ParseSelector());
      selectors.push_back(std::move(selector));
      SkipSpace();
      if (AtEnd()) return selectors;
      if (input_[pos_] != ',') return Error(pos_, fmt::format("unexpected input: {}", RuneAt(pos_)));
      ++pos_;
    }
  }

 private:
  // Every rune is decoded once here, so the rest can step through bytes and trust the encoding.
  absl::Status CheckEncoding() const {
    for (size_t pos = 0; pos < input_.size();) {
      if (input_[pos] == '\0') return Error(pos, "unexpected null");
      Rune rune = DecodeRune(input_, pos);
      if (rune.width == 0) return Error(pos, "invalid UTF-8");
      pos += rune.width;
    }
    return absl::OkStatus();
  }

  bool AtEnd() const { return pos_ >= input_.size(); }

  std::string_view RuneAt(size_t pos) const {
    if (pos >= input_.size()) return {};
    size_t width = DecodeRune(input_, pos).width;
    return input_.substr(pos, width == 0 ? 1 : width);
  }

  void SkipSpace() {
    while (!AtEnd()) {
      Rune rune = DecodeRune(input_, pos_);
      if (!IsSpace(rune.code)) return;
      pos_ += rune.width;
    }
  }

  // containerd's format: the input with the offending character marked, then the cause.
  absl::Status Error(size_t pos, std::string_view message) const {
    std::string where;
    if (pos < input_.size()) {
      std::string_view at = RuneAt(pos);
      where = fmt::format("{} >|{}|< {}", input_.substr(0, pos), at, input_.substr(pos + at.size()));
    } else {
      where = std::string(input_);
    }
    return absl::InvalidArgumentError(fmt::format("filters: parse error: [{}]: {}", where, message));
  }

  // A quoted literal at pos_; `allow_alternatives` admits the /regexp/ and |regexp| forms.
  absl::StatusOr<std::string> ParseQuoted(bool allow_alternatives) {
    size_t start = pos_;
    auto scanned = ScanQuoted(input_, start);
    if (auto* error = std::get_if<QuotedError>(&scanned)) return Error(start, error->message);
    auto& literal = std::get<QuotedLiteral>(scanned);
    if (!allow_alternatives && input_[start] != '"') return Error(start, "invalid quote encountered");
    pos_ = literal.end;
    return std::move(literal.value);
  }

  absl::StatusOr<std::string> ParseField() {
    SkipSpace();
    if (!AtEnd() && IsQuoteChar(input_[pos_])) return ParseQuoted(/*allow_alternatives=*/false);
    size_t start = pos_;
    while (!AtEnd() && IsFieldChar(input_[pos_])) ++pos_;
    if (pos_ == start) return Error(pos_, "expected field or quoted");
    return std::string(input_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::vector<std::string>> ParseFieldPath() {
    std::vector<std::string> fieldpath;
    for (;;) {
      LIMAN_ASSIGN_OR_RETURN(std::string field, ParseField());
      fieldpath.push_back(std::move(field));
      SkipSpace();
      if (AtEnd() || input_[pos_] != '.') return fieldpath;
      ++pos_;
    }
  }

  absl::StatusOr<Operator> ParseOperator() {
    static constexpr std::string_view kExpected = R"(expected an operator ("=="|"!="|"~="))";
    size_t start = pos_;
    if (IsQuoteChar(input_[start])) {
      // containerd scans a literal here before finding it is no operator; a broken literal
      // is reported as such.
      LIMAN_RETURN_IF_ERROR(ParseQuoted(/*allow_alternatives=*/true).status());
      return Error(start, kExpected);
    }
    while (!AtEnd() && IsOperatorChar(input_[pos_])) ++pos_;
    std::string_view text = input_.substr(start, pos_ - start);
    if (text.empty()) return Error(start, kExpected);
    if (text == "==") return Operator::kEqual;
    if (text == "!=") return Operator::kNotEqual;
    if (text == "~=") return Operator::kMatches;
    return Error(start, fmt::format("unsupported operator {}", Quote(text)));
  }

  absl::StatusOr<std::string> ParseValue(bool allow_alternative_quotes) {
    SkipSpace();
    if (AtEnd()) return Error(pos_, "expected value or quoted");
    char first = input_[pos_];
    if (IsQuoteChar(first)) return ParseQuoted(allow_alternative_quotes);
    if (first == '.' || IsOperatorChar(first)) return Error(pos_, "expected value or quoted");
    size_t start = pos_;
    while (!AtEnd()) {
      Rune rune = DecodeRune(input_, pos_);
      if (!IsValueRune(rune.code)) break;
      pos_ += rune.width;
    }
    if (pos_ == start) return Error(pos_, "expected value or quoted");
    return std::string(input_.substr(start, pos_ - start));
  }

  absl::StatusOr<Selector> ParseSelector() {
    Selector selector;
    LIMAN_ASSIGN_OR_RETURN(selector.fieldpath, ParseFieldPath());
    SkipSpace();
    if (AtEnd() || input_[pos_] == ',') return selector;
    LIMAN_ASSIGN_OR_RETURN(selector.op, ParseOperator());
    SkipSpace();
    size_t value_start = pos_;
    LIMAN_ASSIGN_OR_RETURN(selector.value, ParseValue(selector.op == Operator::kMatches));
    if (selector.op == Operator::kMatches) {
      RE2::Options options;
      options.set_log_errors(false);
      auto regexp = std::make_shared<const RE2>(selector.value, options);
      if (!regexp->ok())
        return Error(value_start, fmt::format("invalid regexp {}: {}", Quote(selector.value), regexp->error()));
      selector.regexp = std::move(regexp);
    }
    return selector;
  }

  std::string_view input_;
  size_t pos_ = 0;
};

bool IsBlank(std::string_view input) {
  for (size_t pos = 0; pos < input.size();) {
    Rune rune = DecodeRune(input, pos);
    if (rune.width == 0 || !IsSpace(rune.code)) return false;
    pos += rune.width;
  }
  return true;
}

}  // namespace

absl::StatusOr<Filter> Parse(const std::vector<std::string>& filters) {
  std::vector<std::vector<Selector>> any_of;
  bool everything = filters.empty();
  for (const std::string& filter : filters) {
    // containerd: an empty filter string matches everything, which makes the whole OR do so;
    // every string is still checked for errors.
    if (IsBlank(filter)) {
      everything = true;
      continue;
    }
    LIMAN_ASSIGN_OR_RETURN(std::vector<Selector> selectors, Parser(filter).Parse());
    any_of.push_back(std::move(selectors));
  }
  if (everything) return Filter();
  return Filter(std::move(any_of));
}

}  // namespace liman::containerd::filters
