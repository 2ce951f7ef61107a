// network create, ls, inspect, rm, connect, disconnect, prune.
#include "common/status.h"
#include "ctl/liman/cli.h"
#include "ctl/liman/format.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

struct NetworkCreateOptions {
  std::string name, driver = "bridge", subnet, gateway, ip_range;
  bool internal = false, attachable = false;
  std::vector<std::string> options, labels;
};

struct NetworkListOptions {
  bool quiet = false, no_trunc = false;
  std::string format;
  std::vector<std::string> filters;
};

struct NetworkConnectOptions {
  std::string network, container, ip;
  std::vector<std::string> aliases;
  bool force = false;
};

absl::StatusOr<int> ListNetworks(EngineClient& client, const NetworkListOptions& options) {
  LIMAN_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(options.filters));
  LIMAN_ASSIGN_OR_RETURN(json networks, client.Call("GET", "/networks?" + filters.substr(std::min<size_t>(1, filters.size()))));
  std::vector<json> rows;
  for (const json& network : networks) {
    std::string id = network.value("Id", "");
    rows.push_back({{"ID", options.no_trunc ? id : id.substr(0, 12)},
                    {"Name", network.value("Name", "")},
                    {"Driver", network.value("Driver", "")},
                    {"Scope", network.value("Scope", "local")},
                    {"IPv6", network.value("EnableIPv6", false) ? "true" : "false"},
                    {"Internal", network.value("Internal", false) ? "true" : "false"},
                    {"CreatedAt", network.value("Created", "")}});
  }
  // docker lists networks by name
  std::sort(rows.begin(), rows.end(), [](const json& a, const json& b) { return a["Name"] < b["Name"]; });
  if (options.quiet) {
    for (const json& row : rows) WriteOut(row["ID"].get<std::string>() + "\n");
    return 0;
  }
  LIMAN_ASSIGN_OR_RETURN(std::string text, FormatRows(options.format, "{{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}", rows,
                                                      {{"ID", "NETWORK ID"}, {"CreatedAt", "CREATED AT"}}));
  WriteOut(text);
  return 0;
}

}  // namespace

void AddNetworkCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("network", "Manage networks");
  group->require_subcommand(1);

  auto create = Options<NetworkCreateOptions>();
  CLI::App* create_command = group->add_subcommand("create", "Create a network");
  create_command->add_option("-d,--driver", create->driver, "driver to manage the network");
  create_command->add_option("--subnet", create->subnet, "subnet in CIDR format that represents a network segment");
  create_command->add_option("--gateway", create->gateway, "IPv4 gateway for the master subnet");
  create_command->add_option("--ip-range", create->ip_range, "allocate container ip from a sub-range");
  create_command->add_flag("--internal", create->internal, "restrict external access to the network");
  create_command->add_flag("--attachable", create->attachable, "enable manual container attachment");
  AddRepeated(create_command, "-o,--opt", create->options, "set driver specific options");
  AddRepeated(create_command, "--label", create->labels, "set metadata on a network");
  create_command->add_option("name", create->name, "NETWORK")->required();
  OnRun(create_command, line, [create](EngineClient& client) -> absl::StatusOr<int> {
    json ipam = {{"Driver", "default"}, {"Config", json::array()}, {"Options", json::object()}};
    if (!create->subnet.empty()) {
      json config = {{"Subnet", create->subnet}};
      if (!create->gateway.empty()) config["Gateway"] = create->gateway;
      if (!create->ip_range.empty()) config["IPRange"] = create->ip_range;
      ipam["Config"].push_back(config);
    } else if (!create->gateway.empty()) {
      return absl::InvalidArgumentError("every ip-range or gateway must have a corresponding subnet");
    }
    json request = {{"Name", create->name},        {"CheckDuplicate", true},
                    {"Driver", create->driver},    {"Internal", create->internal},
                    {"Attachable", create->attachable}, {"IPAM", ipam},
                    {"Options", KeyValueObject(create->options)}, {"Labels", KeyValueObject(create->labels)}};
    LIMAN_ASSIGN_OR_RETURN(json created, client.Call("POST", "/networks/create", &request));
    if (created.contains("Warning") && created["Warning"].is_string() && !created["Warning"].get<std::string>().empty())
      fmt::print(stderr, "WARNING: {}\n", created["Warning"].get<std::string>());
    WriteOut(created.value("Id", "") + "\n");
    return 0;
  });

  auto list = Options<NetworkListOptions>();
  CLI::App* ls_command = group->add_subcommand("ls", "List networks");
  ls_command->alias("list");
  ls_command->add_flag("-q,--quiet", list->quiet, "only display network IDs");
  ls_command->add_flag("--no-trunc", list->no_trunc, "do not truncate the output");
  ls_command->add_option("--format", list->format, "pretty-print networks using a Go template");
  AddRepeated(ls_command, "-f,--filter", list->filters, "provide filter values (e.g. 'driver=bridge')");
  OnRun(ls_command, line, [list](EngineClient& client) { return ListNetworks(client, *list); });

  auto remove = Options<std::vector<std::string>>();
  CLI::App* rm_command = group->add_subcommand("rm", "Remove one or more networks");
  rm_command->alias("remove");
  rm_command->add_option("networks", *remove, "NETWORK...")->required();
  OnRun(rm_command, line, [remove](EngineClient& client) -> absl::StatusOr<int> {
    return ForEachName(*remove, [&](const std::string& name) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(client.Call("DELETE", "/networks/" + QueryEscape(name)).status());
      WriteOut(name + "\n");
      return absl::OkStatus();
    });
  });

  AddInspectCommand(group, line, "network", "Display detailed information on one or more networks");
  AddPruneCommand(group, line, "Remove all unused networks",
                  {"/networks/prune", "This will remove all custom networks not used by at least one container.",
                   "NetworksDeleted", "Deleted Networks:", false});

  for (bool connect : {true, false}) {
    auto options = Options<NetworkConnectOptions>();
    CLI::App* command = group->add_subcommand(connect ? "connect" : "disconnect",
                                              connect ? "Connect a container to a network" : "Disconnect a container from a network");
    if (connect) {
      AddRepeated(command, "--alias", options->aliases, "add network-scoped alias for the container");
      command->add_option("--ip", options->ip, "IPv4 address (e.g., 172.30.100.104)");
    } else {
      command->add_flag("-f,--force", options->force, "force the container to disconnect from a network");
    }
    command->add_option("network", options->network, "NETWORK")->required();
    command->add_option("container", options->container, "CONTAINER")->required();
    OnRun(command, line, [options, connect](EngineClient& client) -> absl::StatusOr<int> {
      json request = {{"Container", options->container}};
      if (connect) {
        json endpoint = json::object();
        if (!options->aliases.empty()) endpoint["Aliases"] = options->aliases;
        if (!options->ip.empty()) endpoint["IPAMConfig"] = {{"IPv4Address", options->ip}};
        request["EndpointConfig"] = endpoint;
      } else {
        request["Force"] = options->force;
      }
      LIMAN_RETURN_IF_ERROR(client.Call("POST", fmt::format("/networks/{}/{}", QueryEscape(options->network),
                                                            connect ? "connect" : "disconnect"), &request)
                                .status());
      return 0;
    });
  }
}

}  // namespace liman::cli
