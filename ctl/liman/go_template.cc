#include "ctl/liman/go_template.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <utility>
#include <vector>

#include "common/status.h"
#include "ctl/liman/format.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

// ---- Lexing an action ("{{ … }}") into tokens -------------------------------------------------

enum class TokenKind { kField, kVariable, kLiteral, kIdentifier, kLeftParen, kRightParen, kPipe, kDeclare, kAssign, kComma };

struct Token {
  TokenKind kind;
  std::string text;                // identifier or variable name ("$", "$x"); a literal's source
  std::vector<std::string> chain;  // field names after a field or a variable: ".A.B" -> {A, B}
  json literal;
  bool spaced = true;  // whitespace before it: "(x).A" chains, "(x) .A" is another argument
};

absl::Status ParseError(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("template parsing error: template: :1: {}", what));
}

bool IsIdentifierChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// ".A.B" at `i` (after a field start or a variable name) -> {A, B}.
std::vector<std::string> LexChain(std::string_view action, size_t& i) {
  std::vector<std::string> chain;
  while (i < action.size() && action[i] == '.' && i + 1 < action.size() && IsIdentifierChar(action[i + 1])) {
    size_t start = ++i;
    while (i < action.size() && IsIdentifierChar(action[i])) ++i;
    chain.emplace_back(action.substr(start, i - start));
  }
  return chain;
}

// A Go interpreted string literal at `i` (on its opening quote), unescaped.
absl::StatusOr<std::string> LexQuoted(std::string_view action, size_t& i) {
  std::string out;
  for (++i; i < action.size() && action[i] != '"'; ++i) {
    if (action[i] != '\\') {
      out.push_back(action[i]);
      continue;
    }
    if (++i >= action.size()) break;
    switch (action[i]) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'x':
        if (i + 2 < action.size()) {
          out.push_back(static_cast<char>(std::strtol(std::string(action.substr(i + 1, 2)).c_str(), nullptr, 16)));
          i += 2;
        }
        break;
      default: out.push_back(action[i]);
    }
  }
  if (i >= action.size()) return ParseError("unterminated quoted string");
  ++i;
  return out;
}

absl::StatusOr<std::vector<Token>> LexAction(std::string_view action) {
  std::vector<Token> tokens;
  size_t i = 0;
  bool spaced = true;
  while (i < action.size()) {
    char c = action[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      spaced = true;
      ++i;
      continue;
    }
    Token token{.kind = TokenKind::kLiteral, .spaced = spaced};
    spaced = false;
    size_t start = i;
    if (c == '.') {
      token.kind = TokenKind::kField;
      token.chain = LexChain(action, i);
      if (token.chain.empty()) ++i;  // "." alone: the dot itself
    } else if (c == '$') {
      token.kind = TokenKind::kVariable;
      for (++i; i < action.size() && IsIdentifierChar(action[i]);) ++i;
      token.text = std::string(action.substr(start, i - start));
      token.chain = LexChain(action, i);
    } else if (c == '"') {
      LIMAN_ASSIGN_OR_RETURN(std::string text, LexQuoted(action, i));
      token.literal = text;
    } else if (c == '`') {
      size_t end = action.find('`', i + 1);
      if (end == std::string_view::npos) return ParseError("unterminated raw quoted string");
      token.literal = std::string(action.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               ((c == '-' || c == '+') && i + 1 < action.size() && std::isdigit(static_cast<unsigned char>(action[i + 1])))) {
      for (++i; i < action.size() && (IsIdentifierChar(action[i]) || action[i] == '.');) ++i;
      std::string text(action.substr(start, i - start));
      char* end = nullptr;
      long long integer = std::strtoll(text.c_str(), &end, 0);
      if (*end == '\0') {
        token.literal = static_cast<int64_t>(integer);
      } else {
        double real = std::strtod(text.c_str(), &end);
        if (*end != '\0') return ParseError(fmt::format("bad number syntax: {:?}", text));
        token.literal = real;
      }
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < action.size() && IsIdentifierChar(action[i])) ++i;
      token.text = std::string(action.substr(start, i - start));
      if (token.text == "true" || token.text == "false") token.literal = token.text == "true";
      else if (token.text == "nil") token.literal = nullptr;
      else token.kind = TokenKind::kIdentifier;
    } else if (c == ':' && i + 1 < action.size() && action[i + 1] == '=') {
      token.kind = TokenKind::kDeclare;
      i += 2;
    } else {
      static constexpr std::pair<char, TokenKind> kSingles[] = {{'(', TokenKind::kLeftParen}, {')', TokenKind::kRightParen},
                                                                {'|', TokenKind::kPipe},      {'=', TokenKind::kAssign},
                                                                {',', TokenKind::kComma}};
      auto single = std::find_if(std::begin(kSingles), std::end(kSingles), [&](const auto& s) { return s.first == c; });
      if (single == std::end(kSingles)) return ParseError(fmt::format("unexpected {:?} in command", std::string(1, c)));
      token.kind = single->second;
      ++i;
    }
    tokens.push_back(std::move(token));
  }
  return tokens;
}

}  // namespace

