// Container commands besides run/create/start: stop, restart, kill, rm, pause, unpause, wait,
// ps, logs, inspect, top, stats, port, with docker's outputs.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ascii.h"
#include "common/status.h"
#include "ctl/liman-ctr/command_split.h"
#include "ctl/liman-ctr/table.h"
#include "ctl/liman/attach.h"
#include "ctl/liman/cli.h"
#include "ctl/liman/format.h"
#include "ctl/liman/run_options.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

std::string ContainerPath(const std::string& name, const std::string& rest = "") {
  return "/containers/" + QueryEscape(name) + rest;
}

// api/types.Port list as docker ps shows it: "127.0.0.1:8080->80/tcp, 443/tcp".
std::string DisplayPorts(const json& ports) {
  std::vector<std::string> shown;
  if (ports.is_array())
    for (const json& port : ports) {
      std::string type = port.value("Type", "tcp");
      int private_port = port.value("PrivatePort", 0), public_port = port.value("PublicPort", 0);
      if (public_port != 0)
        shown.push_back(fmt::format("{}:{}->{}/{}", port.value("IP", ""), public_port, private_port, type));
      else
        shown.push_back(fmt::format("{}/{}", private_port, type));
    }
  std::sort(shown.begin(), shown.end());
  shown.erase(std::unique(shown.begin(), shown.end()), shown.end());
  return absl::StrJoin(shown, ", ");
}

std::string Names(const json& names) {
  std::vector<std::string> out;
  if (names.is_array())
    for (const json& name : names) {
      std::string text = name.get<std::string>();
      if (!text.empty() && text[0] == '/') text.erase(0, 1);
      out.push_back(text);
    }
  return absl::StrJoin(out, ",");
}

std::string ShortId(std::string id, bool no_trunc) {
  if (id.rfind("sha256:", 0) == 0) id = id.substr(7);
  return no_trunc ? id : id.substr(0, 12);
}

struct PsOptions {
  bool all = false, quiet = false, latest = false, size = false, no_trunc = false;
  int last = -1;
  std::vector<std::string> filters;
  std::string format;
};

absl::StatusOr<int> Ps(EngineClient& client, const PsOptions& options) {
  std::string query = fmt::format("?all={}&size={}", options.all || options.latest || options.last > 0 ? 1 : 0,
                                  options.size ? 1 : 0);
  if (options.latest) query += "&limit=1";
  else if (options.last > 0) query += fmt::format("&limit={}", options.last);
  LIMAN_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(options.filters));
  LIMAN_ASSIGN_OR_RETURN(json containers, client.Call("GET", "/containers/json" + query + filters));
  std::vector<json> rows;
  for (const json& c : containers) {
    std::string command = c.value("Command", "");
    json labels = c.value("Labels", json::object());
    std::vector<std::string> label_pairs, mounts, networks;
    if (labels.is_object())
      for (const auto& [k, v] : labels.items()) label_pairs.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : ""));
    if (c.contains("Mounts") && c["Mounts"].is_array())
      for (const json& m : c["Mounts"]) mounts.push_back(m.value("Name", "").empty() ? m.value("Source", "") : m.value("Name", ""));
    if (c.contains("NetworkSettings") && c["NetworkSettings"].is_object() && c["NetworkSettings"].contains("Networks"))
      for (const auto& [name, unused] : c["NetworkSettings"]["Networks"].items()) networks.push_back(name);
    double created = c.value("Created", 0.0);
    std::string size = options.size ? fmt::format("{} (virtual {})", ctr::HumanSizeWithPrecision(c.value("SizeRw", 0.0), 3),
                                                  ctr::HumanSizeWithPrecision(c.value("SizeRootFs", 0.0), 3))
                                    : "";
    rows.push_back({{"ID", ShortId(c.value("Id", ""), options.no_trunc)},
                    {"Image", c.value("Image", "")},
                    {"Command", options.no_trunc ? GoQuote(command) : GoQuote(Ellipsis(command, 20))},
                    {"CreatedAt", absl::FormatTime("%Y-%m-%d %H:%M:%S %z %Z", absl::FromUnixSeconds(static_cast<int64_t>(created)),
                                                   absl::UTCTimeZone())},
                    {"RunningFor", Ago(created)},
                    {"Ports", DisplayPorts(c.value("Ports", json::array()))},
                    {"State", c.value("State", "")},
                    {"Status", c.value("Status", "")},
                    {"Size", size},
                    {"Names", Names(c.value("Names", json::array()))},
                    {"Labels", absl::StrJoin(label_pairs, ",")},
                    {"Mounts", absl::StrJoin(mounts, ",")},
                    {"Networks", absl::StrJoin(networks, ",")}});
  }
  if (options.quiet) {
    for (const json& row : rows) WriteOut(row["ID"].get<std::string>() + "\n");
    return 0;
  }
  std::string table = "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
  if (options.size) table += "\t{{.Size}}";
  LIMAN_ASSIGN_OR_RETURN(std::string text,
                         FormatRows(options.format, table, rows,
                                    {{"ID", "CONTAINER ID"}, {"RunningFor", "CREATED"}, {"CreatedAt", "CREATED AT"}}));
  WriteOut(text);
  return 0;
}

