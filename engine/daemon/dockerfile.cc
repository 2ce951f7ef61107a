#include "engine/daemon/dockerfile.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "common/ascii.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/text_split.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

namespace {

const std::set<std::string, std::less<>> kInstructions = {
    "ADD", "ARG",  "CMD",     "COPY",      "ENTRYPOINT", "ENV",  "EXPOSE", "FROM",  "HEALTHCHECK",
    "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"};

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::string_view TrimTrailing(std::string_view text) {
  while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
  return text;
}

std::string_view TrimBlanks(std::string_view text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  return TrimTrailing(text);
}

// Ends a line with a continuation: its last non-blank character is a backslash.
bool Continues(std::string_view line, std::string_view* without) {
  std::string_view trimmed = TrimTrailing(line);
  if (!trimmed.ends_with('\\')) return false;
  *without = trimmed.substr(0, trimmed.size() - 1);
  return true;
}

absl::StatusOr<DockerfileInstruction> ParseInstruction(std::string_view text, int line) {
  text = TrimBlanks(text);
  size_t end = 0;
  while (end < text.size() && !IsBlank(text[end])) ++end;
  DockerfileInstruction instruction;
  for (char c : text.substr(0, end)) instruction.keyword += absl::ascii_toupper(static_cast<unsigned char>(c));
  instruction.line = line;
  if (!kInstructions.contains(instruction.keyword))
    return absl::InvalidArgumentError(
        fmt::format("dockerfile parse error line {}: unknown instruction: {}", line, text.substr(0, end)));
  std::string_view rest = TrimBlanks(text.substr(end));
  // Leading --name=value words are the instruction's flags.
  while (rest.starts_with("--")) {
    size_t flag_end = 0;
    while (flag_end < rest.size() && !IsBlank(rest[flag_end])) ++flag_end;
    instruction.flags.emplace_back(rest.substr(2, flag_end - 2));
    rest = TrimBlanks(rest.substr(flag_end));
  }
  instruction.arguments = std::string(rest);
  if (rest.starts_with('[')) {
    json parsed = json::parse(rest, nullptr, false);
    if (parsed.is_array() && std::all_of(parsed.begin(), parsed.end(), [](const json& v) { return v.is_string(); }))
      instruction.exec_form = parsed.get<std::vector<std::string>>();
  }
  return instruction;
}

bool IsNameChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The builder's shell-like lexer (moby's shell.Lex): quotes and backslashes removed, variables
// substituted when there is a lookup, and words split on blanks outside quotes when `split`.
class WordLexer {
 public:
  WordLexer(std::string_view text, const VariableLookup& lookup) : text_(text), lookup_(lookup) {}

