// liman-shimctl's command line: `liman-shimctl [GLOBAL FLAGS] COMMAND [FLAGS] [ARGS...]`. Global
// flags may come anywhere, a command's own flags after it (`--name value`, `--name=value`,
// `--bool`); `--` ends them. Each command declares which flags it accepts, so a typo is a usage
// error rather than ignored.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace liman::shimctl {

// Flags every command accepts.
inline const std::set<std::string> kGlobalValueFlags = {"address", "timeout", "field", "id"};

struct CommandSpec {
  std::string name;
  std::set<std::string> value_flags;  // besides the global ones
  std::set<std::string> bool_flags;
  size_t min_args = 0;
  size_t max_args = 0;  // SIZE_MAX: any number
  std::string usage;    // "[--exec-id ID] SIGNAL"
};

class Invocation {
 public:
  const std::string& command() const { return command_; }
  const std::vector<std::string>& args() const { return args_; }
  bool Has(const std::string& flag) const { return values_.count(flag) != 0 || bools_.count(flag) != 0; }
  bool Bool(const std::string& flag) const { return bools_.count(flag) != 0; }
  // The flag's value, or `fallback` when absent.
  std::string Value(const std::string& flag, const std::string& fallback = "") const;
  // The flag's value; kInvalidArgument naming the flag when it is absent or empty.
  absl::StatusOr<std::string> Required(const std::string& flag) const;
  // --timeout as a duration ("30s", "1m", or plain seconds); "0" means no deadline. Default 60 s.
  absl::StatusOr<absl::Duration> Timeout() const;

 private:
  friend absl::StatusOr<Invocation> ParseCommandLine(int argc, char** argv,
                                                     const std::vector<CommandSpec>& commands,
                                                     const CommandSpec** matched);
  std::string command_;
  std::vector<std::string> args_;
  std::map<std::string, std::string> values_;
  std::set<std::string> bools_;
};

// A command: its flags and arguments, and what it does. Run returns the error to report; its output
// (one line of JSON) is printed by Run itself.
struct Command {
  CommandSpec spec;
  std::function<absl::Status(const Invocation&)> run;
};

// Parses argv against `commands`; sets *matched to the command's spec. Errors are usage errors
// (kInvalidArgument) with a message saying what was wrong.
absl::StatusOr<Invocation> ParseCommandLine(int argc, char** argv, const std::vector<CommandSpec>& commands,
                                            const CommandSpec** matched);

}  // namespace liman::shimctl