struct LogsOptions {
  bool follow = false, timestamps = false;
  std::string tail = "all", since, until;
  std::string name;
};

absl::StatusOr<int> Logs(EngineClient& client, const LogsOptions& options) {
  LIMAN_ASSIGN_OR_RETURN(json inspected, client.Call("GET", ContainerPath(options.name, "/json")));
  bool tty = inspected["Config"].value("Tty", false);
  std::string query = fmt::format("?stdout=1&stderr=1&follow={}&timestamps={}&tail={}", options.follow ? 1 : 0,
                                  options.timestamps ? 1 : 0, QueryEscape(options.tail));
  if (!options.since.empty()) query += "&since=" + QueryEscape(options.since);
  if (!options.until.empty()) query += "&until=" + QueryEscape(options.until);
  StreamDemuxer demuxer([](int stream, std::string_view data) { WriteFull(stream, data); });
  LIMAN_RETURN_IF_ERROR(client.Stream("GET", ContainerPath(options.name, "/logs" + query), nullptr, [&](std::string_view data) {
    if (tty) WriteFull(STDOUT_FILENO, data);
    else demuxer.Feed(data);
    return true;
  }));
  return 0;
}

struct InspectOptions {
  std::string format, type;
  bool size = false;
  std::vector<std::string> names;
};

// The object `name` names: a container, else an image, else a volume, else a network (as
// docker inspect without --type), or only of `type`.
absl::StatusOr<nlohmann::ordered_json> InspectObject(EngineClient& client, const std::string& name, const std::string& type,
                                                     bool size) {
  struct Kind {
    const char* type;
    std::string path;
  };
  std::vector<Kind> kinds = {{"container", ContainerPath(name, size ? "/json?size=1" : "/json")},
                             {"image", "/images/" + QueryEscape(name) + "/json"},
                             {"volume", "/volumes/" + QueryEscape(name)},
                             {"network", "/networks/" + QueryEscape(name)}};
  for (const Kind& kind : kinds) {
    if (!type.empty() && type != kind.type) continue;
    absl::StatusOr<nlohmann::ordered_json> found = client.CallOrdered("GET", kind.path);
    if (found.ok()) return found;
    if (!absl::IsNotFound(found.status())) return found.status();
    if (!type.empty()) return found.status();
  }
  return absl::NotFoundError(fmt::format("No such object: {}", name));
}

}  // namespace

// {"status":{"exited":true}}, as docker sends it.
absl::StatusOr<std::string> FiltersQuery(const std::vector<std::string>& filters) {
  json map = json::object();
  for (const std::string& filter : filters) {
    size_t eq = filter.find('=');
    if (eq == std::string::npos) return absl::InvalidArgumentError(fmt::format("bad format of filter (expected name=value)"));
    map[filter.substr(0, eq)][filter.substr(eq + 1)] = true;
  }
  return map.empty() ? "" : "&filters=" + QueryEscape(map.dump());
}