// ---- The parse tree ----------------------------------------------------------------------------
// (In a named namespace: GoTemplate::Node holds a Pipeline, and a class with external linkage
// cannot hold a type of the anonymous namespace.)
namespace template_tree {

struct Pipeline;

struct Operand {
  enum class Kind { kField, kVariable, kLiteral, kPipeline, kFunction } kind;
  std::string name;                // a variable's or a function's
  std::vector<std::string> chain;  // fields followed from the operand's value
  json literal;
  std::shared_ptr<const Pipeline> pipeline;  // "( … )"
};

struct Command {
  std::vector<Operand> operands;  // a function and its arguments, or one value
};

struct Pipeline {
  std::vector<std::string> variables;  // "$x :=" / "$k, $v :=" / "$x ="
  bool assigns = false;                // "=": sets a variable declared before
  std::vector<Command> commands;       // "a | b c": b gets a's value as its last argument
};

}  // namespace template_tree

namespace {

using namespace template_tree;

const std::vector<std::string>& FunctionNames() {
  static const std::vector<std::string> kNames = {
      // Go's text/template built-ins
      "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt", "le", "gt", "ge",
      // docker's (cli/templates)
      "json", "join", "split", "upper", "lower", "title", "pad", "truncate"};
  return kNames;
}

}  // namespace

struct GoTemplate::Node {
  enum class Kind { kList, kText, kAction, kIf, kRange, kWith } kind;
  std::string text;  // kText
  template_tree::Pipeline pipeline;
  std::vector<std::shared_ptr<const Node>> children;  // kList
  std::shared_ptr<const Node> body, otherwise;        // control structures; `otherwise` may be null
};

