// How the command groups plug into main: each group adds its CLI11 subcommands and, when one of
// them is parsed, sets the action main runs with a connected Client. An action returns the exit
// code (run and exec return the container's); errors become `liman-ctr: <message>`, exit 1.
#pragma once

#include <functional>
#include <memory>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "ctl/liman-ctr/client.h"

namespace liman::ctr {

using Action = std::function<absl::StatusOr<int>(Client&)>;

struct CommandLine {
  GlobalOptions globals;
  Action action;
  // The command attaches to a process: it reads the forwarded signals itself (process.h).
  bool attaches = false;
};

// Sets `action` as what runs when `command` is the one parsed.
inline void OnRun(CLI::App* command, CommandLine& line, Action action, bool attaches = false) {
  command->callback([&line, action = std::move(action), attaches] {
    line.action = action;
    line.attaches = attaches;
  });
}

// Options of one command live as long as the CLI: the callbacks read them after parsing.
template <typename T>
std::shared_ptr<T> Options() {
  return std::make_shared<T>();
}

void AddVersionCommand(CLI::App& app, CommandLine& line);
void AddNamespacesCommands(CLI::App& app, CommandLine& line);
void AddImagesCommands(CLI::App& app, CommandLine& line);
void AddContentCommands(CLI::App& app, CommandLine& line);
void AddSnapshotsCommands(CLI::App& app, CommandLine& line);
void AddContainersCommands(CLI::App& app, CommandLine& line);
void AddTasksCommands(CLI::App& app, CommandLine& line);
void AddRunCommand(CLI::App& app, CommandLine& line);
void AddEventsCommand(CLI::App& app, CommandLine& line);

// Writes to stdout, all of it (EINTR/short writes); output errors end the command.
void WriteOut(std::string_view text);

}  // namespace liman::ctr