// Shared with `image inspect`, `volume inspect` and `network inspect`.
absl::StatusOr<int> InspectObjects(EngineClient& client, const std::vector<std::string>& names, const std::string& type,
                                   const std::string& format, bool size) {
  std::optional<GoTemplate> tmpl;
  if (!format.empty()) {
    LIMAN_ASSIGN_OR_RETURN(tmpl, GoTemplate::Parse(format));
  }
  nlohmann::ordered_json found = nlohmann::ordered_json::array();
  int code = 0;
  std::string rendered;
  for (const std::string& name : names) {
    absl::StatusOr<nlohmann::ordered_json> object = InspectObject(client, name, type, size);
    if (!object.ok()) {
      // docker prints these after the objects that were found
      fmt::print(stderr, "Error: {}\n", object.status().message());
      code = 1;
      continue;
    }
    if (tmpl) {
      LIMAN_ASSIGN_OR_RETURN(std::string line, tmpl->Render(json::parse(object->dump())));
      rendered += line + "\n";
    } else {
      found.push_back(*object);
    }
  }
  if (tmpl) WriteOut(rendered);
  else WriteOut(found.dump(4) + "\n");
  return code;
}

void AddInspectCommand(CLI::App* group, CommandLine& line, const std::string& type, const std::string& help) {
  struct InspectTypeOptions {
    std::string format;
    std::vector<std::string> names;
  };
  auto options = Options<InspectTypeOptions>();
  CLI::App* command = group->add_subcommand("inspect", help);
  command->add_option("-f,--format", options->format, "format the output using the given Go template");
  command->add_option("names", options->names, "NAME...")->required();
  OnRun(command, line, [options, type](EngineClient& client) {
    return InspectObjects(client, options->names, type, options->format, false);
  });
}