namespace {

using Node = GoTemplate::Node;
using NodePtr = std::shared_ptr<const Node>;

// One piece of the template's source: literal text, or an action's tokens.
struct Piece {
  bool is_action = false;
  bool is_comment = false;
  std::string text;
  std::vector<Token> tokens;
};

bool IsTrimSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The source cut into text and actions; "{{- " and " -}}" trim the whitespace next to them.
absl::StatusOr<std::vector<Piece>> CutPieces(const std::string& source) {
  std::vector<Piece> pieces;
  bool trim_next_text = false;
  size_t i = 0;
  while (i < source.size()) {
    size_t open = source.find("{{", i);
    std::string text = source.substr(i, open == std::string::npos ? std::string::npos : open - i);
    if (trim_next_text) text.erase(text.begin(), std::find_if_not(text.begin(), text.end(), IsTrimSpace));
    if (open == std::string::npos) {
      if (!text.empty()) pieces.push_back({.text = text});
      break;
    }
    size_t begin = open + 2;
    if (begin + 1 < source.size() && source[begin] == '-' && IsTrimSpace(source[begin + 1])) {
      while (!text.empty() && IsTrimSpace(text.back())) text.pop_back();
      begin += 2;
    }
    if (!text.empty()) pieces.push_back({.text = text});
    // The action ends at the first "}}" outside a quoted string.
    size_t at = begin;
    size_t end = std::string::npos;
    while (at < source.size()) {
      if (source[at] == '"' || source[at] == '`') {
        char quote = source[at];
        for (++at; at < source.size() && source[at] != quote; ++at)
          if (quote == '"' && source[at] == '\\') ++at;
        ++at;
        continue;
      }
      if (source.compare(at, 2, "}}") == 0) {
        end = at;
        break;
      }
      ++at;
    }
    if (end == std::string::npos) return ParseError("unclosed action");
    std::string action = source.substr(begin, end - begin);
    trim_next_text = action.size() >= 2 && action.back() == '-' && IsTrimSpace(action[action.size() - 2]);
    if (trim_next_text) action.resize(action.size() - 2);
    std::string_view inner = action;
    while (!inner.empty() && IsTrimSpace(inner.front())) inner.remove_prefix(1);
    while (!inner.empty() && IsTrimSpace(inner.back())) inner.remove_suffix(1);
    Piece piece{.is_action = true};
    if (inner.starts_with("/*")) {
      if (!inner.ends_with("*/") || inner.size() < 4) return ParseError("unclosed comment");
      piece.is_comment = true;
    } else {
      LIMAN_ASSIGN_OR_RETURN(piece.tokens, LexAction(action));
      if (piece.tokens.empty()) return ParseError("missing value for command");
    }
    pieces.push_back(std::move(piece));
    i = end + 2;
  }
  return pieces;
}

class Parser {
 public:
  explicit Parser(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  absl::StatusOr<NodePtr> ParseTemplate() {
    std::string terminator;
    std::vector<Token> rest;
    LIMAN_ASSIGN_OR_RETURN(NodePtr list, ParseList(terminator, rest));
    if (!terminator.empty()) return ParseError(fmt::format("unexpected {{{{{}}}}}", terminator));
    return list;
  }

 private:
  // Nodes up to the end of the source or an {{end}} / {{else …}}, named in `terminator` (the
  // tokens after "else" in `rest`).
  absl::StatusOr<NodePtr> ParseList(std::string& terminator, std::vector<Token>& rest) {
    auto list = std::make_shared<Node>(Node{.kind = Node::Kind::kList});
    terminator.clear();
    while (next_ < pieces_.size()) {
      Piece& piece = pieces_[next_++];
      if (!piece.is_action) {
        list->children.push_back(std::make_shared<Node>(Node{.kind = Node::Kind::kText, .text = piece.text}));
        continue;
      }
      if (piece.is_comment) continue;
      std::vector<Token>& tokens = piece.tokens;
      const std::string keyword = tokens[0].kind == TokenKind::kIdentifier ? tokens[0].text : "";
      if (keyword == "end") {
        if (tokens.size() > 1) return ParseError("unexpected arguments after end");
        terminator = keyword;
        return list;
      }
      if (keyword == "else") {
        terminator = keyword;
        rest.assign(tokens.begin() + 1, tokens.end());
        return list;
      }
      if (keyword == "if" || keyword == "range" || keyword == "with") {
        LIMAN_ASSIGN_OR_RETURN(NodePtr control, ParseControl(keyword, {tokens.begin() + 1, tokens.end()}));
        list->children.push_back(std::move(control));
        continue;
      }
      if (keyword == "define" || keyword == "template" || keyword == "block" || keyword == "break" || keyword == "continue")
        return ParseError(fmt::format("{{{{{}}}}} is not supported", keyword));
      auto action = std::make_shared<Node>(Node{.kind = Node::Kind::kAction});
      LIMAN_ASSIGN_OR_RETURN(action->pipeline, ParsePipeline(tokens, true));
      list->children.push_back(std::move(action));
    }
    return list;
  }

  // {{if|range|with PIPELINE}} … [{{else}} … | {{else if|with PIPELINE}} …] {{end}}
  absl::StatusOr<NodePtr> ParseControl(const std::string& keyword, const std::vector<Token>& tokens) {
    auto node = std::make_shared<Node>();
    node->kind = keyword == "if" ? Node::Kind::kIf : keyword == "range" ? Node::Kind::kRange : Node::Kind::kWith;
    if (tokens.empty()) return ParseError(fmt::format("missing value for {}", keyword));
    LIMAN_ASSIGN_OR_RETURN(node->pipeline, ParsePipeline(tokens, true));
    if (node->pipeline.variables.size() > (keyword == "range" ? 2u : 1u))
      return ParseError(fmt::format("too many declarations in {}", keyword));
    std::string terminator;
    std::vector<Token> rest;
    LIMAN_ASSIGN_OR_RETURN(node->body, ParseList(terminator, rest));
    if (terminator.empty()) return ParseError(fmt::format("unexpected EOF in {}", keyword));
    if (terminator == "else") {
      if (!rest.empty()) {
        // "else if …" / "else with …": a nested structure that shares this one's {{end}}.
        std::string nested = rest[0].kind == TokenKind::kIdentifier ? rest[0].text : "";
        if (nested != keyword || keyword == "range") return ParseError(fmt::format("unexpected arguments after else in {}", keyword));
        auto list = std::make_shared<Node>(Node{.kind = Node::Kind::kList});
        LIMAN_ASSIGN_OR_RETURN(NodePtr inner, ParseControl(nested, {rest.begin() + 1, rest.end()}));
        list->children.push_back(std::move(inner));
        node->otherwise = std::move(list);
        return node;
      }
      LIMAN_ASSIGN_OR_RETURN(node->otherwise, ParseList(terminator, rest));
      if (terminator != "end") return ParseError(fmt::format("expected end after else in {}", keyword));
    }
    return node;
  }

  static absl::StatusOr<Pipeline> ParsePipeline(const std::vector<Token>& tokens, bool may_declare) {
    Pipeline pipeline;
    size_t i = 0;
    auto is_plain_variable = [&](size_t at) {
      return at < tokens.size() && tokens[at].kind == TokenKind::kVariable && tokens[at].chain.empty();
    };
    if (may_declare && is_plain_variable(0)) {
      size_t declare = std::string::npos;
      if (tokens.size() > 1 && (tokens[1].kind == TokenKind::kDeclare || tokens[1].kind == TokenKind::kAssign)) declare = 1;
      else if (tokens.size() > 3 && tokens[1].kind == TokenKind::kComma && is_plain_variable(2) && tokens[3].kind == TokenKind::kDeclare)
        declare = 3;
      if (declare != std::string::npos) {
        pipeline.variables.push_back(tokens[0].text);
        if (declare == 3) pipeline.variables.push_back(tokens[2].text);
        pipeline.assigns = tokens[declare].kind == TokenKind::kAssign;
        i = declare + 1;
      }
    }
    std::vector<Token> command;
    int depth = 0;
    for (; i <= tokens.size(); ++i) {
      if (i == tokens.size() && depth != 0) return ParseError("unclosed left paren");
      if (i == tokens.size() || (depth == 0 && tokens[i].kind == TokenKind::kPipe)) {
        LIMAN_ASSIGN_OR_RETURN(Command parsed, ParseCommand(command));
        pipeline.commands.push_back(std::move(parsed));
        command.clear();
        continue;
      }
      if (tokens[i].kind == TokenKind::kLeftParen) ++depth;
      if (tokens[i].kind == TokenKind::kRightParen && --depth < 0) return ParseError("unexpected right paren");
      command.push_back(tokens[i]);
    }
    return pipeline;
  }

  static absl::StatusOr<Command> ParseCommand(const std::vector<Token>& tokens) {
    if (tokens.empty()) return ParseError("missing value for command");
    Command command;
    for (size_t i = 0; i < tokens.size(); ++i) {
      const Token& token = tokens[i];
      Operand operand;
      switch (token.kind) {
        case TokenKind::kField: operand = {.kind = Operand::Kind::kField, .chain = token.chain}; break;
        case TokenKind::kVariable: operand = {.kind = Operand::Kind::kVariable, .name = token.text, .chain = token.chain}; break;
        case TokenKind::kLiteral: operand = {.kind = Operand::Kind::kLiteral, .literal = token.literal}; break;
        case TokenKind::kIdentifier:
          if (std::find(FunctionNames().begin(), FunctionNames().end(), token.text) == FunctionNames().end())
            return ParseError(fmt::format("function {:?} not defined", token.text));
          operand = {.kind = Operand::Kind::kFunction, .name = token.text};
          break;
        case TokenKind::kLeftParen: {
          size_t close = i;
          for (int depth = 0; close < tokens.size(); ++close) {
            if (tokens[close].kind == TokenKind::kLeftParen) ++depth;
            if (tokens[close].kind == TokenKind::kRightParen && --depth == 0) break;
          }
          LIMAN_ASSIGN_OR_RETURN(Pipeline inner, ParsePipeline({tokens.begin() + i + 1, tokens.begin() + close}, false));
          operand = {.kind = Operand::Kind::kPipeline, .pipeline = std::make_shared<const Pipeline>(std::move(inner))};
          i = close;
          // "(…).Field": a field chain written right after the parenthesis applies to its value.
          if (i + 1 < tokens.size() && tokens[i + 1].kind == TokenKind::kField && !tokens[i + 1].spaced && !tokens[i + 1].chain.empty())
            operand.chain = tokens[++i].chain;
          break;
        }
        default: return ParseError("unexpected token in operand");
      }
      if (i > 0 && operand.kind == Operand::Kind::kFunction && command.operands[0].kind != Operand::Kind::kFunction)
        return ParseError(fmt::format("function {:?} given as an argument to a value", operand.name));
      command.operands.push_back(std::move(operand));
    }
    return command;
  }

  std::vector<Piece> pieces_;
  size_t next_ = 0;
};

// ---- Execution --------------------------------------------------------------------------------

// A value and whether it came from a missing map key (printed "<no value>", as Go does).
struct Value {
  json value;
  bool missing = false;
};

absl::Status ExecError(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("template: :1: executing: {}", what));
}

// Go's truth: false, 0, nil and empty strings, slices and maps are false.
bool IsTrue(const Value& v) {
  if (v.missing) return false;
  const json& j = v.value;
  switch (j.type()) {
    case json::value_t::null: return false;
    case json::value_t::boolean: return j.get<bool>();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return j.get<double>() != 0;
    case json::value_t::string: return !j.get_ref<const std::string&>().empty();
    default: return !j.empty();
  }
}

std::string TypeName(const json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return "int";
  return j.is_number_float() ? "float64" : j.is_string() ? "string" : j.is_boolean() ? "bool"
       : j.is_array() ? "[]interface {}" : j.is_object() ? "map[string]interface {}" : "<nil>";
}

// -1, 0, 1; kInvalidArgument for values Go cannot order (eq accepts any two of one kind).
absl::StatusOr<int> Compare(const json& a, const json& b, bool ordered) {
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) return a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>()) < 0 ? -1 : a == b ? 0 : 1;
  if (!ordered && a.type() == b.type()) return a == b ? 0 : 1;
  if (!ordered && (a.is_null() || b.is_null())) return a == b ? 0 : 1;
  return ExecError(fmt::format("incompatible types for comparison: {} and {}", TypeName(a), TypeName(b)));
}

