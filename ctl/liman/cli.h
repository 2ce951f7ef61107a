// How liman's command groups plug into main (like the docker CLI's command packages): each group
// adds its CLI11 subcommands; the one parsed sets the action main runs with a client of the
// engine. An action returns the exit code: the container's for run, start -a and exec; docker's
// 125/126/127 when run itself fails; 1 for any other failure.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "ctl/liman/engine_client.h"

namespace liman::cli {

using Action = std::function<absl::StatusOr<int>(EngineClient&)>;

struct CommandLine {
  std::string host;
  Action action;
};

// Sets `action` as what runs when `command` is the one parsed.
inline void OnRun(CLI::App* command, CommandLine& line, Action action) {
  command->callback([&line, action = std::move(action)] { line.action = action; });
}

// Options of one command live as long as the CLI: the callbacks read them after parsing.
template <typename T>
std::shared_ptr<T> Options() {
  return std::make_shared<T>();
}

// A repeatable option that takes exactly one word each time (`-e A=1 -e B=2`), as docker's.
template <typename T>
CLI::Option* AddRepeated(CLI::App* command, const std::string& name, T& values, const std::string& help) {
  return command->add_option(name, values, help)->allow_extra_args(false);
}

void AddContainerCommands(CLI::App& app, CommandLine& line);
void AddRunCommands(CLI::App& app, CommandLine& line);
void AddExecCommand(CLI::App& app, CommandLine& line);
void AddImageCommands(CLI::App& app, CommandLine& line);
void AddVolumeCommands(CLI::App& app, CommandLine& line);
void AddNetworkCommands(CLI::App& app, CommandLine& line);
void AddSystemCommands(CLI::App& app, CommandLine& line);

// docker inspect: the objects as an indented JSON array, or each through a --format template.
// `type` restricts the lookup ("container", "image", "volume", "network"); "" tries each.
absl::StatusOr<int> InspectObjects(EngineClient& client, const std::vector<std::string>& names, const std::string& type,
                                   const std::string& format, bool size);

// -f/--filter "name=value" words as docker's filters query parameter ("&filters=<json>"), or
// "" when there are none.
absl::StatusOr<std::string> FiltersQuery(const std::vector<std::string>& filters);

// `GROUP inspect` (image, volume, network): InspectObjects restricted to `type`.
void AddInspectCommand(CLI::App* group, CommandLine& line, const std::string& type, const std::string& help);

// What `GROUP prune` removes, as docker words it.
struct PruneKind {
  std::string path;            // "/containers/prune"
  std::string warning;         // "This will remove all stopped containers."
  std::string deleted_key;     // "ContainersDeleted"
  std::string deleted_title;   // "Deleted Containers:"
  bool reports_space = true;   // "Total reclaimed space: …" (networks have none)
  // Images: `-a` prunes every unused image (filter dangling=false), with this warning.
  std::string all_warning;
};
// `GROUP prune [-f] [--filter F]`: asks first unless -f, then prints what went and the space.
// Deleted items are ids or names, or (images) {"Untagged": name} / {"Deleted": id}.
void AddPruneCommand(CLI::App* group, CommandLine& line, const std::string& help, PruneKind kind);

// "k=v" words (labels, driver options) as a JSON object; a word without '=' maps to "".
nlohmann::json KeyValueObject(const std::vector<std::string>& pairs);

// Writes to stdout, all of it; a closed stdout ends the program.
void WriteOut(std::string_view text);
// "Error response from daemon: …" for the daemon's answers, "Error: …" for ours, on stderr.
void PrintError(const absl::Status& status);
// Runs `each` for every name, prints what fails and goes on (docker rm a b c); 0 or 1.
int ForEachName(const std::vector<std::string>& names, const std::function<absl::Status(const std::string&)>& each);

}  // namespace liman::cli