namespace {

struct TopOptions {
  std::string container;
  std::vector<std::string> ps_args;
};

absl::StatusOr<int> Top(EngineClient& client, const TopOptions& options) {
  std::string query;
  if (!options.ps_args.empty()) query = "?ps_args=" + QueryEscape(absl::StrJoin(options.ps_args, " "));
  LIMAN_ASSIGN_OR_RETURN(json top, client.Call("GET", ContainerPath(options.container, "/top" + query)));
  std::string text;
  std::vector<std::string> titles;
  for (const json& title : top.value("Titles", json::array())) titles.push_back(title.get<std::string>());
  text += absl::StrJoin(titles, "\t") + "\n";
  for (const json& process : top.value("Processes", json::array())) {
    std::vector<std::string> cells;
    for (const json& cell : process) cells.push_back(cell.is_string() ? cell.get<std::string>() : cell.dump());
    text += absl::StrJoin(cells, "\t") + "\n";
  }
  ctr::TabWriter writer(20, 1, 3, ' ');
  writer.Write(text);
  WriteOut(writer.Flush());
  return 0;
}

// One stats row from a stats sample that carries its previous CPU reading (precpu_stats).
json StatsRow(const std::string& given, const json& sample) {
  const json& cpu = sample.value("cpu_stats", json::object());
  const json& precpu = sample.value("precpu_stats", json::object());
  auto total = [](const json& stats) { return stats.value("cpu_usage", json::object()).value("total_usage", 0.0); };
  double cpu_delta = total(cpu) - total(precpu);
  double system_delta = cpu.value("system_cpu_usage", 0.0) - precpu.value("system_cpu_usage", 0.0);
  double online = cpu.value("online_cpus", 0.0);
  if (online == 0) online = static_cast<double>(cpu.value("cpu_usage", json::object()).value("percpu_usage", json::array()).size());
  double cpu_percent = system_delta > 0 && cpu_delta > 0 ? cpu_delta / system_delta * online * 100.0 : 0.0;

  const json& memory = sample.value("memory_stats", json::object());
  double usage = memory.value("usage", 0.0), limit = memory.value("limit", 0.0);
  const json& memory_detail = memory.value("stats", json::object());
  // docker's calculateMemUsageUnixNoCache: the inactive page cache does not count.
  for (const char* key : {"total_inactive_file", "inactive_file"})
    if (memory_detail.contains(key) && memory_detail[key].is_number()) {
      double inactive = memory_detail[key].get<double>();
      if (inactive < usage) usage -= inactive;
      break;
    }
  double rx = 0, tx = 0;
  if (sample.contains("networks") && sample["networks"].is_object())
    for (const auto& [name, net] : sample["networks"].items()) {
      rx += net.value("rx_bytes", 0.0);
      tx += net.value("tx_bytes", 0.0);
    }
  double read = 0, write = 0;
  const json& blkio = sample.value("blkio_stats", json::object());
  if (blkio.contains("io_service_bytes_recursive") && blkio["io_service_bytes_recursive"].is_array())
    for (const json& entry : blkio["io_service_bytes_recursive"]) {
      std::string op = entry.value("op", "");
      if (op == "Read" || op == "read") read += entry.value("value", 0.0);
      if (op == "Write" || op == "write") write += entry.value("value", 0.0);
    }
  std::string name = sample.value("name", "");
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  return {{"Container", given},
          {"ID", ShortId(sample.value("id", ""), false)},
          {"Name", name},
          {"CPUPerc", fmt::format("{:.2f}%", cpu_percent)},
          {"MemUsage", ctr::BytesSize(usage) + " / " + ctr::BytesSize(limit)},
          {"MemPerc", fmt::format("{:.2f}%", limit > 0 ? usage / limit * 100.0 : 0.0)},
          {"NetIO", ctr::HumanSizeWithPrecision(rx, 3) + " / " + ctr::HumanSizeWithPrecision(tx, 3)},
          {"BlockIO", ctr::HumanSizeWithPrecision(read, 3) + " / " + ctr::HumanSizeWithPrecision(write, 3)},
          {"PIDs", std::to_string(sample.value("pids_stats", json::object()).value("current", 0))}};
}

struct StatsOptions {
  bool all = false, no_stream = false, no_trunc = false;
  std::string format;
  std::vector<std::string> names;
};

absl::StatusOr<int> Stats(EngineClient& client, const StatsOptions& options) {
  std::vector<std::string> names = options.names;
  if (names.empty()) {
    LIMAN_ASSIGN_OR_RETURN(json containers, client.Call("GET", fmt::format("/containers/json?all={}", options.all ? 1 : 0)));
    for (const json& c : containers) names.push_back(c.value("Id", "").substr(0, 12));
  }
  const std::string table = "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";
  const std::map<std::string, std::string> headers = {
      {"ID", "CONTAINER ID"}, {"Name", "NAME"},      {"CPUPerc", "CPU %"},     {"MemUsage", "MEM USAGE / LIMIT"},
      {"MemPerc", "MEM %"},   {"NetIO", "NET I/O"}, {"BlockIO", "BLOCK I/O"}, {"PIDs", "PIDS"}, {"Container", "CONTAINER"}};
  while (true) {
    // One-shot samples of every container at once: each takes the daemon about a second.
    std::vector<absl::StatusOr<json>> samples(names.size(), absl::UnknownError("not sampled"));
    std::vector<std::thread> threads;
    for (size_t i = 0; i < names.size(); ++i)
      threads.emplace_back([&, i] { samples[i] = client.Call("GET", ContainerPath(names[i], "/stats?stream=false")); });
    for (std::thread& thread : threads) thread.join();
    std::vector<json> rows;
    for (size_t i = 0; i < names.size(); ++i) {
      if (!samples[i].ok()) {
        if (!options.names.empty()) return samples[i].status();
        continue;
      }
      rows.push_back(StatsRow(names[i], *samples[i]));
    }
    LIMAN_ASSIGN_OR_RETURN(std::string text, FormatRows(options.format, table, rows, headers));
    if (!options.no_stream) WriteOut("\x1b[2J\x1b[H");
    WriteOut(text);
    if (options.no_stream) return 0;
  }
}

struct SignalOptions {
  std::string signal;
  int timeout = -1;
  std::vector<std::string> names;
};

struct UpdateOptions {
  ResourceFlags resources;
  std::string restart;
  std::vector<std::string> names;
};

struct RemoveOptions {
  bool force = false, volumes = false;
  std::vector<std::string> names;
};

// A command that POSTs to /containers/NAME/<verb> for each name and prints the name.
void AddPerNameCommand(CLI::App& app, CommandLine& line, const std::string& verb, const std::string& help,
                       const std::function<std::string(const SignalOptions&)>& query, bool takes_signal, bool takes_timeout) {
  auto options = Options<SignalOptions>();
  CLI::App* command = app.add_subcommand(verb, help);
  if (takes_signal) command->add_option("-s,--signal", options->signal, "signal to send to the container");
  if (takes_timeout) command->add_option("-t,--time", options->timeout, "seconds to wait before killing the container");
  command->add_option("containers", options->names, "CONTAINER...")->required();
  OnRun(command, line, [options, verb, query](EngineClient& client) -> absl::StatusOr<int> {
    return ForEachName(options->names, [&](const std::string& name) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(client.Call("POST", ContainerPath(name, "/" + verb + query(*options))).status());
      WriteOut(name + "\n");
      return absl::OkStatus();
    });
  });
}

}  // namespace