// fmt.Sprintf for the verbs templates use: %v %s %d %q %t %f %x %%, with flags and a width.
std::string GoSprintf(const std::string& format, const std::vector<json>& args) {
  std::string out;
  size_t next_arg = 0;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out.push_back(format[i]);
      continue;
    }
    size_t start = i++;
    while (i < format.size() && std::string_view("-+# 0").find(format[i]) != std::string_view::npos) ++i;
    std::string flags = format.substr(start + 1, i - start - 1);
    int width = 0, precision = -1;
    while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) width = width * 10 + (format[i++] - '0');
    if (i < format.size() && format[i] == '.') {
      precision = 0;
      while (++i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) precision = precision * 10 + (format[i] - '0');
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (next_arg >= args.size()) {
      out += fmt::format("%!{}(MISSING)", verb);
      continue;
    }
    const json& arg = args[next_arg++];
    std::string text;
    if (verb == 'd' && arg.is_number()) text = std::to_string(arg.get<int64_t>());
    else if (verb == 'x' && arg.is_number_integer()) text = fmt::format("{:x}", arg.get<int64_t>());
    else if (verb == 'f' && arg.is_number()) text = fmt::format("{:.{}f}", arg.get<double>(), precision < 0 ? 6 : precision);
    else if (verb == 'q') text = GoQuote(GoPrint(arg));
    else if (verb == 's' || verb == 'v' || verb == 't') text = GoPrint(arg);
    else text = fmt::format("%!{}({}={})", verb, TypeName(arg), GoPrint(arg));
    if (precision >= 0 && (verb == 's' || verb == 'v') && text.size() > static_cast<size_t>(precision)) text.resize(precision);
    if (static_cast<int>(text.size()) < width) {
      size_t pad = width - text.size();
      if (flags.find('-') != std::string::npos) text.append(pad, ' ');
      else if (flags.find('0') != std::string::npos && arg.is_number()) text.insert(text[0] == '-' ? 1 : 0, pad, '0');
      else text.insert(0, pad, ' ');
    }
    out += text;
  }
  for (; next_arg < args.size(); ++next_arg) out += fmt::format("%!(EXTRA {}={})", TypeName(args[next_arg]), GoPrint(args[next_arg]));
  return out;
}