  absl::StatusOr<std::vector<std::string>> Words(bool split) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (split && IsBlank(c)) {
        if (in_word) words.push_back(std::exchange(word, {}));
        in_word = false;
        ++pos_;
        continue;
      }
      in_word = true;
      if (c == '\'') {
        size_t close = text_.find('\'', pos_ + 1);
        if (close == std::string_view::npos) return absl::InvalidArgumentError(fmt::format("unexpected end of statement while looking for matching single-quote in {}", text_));
        word.append(text_.substr(pos_ + 1, close - pos_ - 1));
        pos_ = close + 1;
      } else if (c == '"') {
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size())
            return absl::InvalidArgumentError(fmt::format("unexpected end of statement while looking for matching double-quote in {}", text_));
          char d = text_[pos_];
          if (d == '"') {
            ++pos_;
            break;
          }
          if (d == '\\' && pos_ + 1 < text_.size() && (text_[pos_ + 1] == '"' || text_[pos_ + 1] == '\\' || text_[pos_ + 1] == '$')) {
            word += text_[pos_ + 1];
            pos_ += 2;
          } else if (d == '$' && lookup_) {
            LIMAN_RETURN_IF_ERROR(AppendVariable(word));
          } else {
            word += d;
            ++pos_;
          }
        }
      } else if (c == '\\' && pos_ + 1 < text_.size()) {
        word += text_[pos_ + 1];
        pos_ += 2;
      } else if (c == '$' && lookup_) {
        LIMAN_RETURN_IF_ERROR(AppendVariable(word));
      } else {
        word += c;
        ++pos_;
      }
    }
    if (in_word || !split) words.push_back(std::move(word));
    return words;
  }

 private:
  absl::Status AppendVariable(std::string& word) {
    LIMAN_ASSIGN_OR_RETURN(std::string value, Variable());
    word += value;
    return absl::OkStatus();
  }

  // At a '$': the variable's value (or the '$' itself when no name follows).
  absl::StatusOr<std::string> Variable() {
    ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '{') {
      size_t close = text_.find('}', pos_);
      if (close == std::string_view::npos) return absl::InvalidArgumentError(fmt::format("missing '}}' in {}", text_));
      std::string_view inner = text_.substr(pos_ + 1, close - pos_ - 1);
      pos_ = close + 1;
      size_t colon = inner.find(':');
      std::string name(inner.substr(0, colon));
      if (name.empty() || !std::all_of(name.begin(), name.end(), IsNameChar))
        return absl::InvalidArgumentError(fmt::format("bad substitution: ${{{}}}", inner));
      std::optional<std::string> value = lookup_(name);
      if (colon == std::string_view::npos) return value.value_or("");
      std::string_view modifier = inner.substr(colon + 1);
      if (modifier.empty() || (modifier[0] != '-' && modifier[0] != '+'))
        return absl::InvalidArgumentError(fmt::format("unsupported modifier ({}) in substitution", modifier.substr(0, 1)));
      LIMAN_ASSIGN_OR_RETURN(std::string word, ExpandVariables(modifier.substr(1), lookup_));
      bool set = value.has_value() && !value->empty();
      if (modifier[0] == '-') return set ? *value : word;
      return set ? word : "";
    }
    size_t start = pos_;
    while (pos_ < text_.size() && IsNameChar(text_[pos_])) ++pos_;
    if (start == pos_) return std::string("$");
    return lookup_(std::string(text_.substr(start, pos_ - start))).value_or("");
  }

  std::string_view text_;
  const VariableLookup& lookup_;
  size_t pos_ = 0;
};

}  // namespace

std::string DockerfileInstruction::Text() const {
  std::string text = keyword;
  for (const std::string& flag : flags) text += " --" + flag;
  if (!arguments.empty()) text += " " + arguments;
  return text;
}

absl::StatusOr<std::vector<DockerfileInstruction>> ParseDockerfile(std::string_view text) {
  std::vector<DockerfileInstruction> instructions;
  std::string pending;
  int pending_line = 0;
  int number = 0;
  for (std::string_view line : SplitView(text, '\n')) {
    ++number;
    if (line.ends_with('\r')) line.remove_suffix(1);
    std::string_view trimmed = TrimBlanks(line);
    // Comments and empty lines are dropped, inside a continuation too.
    if (trimmed.empty() || trimmed[0] == '#') continue;
    if (pending.empty()) pending_line = number;
    std::string_view body;
    if (Continues(line, &body)) {
      pending.append(body);
      continue;
    }
    pending.append(line);
    LIMAN_ASSIGN_OR_RETURN(DockerfileInstruction instruction, ParseInstruction(pending, pending_line));
    instructions.push_back(std::move(instruction));
    pending.clear();
  }
  if (!TrimBlanks(pending).empty()) {
    LIMAN_ASSIGN_OR_RETURN(DockerfileInstruction instruction, ParseInstruction(pending, pending_line));
    instructions.push_back(std::move(instruction));
  }
  if (instructions.empty()) return absl::InvalidArgumentError("the Dockerfile (Dockerfile) cannot be empty");
  return instructions;
}

absl::StatusOr<std::string> ExpandVariables(std::string_view text, const VariableLookup& lookup) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> words, WordLexer(text, lookup).Words(false));
  return words.empty() ? std::string() : words.front();
}