struct PruneOptions {
  bool force = false;
  bool all = false;
  std::vector<std::string> filters;
};

namespace {

// One line of "Deleted …:" as docker prints it: an id or name, or "untagged: x" / "deleted: y".
std::string PrunedLine(const json& item) {
  if (item.is_string()) return item.get<std::string>();
  if (!item.is_object() || item.empty() || !item.begin()->is_string()) return item.dump();
  return AsciiLower(item.begin().key()) + ": " + item.begin()->get<std::string>();
}

}  // namespace

void AddPruneCommand(CLI::App* group, CommandLine& line, const std::string& help, PruneKind kind) {
  auto options = Options<PruneOptions>();
  CLI::App* command = group->add_subcommand("prune", help);
  command->add_flag("-f,--force", options->force, "do not prompt for confirmation");
  AddRepeated(command, "--filter", options->filters, "provide filter values (e.g. 'until=<timestamp>')");
  if (!kind.all_warning.empty())
    command->add_flag("-a,--all", options->all, "remove all unused images, not just dangling ones");
  OnRun(command, line, [options, kind](EngineClient& client) -> absl::StatusOr<int> {
    if (options->all) options->filters.push_back("dangling=false");
    if (!options->force) {
      // As docker's PromptForConfirmation: anything but y or Y declines.
      WriteOut(fmt::format("WARNING! {}\nAre you sure you want to continue? [y/N] ",
                           options->all ? kind.all_warning : kind.warning));
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y") {
        if (kind.reports_space) WriteOut("Total reclaimed space: 0B\n");
        return 0;
      }
    }
    LIMAN_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(options->filters));
    LIMAN_ASSIGN_OR_RETURN(json report, client.Call("POST", kind.path + (filters.empty() ? "" : "?" + filters.substr(1))));
    const json& deleted = report.contains(kind.deleted_key) ? report[kind.deleted_key] : json();
    double space = 0;
    if (deleted.is_array() && !deleted.empty()) {
      std::string out = kind.deleted_title + "\n";
      for (const json& item : deleted) out += PrunedLine(item) + "\n";
      WriteOut(out + "\n");
      space = report.value("SpaceReclaimed", 0.0);
    }
    if (kind.reports_space) WriteOut("Total reclaimed space: " + ctr::HumanSize(space) + "\n");
    return 0;
  });
}