// fmt.Sprint: a space between two operands when neither is a string; fmt.Sprintln (`line`):
// a space between any two, and a newline at the end.
std::string GoSprint(const std::vector<json>& args, bool line = false) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && (line || (!args[i - 1].is_string() && !args[i].is_string()))) out += " ";
    out += GoPrint(args[i]);
  }
  return line ? out + "\n" : out;
}

std::string ToCase(std::string text, int (*convert)(int)) {
  for (char& c : text) c = static_cast<char>(convert(static_cast<unsigned char>(c)));
  return text;
}

absl::StatusOr<json> CallFunction(const std::string& name, const std::vector<Value>& values) {
  std::vector<json> args;
  for (const Value& v : values) args.push_back(v.missing ? json(nullptr) : v.value);
  auto need = [&](size_t count) -> absl::Status {
    if (args.size() == count) return absl::OkStatus();
    return ExecError(fmt::format("wrong number of args for {}: want {} got {}", name, count, args.size()));
  };
  auto need_at_least = [&](size_t count) -> absl::Status {
    if (args.size() >= count) return absl::OkStatus();
    return ExecError(fmt::format("wrong number of args for {}: want at least {} got {}", name, count, args.size()));
  };
  auto integer = [&](size_t i) -> absl::StatusOr<int64_t> {
    if (!args[i].is_number()) return ExecError(fmt::format("{}: argument {} is not an integer: {}", name, i + 1, GoPrint(args[i])));
    return args[i].get<int64_t>();
  };
  if (name == "and" || name == "or") {
    LIMAN_RETURN_IF_ERROR(need_at_least(1));
    for (const Value& v : values)
      if (IsTrue(v) == (name == "or")) return v.value;
    return values.back().value;
  }
  if (name == "not") {
    LIMAN_RETURN_IF_ERROR(need(1));
    return !IsTrue(values[0]);
  }
  if (name == "eq") {
    LIMAN_RETURN_IF_ERROR(need_at_least(2));
    for (size_t i = 1; i < args.size(); ++i) {
      LIMAN_ASSIGN_OR_RETURN(int order, Compare(args[0], args[i], false));
      if (order == 0) return true;
    }
    return false;
  }
  if (name == "ne" || name == "lt" || name == "le" || name == "gt" || name == "ge") {
    LIMAN_RETURN_IF_ERROR(need(2));
    LIMAN_ASSIGN_OR_RETURN(int order, Compare(args[0], args[1], name != "ne"));
    if (name == "ne") return order != 0;
    if (name == "lt") return order < 0;
    if (name == "le") return order <= 0;
    if (name == "gt") return order > 0;
    return order >= 0;
  }
  if (name == "len") {
    LIMAN_RETURN_IF_ERROR(need(1));
    if (args[0].is_string()) return args[0].get_ref<const std::string&>().size();
    if (args[0].is_array() || args[0].is_object()) return args[0].size();
    return ExecError(fmt::format("len of type {}", TypeName(args[0])));
  }
  if (name == "index") {
    LIMAN_RETURN_IF_ERROR(need_at_least(1));
    json item = args[0];
    for (size_t i = 1; i < args.size(); ++i) {
      if (item.is_object() && args[i].is_string()) {
        auto found = item.find(args[i].get<std::string>());
        item = found != item.end() ? *found : json(nullptr);
      } else if (item.is_array() && args[i].is_number_integer()) {
        int64_t at = args[i].get<int64_t>();
        if (at < 0 || at >= static_cast<int64_t>(item.size())) return ExecError(fmt::format("index out of range: {}", at));
        item = json(item[at]);
      } else if (item.is_null()) {
        return ExecError("index of untyped nil");
      } else {
        return ExecError(fmt::format("can't index item of type {} with {}", TypeName(item), GoPrint(args[i])));
      }
    }
    return item;
  }
  if (name == "slice") {
    LIMAN_RETURN_IF_ERROR(need_at_least(1));
    if (args.size() > 3) return ExecError("too many slice indexes");
    size_t size = args[0].is_string() ? args[0].get_ref<const std::string&>().size() : args[0].is_array() ? args[0].size() : 0;
    if (!args[0].is_string() && !args[0].is_array()) return ExecError(fmt::format("can't slice item of type {}", TypeName(args[0])));
    int64_t from = 0, to = static_cast<int64_t>(size);
    if (args.size() > 1) {
      LIMAN_ASSIGN_OR_RETURN(from, integer(1));
    }
    if (args.size() > 2) {
      LIMAN_ASSIGN_OR_RETURN(to, integer(2));
    }
    if (from < 0 || to < from || to > static_cast<int64_t>(size)) return ExecError(fmt::format("slice index out of range: {}:{}", from, to));
    if (args[0].is_string()) return args[0].get_ref<const std::string&>().substr(from, to - from);
    return json(std::vector<json>(args[0].begin() + from, args[0].begin() + to));
  }
  if (name == "print") return GoSprint(args);
  if (name == "println") return GoSprint(args, /*line=*/true);
  if (name == "printf") {
    LIMAN_RETURN_IF_ERROR(need_at_least(1));
    if (!args[0].is_string()) return ExecError("printf: the format is not a string");
    return GoSprintf(args[0].get<std::string>(), {args.begin() + 1, args.end()});
  }
  if (name == "json") {
    LIMAN_RETURN_IF_ERROR(need(1));
    return args[0].dump();
  }
  if (name == "join") {
    LIMAN_RETURN_IF_ERROR(need(2));
    std::string out, separator = GoPrint(args[1]);
    if (args[0].is_array())
      for (size_t i = 0; i < args[0].size(); ++i) out.append(i ? separator : "").append(GoPrint(args[0][i]));
    return out;
  }
  if (name == "split") {
    LIMAN_RETURN_IF_ERROR(need(2));
    std::string text = GoPrint(args[0]), separator = GoPrint(args[1]);
    json parts = json::array();
    if (separator.empty()) {
      for (char c : text) parts.push_back(std::string(1, c));
      return parts;
    }
    size_t start = 0;
    for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + separator.size())
      parts.push_back(text.substr(start, at - start));
    parts.push_back(text.substr(start));
    return parts;
  }
  if (name == "upper" || name == "lower") {
    LIMAN_RETURN_IF_ERROR(need(1));
    return ToCase(GoPrint(args[0]), name == "upper" ? ::toupper : ::tolower);
  }
  if (name == "title") {
    LIMAN_RETURN_IF_ERROR(need(1));
    std::string text = GoPrint(args[0]);
    for (size_t i = 0; i < text.size(); ++i)
      if (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])))
        text[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[i])));
    return text;
  }
  if (name == "pad") {
    LIMAN_RETURN_IF_ERROR(need(3));
    LIMAN_ASSIGN_OR_RETURN(int64_t prefix, integer(1));
    LIMAN_ASSIGN_OR_RETURN(int64_t suffix, integer(2));
    return std::string(std::max<int64_t>(prefix, 0), ' ') + GoPrint(args[0]) + std::string(std::max<int64_t>(suffix, 0), ' ');
  }
  if (name == "truncate") {
    LIMAN_RETURN_IF_ERROR(need(2));
    LIMAN_ASSIGN_OR_RETURN(int64_t length, integer(1));
    std::string text = GoPrint(args[0]);
    if (length >= 0 && text.size() > static_cast<size_t>(length)) text.resize(length);
    return text;
  }
  return ExecError(fmt::format("function {:?} not defined", name));
}