absl::StatusOr<std::vector<std::string>> SplitWords(std::string_view text, const VariableLookup& lookup) {
  return WordLexer(text, lookup).Words(true);
}

absl::StatusOr<std::vector<std::string>> InstructionWords(const DockerfileInstruction& instruction,
                                                          const VariableLookup& lookup) {
  if (!instruction.exec_form) return SplitWords(instruction.arguments, lookup);
  std::vector<std::string> words;
  for (const std::string& word : *instruction.exec_form) {
    LIMAN_ASSIGN_OR_RETURN(std::string expanded, ExpandVariables(word, lookup));
    words.push_back(std::move(expanded));
  }
  return words;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseKeyValuePairs(const DockerfileInstruction& instruction,
                                                                                   const VariableLookup& lookup) {
  std::string_view arguments = instruction.arguments;
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t first_end = 0;
  while (first_end < arguments.size() && !IsBlank(arguments[first_end])) ++first_end;
  if (arguments.substr(0, first_end).find('=') == std::string_view::npos) {
    // The older form: one key, the rest of the line its value.
    std::string_view value = TrimBlanks(arguments.substr(first_end));
    if (first_end == 0 || value.empty())
      return absl::InvalidArgumentError(fmt::format("{} must have two arguments", instruction.keyword));
    LIMAN_ASSIGN_OR_RETURN(std::string key, ExpandVariables(arguments.substr(0, first_end), lookup));
    LIMAN_ASSIGN_OR_RETURN(std::string expanded, ExpandVariables(value, lookup));
    pairs.emplace_back(std::move(key), std::move(expanded));
    return pairs;
  }
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> words, SplitWords(arguments, lookup));
  for (const std::string& word : words) {
    size_t equals = word.find('=');
    if (equals == std::string::npos || equals == 0)
      return absl::InvalidArgumentError(fmt::format(
          "Syntax error - can't find = in \"{}\". Must be of the form: name=value", word));
    pairs.emplace_back(word.substr(0, equals), word.substr(equals + 1));
  }
  if (pairs.empty()) return absl::InvalidArgumentError(fmt::format("{} requires at least one argument", instruction.keyword));
  return pairs;
}

VariableLookup EnvLookup(const json& env) {
  return [env](const std::string& name) -> std::optional<std::string> {
    std::optional<std::string> found;
    if (!env.is_array()) return found;
    for (const json& entry : env) {
      if (!entry.is_string()) continue;
      const std::string& text = entry.get_ref<const std::string&>();
      if (text.size() > name.size() && text.compare(0, name.size(), name) == 0 && text[name.size()] == '=')
        found = text.substr(name.size() + 1);
    }
    return found;
  };
}

namespace {

// CMD's and ENTRYPOINT's command: the exec form as it is, the shell form under the config's
// Shell (or /bin/sh -c).
json CommandOf(const DockerfileInstruction& instruction, const json& config) {
  if (instruction.exec_form) return *instruction.exec_form;
  json command = config.contains("Shell") && config["Shell"].is_array() && !config["Shell"].empty()
                     ? config["Shell"]
                     : json::array({"/bin/sh", "-c"});
  command.push_back(instruction.arguments);
  return command;
}

// EXPOSE's "80", "53/udp" or "8000-8002/tcp" as ExposedPorts keys.
absl::StatusOr<std::vector<std::string>> ExposedPorts(const std::string& word) {
  std::string_view spec = word;
  std::string protocol = "tcp";
  if (size_t slash = spec.find('/'); slash != std::string_view::npos) {
    protocol = AsciiLower(spec.substr(slash + 1));
    spec = spec.substr(0, slash);
  }
  auto bad = [&] { return absl::InvalidArgumentError(fmt::format("Invalid containerPort: {}", word)); };
  if (protocol != "tcp" && protocol != "udp" && protocol != "sctp") return bad();
  std::vector<std::string_view> range = SplitView(spec, '-');
  int first = 0, last = 0;
  auto number = [](std::string_view text, int* out) {
    return absl::SimpleAtoi(absl::string_view(text.data(), text.size()), out);
  };
  if (range.size() > 2 || !number(range[0], &first)) return bad();
  last = first;
  if (range.size() == 2 && !number(range[1], &last)) return bad();
  if (first < 0 || last > 65535 || last < first) return bad();
  std::vector<std::string> ports;
  for (int port = first; port <= last; ++port) ports.push_back(fmt::format("{}/{}", port, protocol));
  return ports;
}

json& ObjectMember(json& config, const char* name) {
  if (!config.contains(name) || !config[name].is_object()) config[name] = json::object();
  return config[name];
}

}  // namespace