void AddContainerCommands(CLI::App& app, CommandLine& line) {
  auto stop_query = [](const SignalOptions& o) {
    std::string query = o.timeout >= 0 ? fmt::format("?t={}", o.timeout) : "";
    if (!o.signal.empty()) query += (query.empty() ? "?" : "&") + std::string("signal=") + QueryEscape(o.signal);
    return query;
  };
  AddPerNameCommand(app, line, "stop", "Stop one or more running containers", stop_query, true, true);
  AddPerNameCommand(app, line, "restart", "Restart one or more containers", stop_query, true, true);
  AddPerNameCommand(app, line, "kill", "Kill one or more running containers",
                    [](const SignalOptions& o) { return o.signal.empty() ? "" : "?signal=" + QueryEscape(o.signal); }, true,
                    false);
  auto none = [](const SignalOptions&) { return std::string(); };
  AddPerNameCommand(app, line, "pause", "Pause all processes within one or more containers", none, false, false);
  AddPerNameCommand(app, line, "unpause", "Unpause all processes within one or more containers", none, false, false);

  auto rename = Options<std::vector<std::string>>();
  CLI::App* rename_command = app.add_subcommand("rename", "Rename a container");
  rename_command->add_option("names", *rename, "CONTAINER NEW_NAME")->required()->expected(2);
  OnRun(rename_command, line, [rename](EngineClient& client) -> absl::StatusOr<int> {
    LIMAN_RETURN_IF_ERROR(
        client.Call("POST", ContainerPath((*rename)[0], "/rename?name=" + QueryEscape((*rename)[1]))).status());
    return 0;
  });

  auto diff = Options<std::string>();
  CLI::App* diff_command = app.add_subcommand("diff", "Inspect changes to files or directories on a container's filesystem");
  diff_command->add_option("container", *diff, "CONTAINER")->required();
  OnRun(diff_command, line, [diff](EngineClient& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(json changes, client.Call("GET", ContainerPath(*diff, "/changes")));
    static constexpr std::string_view kKinds = "CAD";
    std::string text;
    for (const json& change : changes.is_array() ? changes : json::array()) {
      int kind = change.value("Kind", 0);
      text += fmt::format("{} {}\n", kind >= 0 && kind < 3 ? kKinds[static_cast<size_t>(kind)] : '?',
                          change.value("Path", ""));
    }
    WriteOut(text);
    return 0;
  });

  CLI::App* container_group = app.add_subcommand("container", "Manage containers");
  container_group->require_subcommand(1);
  AddPruneCommand(container_group, line, "Remove all stopped containers",
                  {"/containers/prune", "This will remove all stopped containers.", "ContainersDeleted",
                   "Deleted Containers:", true});

  auto update = Options<UpdateOptions>();
  CLI::App* update_command = app.add_subcommand("update", "Update configuration of one or more containers");
  AddResourceFlags(update_command, update->resources);
  update_command->add_option("--restart", update->restart, "restart policy to apply when a container exits");
  update_command->add_option("containers", update->names, "CONTAINER...")->required();
  OnRun(update_command, line, [update](EngineClient& client) -> absl::StatusOr<int> {
    json body = json::object();
    LIMAN_RETURN_IF_ERROR(ApplyResourceFlags(update->resources, body));
    if (!update->restart.empty()) {
      LIMAN_ASSIGN_OR_RETURN(body["RestartPolicy"], ParseRestartFlag(update->restart));
    }
    if (body.empty()) return absl::InvalidArgumentError("you must provide one or more flags when using this command");
    return ForEachName(update->names, [&](const std::string& name) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(client.Call("POST", ContainerPath(name, "/update"), &body).status());
      WriteOut(name + "\n");
      return absl::OkStatus();
    });
  });

  auto rm = Options<RemoveOptions>();
  CLI::App* rm_command = app.add_subcommand("rm", "Remove one or more containers");
  rm_command->add_flag("-f,--force", rm->force, "force the removal of a running container (uses SIGKILL)");
  rm_command->add_flag("-v,--volumes", rm->volumes, "remove anonymous volumes associated with the container");
  rm_command->add_option("containers", rm->names, "CONTAINER...")->required();
  OnRun(rm_command, line, [rm](EngineClient& client) -> absl::StatusOr<int> {
    return ForEachName(rm->names, [&](const std::string& name) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(client.Call("DELETE", ContainerPath(name, fmt::format("?force={}&v={}", rm->force ? 1 : 0,
                                                                                  rm->volumes ? 1 : 0)))
                                .status());
      WriteOut(name + "\n");
      return absl::OkStatus();
    });
  });

  auto wait = Options<std::vector<std::string>>();
  CLI::App* wait_command = app.add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
  wait_command->add_option("containers", *wait, "CONTAINER...")->required();
  OnRun(wait_command, line, [wait](EngineClient& client) -> absl::StatusOr<int> {
    return ForEachName(*wait, [&](const std::string& name) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(json waited, client.Call("POST", ContainerPath(name, "/wait")));
      WriteOut(fmt::format("{}\n", waited.value("StatusCode", -1)));
      return absl::OkStatus();
    });
  });

  auto ps = Options<PsOptions>();
  CLI::App* ps_command = app.add_subcommand("ps", "List containers");
  ps_command->add_flag("-a,--all", ps->all, "show all containers (default shows just running)");
  ps_command->add_flag("-q,--quiet", ps->quiet, "only display container IDs");
  ps_command->add_flag("-l,--latest", ps->latest, "show the latest created container (includes all states)");
  ps_command->add_option("-n,--last", ps->last, "show n last created containers (includes all states)");
  ps_command->add_flag("-s,--size", ps->size, "display total file sizes");
  ps_command->add_flag("--no-trunc", ps->no_trunc, "don't truncate output");
  AddRepeated(ps_command, "-f,--filter", ps->filters, "filter output based on conditions provided");
  ps_command->add_option("--format", ps->format, "pretty-print containers using a Go template");
  OnRun(ps_command, line, [ps](EngineClient& client) { return Ps(client, *ps); });

  auto logs = Options<LogsOptions>();
  CLI::App* logs_command = app.add_subcommand("logs", "Fetch the logs of a container");
  logs_command->add_flag("-f,--follow", logs->follow, "follow log output");
  logs_command->add_flag("-t,--timestamps", logs->timestamps, "show timestamps");
  logs_command->add_option("-n,--tail", logs->tail, "number of lines to show from the end of the logs");
  logs_command->add_option("--since", logs->since, "show logs since timestamp or relative (e.g. 42m)");
  logs_command->add_option("--until", logs->until, "show logs before a timestamp or relative (e.g. 42m)");
  logs_command->add_option("container", logs->name, "CONTAINER")->required();
  OnRun(logs_command, line, [logs](EngineClient& client) { return Logs(client, *logs); });

  auto inspect = Options<InspectOptions>();
  CLI::App* inspect_command = app.add_subcommand("inspect", "Return low-level information on liman objects");
  inspect_command->add_option("-f,--format", inspect->format, "format the output using the given Go template");
  inspect_command->add_option("--type", inspect->type, "return JSON for specified type");
  inspect_command->add_flag("-s,--size", inspect->size, "display total file sizes if the type is container");
  inspect_command->add_option("names", inspect->names, "NAME|ID...")->required();
  OnRun(inspect_command, line, [inspect](EngineClient& client) {
    return InspectObjects(client, inspect->names, inspect->type, inspect->format, inspect->size);
  });

  auto top = Options<TopOptions>();
  CLI::App* top_command = app.add_subcommand("top", "Display the running processes of a container");
  top_command->add_option("container", top->container, "CONTAINER")->required();
  top_command->add_option("ps_args", top->ps_args, "[ps OPTIONS]");
  ctr::TakesCommandAfter(top_command, 1);
  OnRun(top_command, line, [top](EngineClient& client) { return Top(client, *top); });

  auto stats = Options<StatsOptions>();
  CLI::App* stats_command = app.add_subcommand("stats", "Display a live stream of container(s) resource usage statistics");
  stats_command->add_flag("-a,--all", stats->all, "show all containers (default shows just running)");
  stats_command->add_flag("--no-stream", stats->no_stream, "disable streaming stats and only pull the first result");
  stats_command->add_flag("--no-trunc", stats->no_trunc, "do not truncate output");
  stats_command->add_option("--format", stats->format, "pretty-print images using a Go template");
  stats_command->add_option("containers", stats->names, "[CONTAINER...]");
  OnRun(stats_command, line, [stats](EngineClient& client) { return Stats(client, *stats); });

  auto port = Options<std::vector<std::string>>();
  CLI::App* port_command = app.add_subcommand("port", "List port mappings or a specific mapping for the container");
  port_command->add_option("args", *port, "CONTAINER [PRIVATE_PORT[/PROTO]]")->required()->expected(1, 2);
  OnRun(port_command, line, [port](EngineClient& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(json inspected, client.Call("GET", ContainerPath((*port)[0], "/json")));
    json ports = inspected["NetworkSettings"].value("Ports", json::object());
    std::string wanted = port->size() > 1 ? (*port)[1] : "";
    if (!wanted.empty() && wanted.find('/') == std::string::npos) wanted += "/tcp";
    std::string text;
    for (const auto& [key, bindings] : ports.items()) {
      if (!wanted.empty() && key != wanted) continue;
      if (!bindings.is_array()) continue;
      for (const json& binding : bindings) {
        std::string ip = binding.value("HostIp", "");
        std::string where = fmt::format("{}:{}", ip.empty() ? "0.0.0.0" : ip, binding.value("HostPort", ""));
        text += wanted.empty() ? fmt::format("{} -> {}\n", key, where) : where + "\n";
      }
    }
    if (!wanted.empty() && text.empty())
      return absl::NotFoundError(fmt::format("No public port '{}' published for {}", wanted, (*port)[0]));
    WriteOut(text);
    return 0;
  });
}

}  // namespace liman::cli