class Executor {
 public:
  explicit Executor(const json& root) { variables_.push_back({"$", Value{root}}); }

  absl::Status Walk(const Node& node, const json& dot, std::string& out) {
    size_t scope = variables_.size();
    absl::Status status = WalkInScope(node, dot, out);
    // A variable lives until the end of the structure it was declared in.
    if (node.kind != Node::Kind::kAction) variables_.resize(scope);
    return status;
  }

 private:
  absl::Status WalkInScope(const Node& node, const json& dot, std::string& out) {
    switch (node.kind) {
      case Node::Kind::kText: out += node.text; return absl::OkStatus();
      case Node::Kind::kList:
        for (const NodePtr& child : node.children) LIMAN_RETURN_IF_ERROR(Walk(*child, dot, out));
        return absl::OkStatus();
      case Node::Kind::kAction: {
        LIMAN_ASSIGN_OR_RETURN(Value value, EvalPipeline(node.pipeline, dot, true));
        if (node.pipeline.variables.empty()) out += value.missing ? "<no value>" : GoPrint(value.value);
        return absl::OkStatus();
      }
      case Node::Kind::kIf:
      case Node::Kind::kWith: {
        LIMAN_ASSIGN_OR_RETURN(Value value, EvalPipeline(node.pipeline, dot, true));
        if (IsTrue(value)) return Walk(*node.body, node.kind == Node::Kind::kWith ? value.value : dot, out);
        return node.otherwise ? Walk(*node.otherwise, dot, out) : absl::OkStatus();
      }
      case Node::Kind::kRange: return Range(node, dot, out);
    }
    return absl::OkStatus();
  }