absl::Status ApplyConfigInstruction(const DockerfileInstruction& instruction, json& config, bool& cmd_set,
                                    const VariableLookup& build_args) {
  VariableLookup env = EnvLookup(config.value("Env", json::array()));
  VariableLookup lookup = [&](const std::string& name) -> std::optional<std::string> {
    if (std::optional<std::string> value = env(name)) return value;
    return build_args ? build_args(name) : std::nullopt;
  };
  const std::string& keyword = instruction.keyword;
  if (keyword == "CMD") {
    config["Cmd"] = CommandOf(instruction, config);
    cmd_set = true;
  } else if (keyword == "ENTRYPOINT") {
    config["Entrypoint"] = CommandOf(instruction, config);
    // A new entrypoint drops the inherited command (moby's dispatchEntrypoint).
    if (!cmd_set) config["Cmd"] = nullptr;
  } else if (keyword == "ENV" || keyword == "LABEL") {
    LIMAN_ASSIGN_OR_RETURN(auto pairs, ParseKeyValuePairs(instruction, lookup));
    if (keyword == "LABEL") {
      json& labels = ObjectMember(config, "Labels");
      for (auto& [key, value] : pairs) labels[key] = value;
      return absl::OkStatus();
    }
    json env_list = config.value("Env", json::array());
    if (!env_list.is_array()) env_list = json::array();
    for (auto& [key, value] : pairs) {
      std::string prefix = key + "=";
      auto same = std::find_if(env_list.begin(), env_list.end(), [&](const json& entry) {
        return entry.is_string() && entry.get_ref<const std::string&>().starts_with(prefix);
      });
      if (same != env_list.end()) {
        *same = prefix + value;
      } else {
        env_list.push_back(prefix + value);
      }
    }
    config["Env"] = env_list;
  } else if (keyword == "EXPOSE") {
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> words, SplitWords(instruction.arguments, lookup));
    if (words.empty()) return absl::InvalidArgumentError("EXPOSE requires at least one argument");
    json& exposed = ObjectMember(config, "ExposedPorts");
    for (const std::string& word : words) {
      LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> ports, ExposedPorts(word));
      for (const std::string& port : ports) exposed[port] = json::object();
    }
  } else if (keyword == "USER" || keyword == "STOPSIGNAL") {
    LIMAN_ASSIGN_OR_RETURN(std::string value, ExpandVariables(instruction.arguments, lookup));
    if (value.empty()) return absl::InvalidArgumentError(fmt::format("{} requires exactly one argument", keyword));
    config[keyword == "USER" ? "User" : "StopSignal"] = value;
  } else if (keyword == "WORKDIR") {
    LIMAN_ASSIGN_OR_RETURN(std::string dir, ExpandVariables(instruction.arguments, lookup));
    if (dir.empty()) return absl::InvalidArgumentError("WORKDIR requires exactly one argument");
    // A relative WORKDIR continues from the one before (moby's normalizeWorkdir).
    std::string base = config.value("WorkingDir", "");
    config["WorkingDir"] = CleanAbsolutePath(dir.starts_with('/') ? dir : JoinPath(base.empty() ? "/" : base, dir));
  } else if (keyword == "VOLUME") {
    LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> paths, InstructionWords(instruction, lookup));
    if (paths.empty()) return absl::InvalidArgumentError("VOLUME requires at least one argument");
    json& volumes = ObjectMember(config, "Volumes");
    for (const std::string& path : paths) {
      if (path.empty()) return absl::InvalidArgumentError("VOLUME specified can not be an empty string");
      volumes[path] = json::object();
    }
  } else if (keyword == "ONBUILD") {
    if (!config.contains("OnBuild") || !config["OnBuild"].is_array()) config["OnBuild"] = json::array();
    config["OnBuild"].push_back(instruction.arguments);
  } else {
    return absl::InvalidArgumentError(fmt::format("{} is not a valid change command", keyword));
  }
  return absl::OkStatus();
}

