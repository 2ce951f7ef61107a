// A command line that ends with a process's own command (`run IMAGE sh -c …`, `exec ID ls -l`):
// shared by liman-ctr and liman, whose CLI11 parsers would otherwise take the process's words
// that look like their options.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace liman::ctr {

// Marks `command` as taking a process's command line after `positionals` words of its own
// (run: IMAGE ID; tasks exec: ID).
void TakesCommandAfter(CLI::App* command, int positionals);
// CLI11 would read a word of the container's command that looks like one of our options
// (`run IMAGE ID ls -t`) as ours. This walks the arguments (without argv[0]) the way CLI11
// will, and puts a "--" in front of the command of a command marked by TakesCommandAfter.
std::vector<std::string> SeparateCommand(const CLI::App& app, std::vector<std::string> args);

}  // namespace liman::ctr
