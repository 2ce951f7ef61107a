// volume create, ls, inspect, rm, prune.
#include "common/status.h"
#include "ctl/liman/cli.h"
#include "ctl/liman/format.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

struct VolumeCreateOptions {
  std::string name, driver = "local";
  std::vector<std::string> options, labels;
};

struct VolumeListOptions {
  bool quiet = false;
  std::string format;
  std::vector<std::string> filters;
};

struct VolumeRemoveOptions {
  bool force = false;
  std::vector<std::string> names;
};

}  // namespace

// "k=v" words as a JSON object.
json KeyValueObject(const std::vector<std::string>& pairs) {
  json map = json::object();
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    map[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
  }
  return map;
}


void AddVolumeCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("volume", "Manage volumes");
  group->require_subcommand(1);

  auto create = Options<VolumeCreateOptions>();
  CLI::App* create_command = group->add_subcommand("create", "Create a volume");
  create_command->add_option("-d,--driver", create->driver, "specify volume driver name");
  AddRepeated(create_command, "-o,--opt", create->options, "set driver specific options");
  AddRepeated(create_command, "--label", create->labels, "set metadata for a volume");
  create_command->add_option("name", create->name, "[VOLUME]");
  OnRun(create_command, line, [create](EngineClient& client) -> absl::StatusOr<int> {
    json request = {{"Name", create->name},
                    {"Driver", create->driver},
                    {"DriverOpts", KeyValueObject(create->options)},
                    {"Labels", KeyValueObject(create->labels)}};
    LIMAN_ASSIGN_OR_RETURN(json created, client.Call("POST", "/volumes/create", &request));
    WriteOut(created.value("Name", "") + "\n");
    return 0;
  });

  auto list = Options<VolumeListOptions>();
  CLI::App* ls_command = group->add_subcommand("ls", "List volumes");
  ls_command->alias("list");
  ls_command->add_flag("-q,--quiet", list->quiet, "only display volume names");
  ls_command->add_option("--format", list->format, "pretty-print volumes using a Go template");
  AddRepeated(ls_command, "-f,--filter", list->filters, "provide filter values (e.g. 'dangling=true')");
  OnRun(ls_command, line, [list](EngineClient& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(list->filters));
    LIMAN_ASSIGN_OR_RETURN(json answer, client.Call("GET", "/volumes?" + filters.substr(std::min<size_t>(1, filters.size()))));
    std::vector<json> rows;
    for (const json& volume : answer.value("Volumes", json::array())) {
      std::vector<std::string> labels;
      if (volume.contains("Labels") && volume["Labels"].is_object())
        for (const auto& [k, v] : volume["Labels"].items()) labels.push_back(k + "=" + v.get<std::string>());
      rows.push_back({{"Driver", volume.value("Driver", "")},
                      {"Name", volume.value("Name", "")},
                      {"Scope", volume.value("Scope", "local")},
                      {"Mountpoint", volume.value("Mountpoint", "")},
                      {"Labels", fmt::format("{}", fmt::join(labels, ","))}});
    }
    if (list->quiet) {
      for (const json& row : rows) WriteOut(row["Name"].get<std::string>() + "\n");
      return 0;
    }
    LIMAN_ASSIGN_OR_RETURN(std::string text, FormatRows(list->format, "{{.Driver}}\t{{.Name}}", rows, {{"Name", "VOLUME NAME"}}));
    WriteOut(text);
    return 0;
  });

  auto remove = Options<VolumeRemoveOptions>();
  CLI::App* rm_command = group->add_subcommand("rm", "Remove one or more volumes");
  rm_command->alias("remove");
  rm_command->add_flag("-f,--force", remove->force, "force the removal of one or more volumes");
  rm_command->add_option("volumes", remove->names, "VOLUME...")->required();
  OnRun(rm_command, line, [remove](EngineClient& client) -> absl::StatusOr<int> {
    return ForEachName(remove->names, [&](const std::string& name) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(
          client.Call("DELETE", fmt::format("/volumes/{}?force={}", QueryEscape(name), remove->force ? 1 : 0)).status());
      WriteOut(name + "\n");
      return absl::OkStatus();
    });
  });

  AddInspectCommand(group, line, "volume", "Display detailed information on one or more volumes");
  AddPruneCommand(group, line, "Remove all unused local volumes",
                  {"/volumes/prune", "This will remove all local volumes not used by at least one container.",
                   "VolumesDeleted", "Deleted Volumes:", true});
}

}  // namespace liman::cli
