#include "integration/shimctl/cli.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::shimctl {

std::string Invocation::Value(const std::string& flag, const std::string& fallback) const {
  auto it = values_.find(flag);
  return it == values_.end() ? fallback : it->second;
}

absl::StatusOr<std::string> Invocation::Required(const std::string& flag) const {
  std::string value = Value(flag);
  if (value.empty()) return absl::InvalidArgumentError(fmt::format("{}: --{} is required", command_, flag));
  return value;
}

absl::StatusOr<absl::Duration> Invocation::Timeout() const {
  std::string text = Value("timeout", "60s");
  absl::Duration timeout;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    timeout = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &timeout)) {
    return absl::InvalidArgumentError(fmt::format("--timeout {}: not a duration (30s, 2m, or seconds)", Quote(text)));
  }
  if (timeout < absl::ZeroDuration())
    return absl::InvalidArgumentError(fmt::format("--timeout {}: negative", Quote(text)));
  return timeout == absl::ZeroDuration() ? absl::InfiniteDuration() : timeout;
}

absl::StatusOr<Invocation> ParseCommandLine(int argc, char** argv, const std::vector<CommandSpec>& commands,
                                            const CommandSpec** matched) {
  Invocation inv;
  // Flags are collected first and checked once the command (and so its flag set) is known.
  std::vector<std::pair<std::string, std::optional<std::string>>> flags;
  std::vector<std::string> positionals;
  const CommandSpec* spec = nullptr;
  bool flags_done = false;

  auto is_value_flag = [&](const std::string& name) {
    return kGlobalValueFlags.count(name) != 0 || (spec != nullptr && spec->value_flags.count(name) != 0);
  };

  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    if (!flags_done && arg.size() > 2 && arg.compare(0, 2, "--") == 0) {
      std::string name = arg.substr(2);
      std::optional<std::string> value;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      }
      // Before the command only the global flags are known: `--exec-id X wait` would otherwise
      // make X the command.
      if (spec == nullptr && kGlobalValueFlags.count(name) == 0)
        return absl::InvalidArgumentError(fmt::format("flag --{} goes after the command", name));
      if (!value && is_value_flag(name)) {
        if (i + 1 >= argc) return absl::InvalidArgumentError(fmt::format("flag --{} needs a value", name));
        value = argv[++i];
      }
      flags.emplace_back(name, value);
      continue;
    }
    if (spec == nullptr) {
      for (const CommandSpec& candidate : commands) {
        if (candidate.name == arg) spec = &candidate;
      }
      if (spec == nullptr) return absl::InvalidArgumentError(fmt::format("unknown command {}", Quote(arg)));
      inv.command_ = arg;
      continue;
    }
    positionals.push_back(arg);
  }
  if (spec == nullptr) return absl::InvalidArgumentError("no command given");

  for (auto& [name, value] : flags) {
    if (is_value_flag(name)) {
      if (!value) return absl::InvalidArgumentError(fmt::format("flag --{} needs a value", name));
      inv.values_[name] = *value;
    } else if (spec->bool_flags.count(name) != 0) {
      if (value && *value != "true" && *value != "false")
        return absl::InvalidArgumentError(fmt::format("flag --{}: {} is not true or false", name, Quote(*value)));
      if (!value || *value == "true") inv.bools_.insert(name);
    } else {
      return absl::InvalidArgumentError(fmt::format("{}: unknown flag --{}", spec->name, name));
    }
  }
  if (positionals.size() < spec->min_args || positionals.size() > spec->max_args) {
    return absl::InvalidArgumentError(
        fmt::format("{}: wrong number of arguments (usage: {} {})", spec->name, spec->name, spec->usage));
  }
  inv.args_ = std::move(positionals);
  *matched = spec;
  return inv;
}

}  // namespace liman::shimctl