  absl::Status Range(const Node& node, const json& dot, std::string& out) {
    LIMAN_ASSIGN_OR_RETURN(Value over, EvalPipeline(node.pipeline, dot, false));
    const std::vector<std::string>& names = node.pipeline.variables;
    const json& items = over.value;
    if (!over.missing && !items.is_null() && !items.is_array() && !items.is_object())
      return ExecError(fmt::format("range can't iterate over {}", GoPrint(items)));
    size_t count = 0;
    auto each = [&](const json& key, const json& element) -> absl::Status {
      ++count;
      size_t scope = variables_.size();
      // "range $v :=" binds the element; "range $k, $v :=" the key (or index) and the element.
      if (names.size() == 1) variables_.push_back({names[0], Value{element}});
      if (names.size() == 2) {
        variables_.push_back({names[0], Value{key}});
        variables_.push_back({names[1], Value{element}});
      }
      absl::Status status = Walk(*node.body, element, out);
      variables_.resize(scope);
      return status;
    };
    if (!over.missing && items.is_array()) {
      for (size_t i = 0; i < items.size(); ++i) LIMAN_RETURN_IF_ERROR(each(i, items[i]));
    } else if (!over.missing && items.is_object()) {
      for (const auto& [key, element] : items.items()) LIMAN_RETURN_IF_ERROR(each(key, element));
    }
    if (count == 0 && node.otherwise) return Walk(*node.otherwise, dot, out);
    return absl::OkStatus();
  }

  // `bind`: declare or assign the pipeline's variables (range binds per element instead).
  absl::StatusOr<Value> EvalPipeline(const Pipeline& pipeline, const json& dot, bool bind) {
    std::optional<Value> last;
    for (const Command& command : pipeline.commands) {
      LIMAN_ASSIGN_OR_RETURN(Value value, EvalCommand(command, dot, last));
      last = std::move(value);
    }
    if (bind && !pipeline.variables.empty()) {
      if (pipeline.assigns) {
        LIMAN_ASSIGN_OR_RETURN(Value * variable, Variable(pipeline.variables[0]));
        *variable = *last;
      } else {
        variables_.push_back({pipeline.variables[0], *last});
      }
    }
    return *last;
  }

  absl::StatusOr<Value> EvalCommand(const Command& command, const json& dot, const std::optional<Value>& piped) {
    const Operand& first = command.operands[0];
    if (first.kind == Operand::Kind::kFunction) {
      std::vector<Value> args;
      for (size_t i = 1; i < command.operands.size(); ++i) {
        LIMAN_ASSIGN_OR_RETURN(Value arg, EvalOperand(command.operands[i], dot));
        args.push_back(std::move(arg));
      }
      if (piped) args.push_back(*piped);
      LIMAN_ASSIGN_OR_RETURN(json result, CallFunction(first.name, args));
      return Value{std::move(result)};
    }
    if (command.operands.size() > 1 || piped) return ExecError("can't give argument to non-function");
    return EvalOperand(first, dot);
  }

