// The runc command line, one verb a file: each Add*Command registers its CLI11 subcommand, whose
// callback does the work through the runtime library and leaves its exit code in the context.
#pragma once

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "runtime/state.h"

namespace liman::runtime {

struct CommandContext {
  std::string root = "/run/liman/runtime";
  std::string log_file;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  std::string rootless = "auto";
  char** argv = nullptr;  // for the sealed re-exec
  std::vector<std::string> exec_args;  // `exec ID CMD…`: CMD…, split off before parsing
  int exit_code = 0;
  StateStore store() const { return StateStore(root); }
  // Reports `status` (to the log and stderr) and sets exit code 1 if it is an error.
  void Report(const absl::Status& status);
  // Re-executes from a sealed view of the binary unless already running from one (CVE-2019-5736).
  absl::Status EnsureSealed();
};

void AddSpecCommand(CLI::App& app, CommandContext& context);
void AddCreateCommand(CLI::App& app, CommandContext& context);
void AddStartCommand(CLI::App& app, CommandContext& context);
void AddRunCommand(CLI::App& app, CommandContext& context);
void AddStateCommand(CLI::App& app, CommandContext& context);
void AddKillCommand(CLI::App& app, CommandContext& context);
void AddDeleteCommand(CLI::App& app, CommandContext& context);
void AddListCommand(CLI::App& app, CommandContext& context);
void AddPsCommand(CLI::App& app, CommandContext& context);
void AddExecCommand(CLI::App& app, CommandContext& context);
void AddPauseCommands(CLI::App& app, CommandContext& context);
void AddUpdateCommand(CLI::App& app, CommandContext& context);
void AddEventsCommand(CLI::App& app, CommandContext& context);
void AddFeaturesCommand(CLI::App& app, CommandContext& context);

// The verb of a runc command line: the first word after the global options ("" if none).
std::string FindVerb(int argc, char** argv);

// Splits `exec [flags] ID CMD…` so CMD (which has flags of its own, `sh -c …`) never reaches
// the option parser: returns argv up to and including ID; CMD goes to *command.
std::vector<char*> SplitExecCommand(int argc, char** argv, std::vector<std::string>* command);

// "9", "KILL", "SIGKILL" -> 9.
absl::StatusOr<int> ParseSignal(const std::string& text);
// An absolute bundle path: the given one, or the current directory.
absl::StatusOr<std::string> ResolveBundle(const std::string& bundle);

}  // namespace liman::runtime