absl::Status ApplyConfigChanges(const std::vector<std::string>& changes, json& config) {
  bool cmd_set = false;  // the changes are one Dockerfile: a CMD in any holds against ENTRYPOINT
  for (const std::string& change : changes) {
    LIMAN_ASSIGN_OR_RETURN(std::vector<DockerfileInstruction> instructions, ParseDockerfile(change));
    for (const DockerfileInstruction& instruction : instructions)
      LIMAN_RETURN_IF_ERROR(ApplyConfigInstruction(instruction, config, cmd_set));
  }
  return absl::OkStatus();
}

absl::StatusOr<json> HealthcheckConfig(const DockerfileInstruction& instruction) {
  std::string_view arguments = TrimBlanks(instruction.arguments);
  size_t end = 0;
  while (end < arguments.size() && !IsBlank(arguments[end])) ++end;
  std::string type = AsciiLower(arguments.substr(0, end));
  std::string_view rest = TrimBlanks(arguments.substr(end));
  if (type == "none") {
    if (!rest.empty() || !instruction.flags.empty())
      return absl::InvalidArgumentError("HEALTHCHECK NONE takes no arguments");
    return json{{"Test", {"NONE"}}};
  }
  if (type != "cmd") return absl::InvalidArgumentError(fmt::format("Unknown type \"{}\" in HEALTHCHECK (try CMD)", type));
  if (rest.empty()) return absl::InvalidArgumentError("Missing command after HEALTHCHECK CMD");
  json test = json::array({"CMD-SHELL", std::string(rest)});
  json parsed = json::parse(rest, nullptr, false);
  if (parsed.is_array() && !parsed.empty() &&
      std::all_of(parsed.begin(), parsed.end(), [](const json& v) { return v.is_string(); })) {
    test = json::array({"CMD"});
    test.insert(test.end(), parsed.begin(), parsed.end());
  }
  json config = {{"Test", test}};
  for (const std::string& flag : instruction.flags) {
    size_t equals = flag.find('=');
    std::string name = flag.substr(0, equals);
    std::string value = equals == std::string::npos ? "" : flag.substr(equals + 1);
    if (name == "retries") {
      int retries = 0;
      if (!absl::SimpleAtoi(value, &retries) || retries < 0)
        return absl::InvalidArgumentError(fmt::format("--retries must be at least 0: {}", value));
      if (retries > 0) config["Retries"] = retries;
      continue;
    }
    static const std::map<std::string, std::string> kDurations = {
        {"interval", "Interval"}, {"timeout", "Timeout"}, {"start-period", "StartPeriod"},
        {"start-interval", "StartInterval"}};
    auto field = kDurations.find(name);
    if (field == kDurations.end()) return absl::InvalidArgumentError(fmt::format("HEALTHCHECK: unknown flag: --{}", name));
    absl::Duration duration;
    if (!absl::ParseDuration(value, &duration) || duration < absl::ZeroDuration())
      return absl::InvalidArgumentError(fmt::format("HEALTHCHECK --{}: invalid duration {}", name, value));
    if (duration != absl::ZeroDuration() && duration < absl::Milliseconds(1))
      return absl::InvalidArgumentError(fmt::format("HEALTHCHECK --{} cannot be less than 1ms", name));
    if (duration != absl::ZeroDuration()) config[field->second] = absl::ToInt64Nanoseconds(duration);
  }
  return config;
}

}  // namespace liman::engine