  absl::StatusOr<Value> EvalOperand(const Operand& operand, const json& dot) {
    Value base;
    switch (operand.kind) {
      case Operand::Kind::kField: base.value = dot; break;
      case Operand::Kind::kVariable: {
        LIMAN_ASSIGN_OR_RETURN(Value * variable, Variable(operand.name));
        base = *variable;
        break;
      }
      case Operand::Kind::kLiteral: return Value{operand.literal};
      case Operand::Kind::kPipeline: {
        LIMAN_ASSIGN_OR_RETURN(base, EvalPipeline(*operand.pipeline, dot, false));
        break;
      }
      case Operand::Kind::kFunction: {
        LIMAN_ASSIGN_OR_RETURN(json result, CallFunction(operand.name, {}));
        return Value{std::move(result)};
      }
    }
    return Follow(std::move(base), operand.chain);
  }

  static absl::StatusOr<Value> Follow(Value at, const std::vector<std::string>& chain) {
    for (const std::string& key : chain) {
      if (at.missing || at.value.is_null()) return Value{nullptr, true};
      if (!at.value.is_object())
        return ExecError(fmt::format("can't evaluate field {} in type {}", key, TypeName(at.value)));
      auto found = at.value.find(key);
      if (found == at.value.end()) return Value{nullptr, true};
      at = Value{*found};
    }
    return at;
  }

  absl::StatusOr<Value*> Variable(const std::string& name) {
    for (auto it = variables_.rbegin(); it != variables_.rend(); ++it)
      if (it->first == name) return &it->second;
    return ExecError(fmt::format("undefined variable: {}", name));
  }

  std::vector<std::pair<std::string, Value>> variables_;
};

// The last field an action shows: "{{.Names}}" / "{{json .Config.Env}}" -> "Names" / "Env".
std::string LastField(const Pipeline& pipeline) {
  std::string field;
  for (const Command& command : pipeline.commands)
    for (const Operand& operand : command.operands) {
      if (operand.pipeline) {
        std::string inner = LastField(*operand.pipeline);
        if (!inner.empty()) field = inner;
      }
      if (!operand.chain.empty()) field = operand.chain.back();
    }
  return field;
}

}  // namespace

std::string GoPrint(const json& value) {
  switch (value.type()) {
    case json::value_t::null: return "<nil>";
    case json::value_t::string: return value.get<std::string>();
    case json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case json::value_t::number_integer: return std::to_string(value.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(value.get<uint64_t>());
    case json::value_t::number_float: {
      double d = value.get<double>();
      if (std::floor(d) == d && std::fabs(d) < 1e15) return fmt::format("{}", static_cast<int64_t>(d));
      return fmt::format("{}", d);
    }
    case json::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < value.size(); ++i) out.append(i ? " " : "").append(GoPrint(value[i]));
      return out + "]";
    }
    case json::value_t::object: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [key, item] : value.items()) {  // nlohmann's object keeps keys sorted, as Go prints maps
        out.append(first ? "" : " ").append(key).append(":").append(GoPrint(item));
        first = false;
      }
      return out + "]";
    }
    default: return value.dump();
  }
}

absl::StatusOr<GoTemplate> GoTemplate::Parse(std::string_view text) {
  GoTemplate parsed;
  if (text.rfind("table", 0) == 0 && (text.size() == 5 || std::isspace(static_cast<unsigned char>(text[5])))) {
    parsed.table_ = true;
    text.remove_prefix(std::min<size_t>(6, text.size()));
  }
  // Docker's formatter turns the two characters "\t" and "\n" into a tab and a newline.
  std::string source;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 't' || text[i + 1] == 'n')) {
      source.push_back(text[i + 1] == 't' ? '\t' : '\n');
      ++i;
    } else {
      source.push_back(text[i]);
    }
  }
  LIMAN_ASSIGN_OR_RETURN(std::vector<Piece> pieces, CutPieces(source));
  LIMAN_ASSIGN_OR_RETURN(parsed.root_, Parser(std::move(pieces)).ParseTemplate());
  return parsed;
}

absl::StatusOr<std::string> GoTemplate::Render(const json& dot) const {
  std::string out;
  Executor executor(dot);
  LIMAN_RETURN_IF_ERROR(executor.Walk(*root_, dot, out));
  return out;
}

std::string GoTemplate::Header(const std::map<std::string, std::string>& headers) const {
  std::string out;
  for (const NodePtr& node : root_->children) {
    if (node->kind == Node::Kind::kText) out += node->text;
    if (node->kind != Node::Kind::kAction) continue;
    std::string field = LastField(node->pipeline);
    auto it = headers.find(field);
    out += it != headers.end() ? it->second : ToCase(field, ::toupper);
  }
  return out;
}

}  // namespace liman::cli
