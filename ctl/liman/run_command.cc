// run, create and start -a: create (pulling a missing image as docker does), attach before start
// so no output is missed, wait registered before start so no exit is missed, start, stream,
// and exit with the container's code. Docker's own failure codes: 125 when the container
// cannot be created or started, 126 when its command cannot be invoked, 127 when not found.
#include <unistd.h>

#include <cstdio>
#include <future>
#include <thread>

#include "common/status.h"
#include "ctl/liman/attach.h"
#include "ctl/liman/cli.h"
#include "ctl/liman/pull_progress.h"
#include "ctl/liman/run_options.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

constexpr int kRunFailed = 125, kCannotInvoke = 126, kNotFound = 127;

// docker's runStartContainerErr.
int StartFailureCode(const absl::Status& error) {
  std::string message(error.message());
  if (message.find("executable file not found") != std::string::npos ||
      message.find("no such file or directory") != std::string::npos)
    return kNotFound;
  if (message.find("permission denied") != std::string::npos || message.find("is a directory") != std::string::npos)
    return kCannotInvoke;
  return kRunFailed;
}

void ReportRunError(const absl::Status& error) {
  fmt::print(stderr, "liman: {}{}.\n", FromDaemon(error) ? "Error response from daemon: " : "", error.message());
}

// POST /containers/create; a missing image is pulled first (unless --pull never).
absl::StatusOr<std::string> CreateContainer(EngineClient& client, const RunFlags& flags) {
  LIMAN_ASSIGN_OR_RETURN(json request, CreateRequest(flags));
  ImageReference reference = ParseImageReference(flags.image);
  std::string path = "/containers/create";
  if (!flags.name.empty()) path += "?name=" + QueryEscape(flags.name);
  if (flags.pull == "always") LIMAN_RETURN_IF_ERROR(PullImage(client, reference, stderr, false));
  absl::StatusOr<json> created = client.Call("POST", path, &request);
  if (!created.ok() && absl::IsNotFound(created.status()) && flags.pull != "never" &&
      std::string(created.status().message()).find("No such image") != std::string::npos) {
    fmt::print(stderr, "Unable to find image '{}' locally\n", flags.image);
    LIMAN_RETURN_IF_ERROR(PullImage(client, reference, stderr, false));
    created = client.Call("POST", path, &request);
  }
  LIMAN_RETURN_IF_ERROR(created.status());
  if (created->contains("Warnings") && (*created)["Warnings"].is_array())
    for (const json& warning : (*created)["Warnings"])
      if (warning.is_string()) fmt::print(stderr, "WARNING: {}\n", warning.get<std::string>());
  return created->value("Id", "");
}

// The exit code a finished wait carries; a wait error is docker's 125.
int WaitResult(const absl::StatusOr<json>& waited) {
  if (!waited.ok()) {
    ReportRunError(waited.status());
    return kRunFailed;
  }
  if (waited->contains("Error") && (*waited)["Error"].is_object() && !(*waited)["Error"].value("Message", "").empty()) {
    fmt::print(stderr, "liman: {}\n", (*waited)["Error"].value("Message", ""));
    return kRunFailed;
  }
  return waited->value("StatusCode", kRunFailed);
}

struct AttachPlan {
  bool in = false, out = false, err = false, tty = false;
};

// Attaches, waits (registered before start), starts, streams; returns the exit code.
int StartAttached(EngineClient& client, const std::string& id, const AttachPlan& plan, const std::string& wait_condition) {
  std::optional<EngineClient::Hijacked> connection;
  if (plan.in || plan.out || plan.err) {
    absl::StatusOr<EngineClient::Hijacked> hijacked = client.Hijack(
        "POST",
        fmt::format("/containers/{}/attach?stream=1&stdin={}&stdout={}&stderr={}", id, plan.in ? 1 : 0,
                    plan.out ? 1 : 0, plan.err ? 1 : 0),
        nullptr);
    if (!hijacked.ok()) {
      ReportRunError(hijacked.status());
      return kRunFailed;
    }
    connection.emplace(*std::move(hijacked));
  }
  absl::StatusOr<std::unique_ptr<EngineClient::Pending>> wait =
      client.Begin("POST", fmt::format("/containers/{}/wait?condition={}", id, wait_condition));
  if (!wait.ok()) {
    ReportRunError(wait.status());
    return kRunFailed;
  }
  if (absl::StatusOr<json> started = client.Call("POST", fmt::format("/containers/{}/start", id)); !started.ok()) {
    ReportRunError(started.status());
    return StartFailureCode(started.status());
  }
  if (connection) {
    AttachOptions options;
    options.tty = plan.tty;
    options.send_stdin = plan.in;
    if (plan.tty) options.resize = ResizeBy(client, fmt::format("/containers/{}/resize", id));
    if (absl::Status pumped = PumpAttached(*connection, options); !pumped.ok()) PrintError(pumped);
  }
  return WaitResult((*wait)->Finish());
}

absl::StatusOr<int> Run(EngineClient& client, const RunFlags& flags) {
  absl::StatusOr<std::string> id = CreateContainer(client, flags);
  if (!id.ok()) {
    ReportRunError(id.status());
    return kRunFailed;
  }
  if (flags.detach) {
    if (absl::StatusOr<json> started = client.Call("POST", fmt::format("/containers/{}/start", *id)); !started.ok()) {
      ReportRunError(started.status());
      return StartFailureCode(started.status());
    }
    WriteOut(*id + "\n");
    return 0;
  }
  AttachPlan plan;
  bool all = flags.attach.empty();
  auto chosen = [&](const char* stream) { return std::find(flags.attach.begin(), flags.attach.end(), stream) != flags.attach.end(); };
  plan.in = flags.interactive && (all || chosen("stdin"));
  plan.out = all || chosen("stdout");
  plan.err = all || chosen("stderr");
  plan.tty = flags.tty;
  if (RefuseTtyWithoutTerminal(flags.tty, flags.interactive)) return 1;
  return StartAttached(client, *id, plan, flags.remove ? "removed" : "next-exit");
}

struct StartOptions {
  bool attach = false, interactive = false;
  std::vector<std::string> names;
};

absl::StatusOr<int> Start(EngineClient& client, const StartOptions& options) {
  if (!options.attach && !options.interactive)
    return ForEachName(options.names, [&](const std::string& name) -> absl::Status {
      LIMAN_RETURN_IF_ERROR(client.Call("POST", fmt::format("/containers/{}/start", QueryEscape(name))).status());
      WriteOut(name + "\n");
      return absl::OkStatus();
    });
  if (options.names.size() != 1) return absl::InvalidArgumentError("you cannot start and attach multiple containers at once");
  LIMAN_ASSIGN_OR_RETURN(json inspected, client.Call("GET", fmt::format("/containers/{}/json", QueryEscape(options.names[0]))));
  AttachPlan plan;
  plan.tty = inspected["Config"].value("Tty", false);
  plan.in = options.interactive && inspected["Config"].value("OpenStdin", false);
  plan.out = plan.err = options.attach || options.interactive;
  return StartAttached(client, inspected.value("Id", ""), plan, "next-exit");
}

}  // namespace

void AddRunCommands(CLI::App& app, CommandLine& line) {
  auto run_flags = Options<RunFlags>();
  CLI::App* run = app.add_subcommand("run", "Run a command in a new container");
  AddRunFlags(run, *run_flags, /*for_run=*/true);
  OnRun(run, line, [run_flags](EngineClient& client) { return Run(client, *run_flags); });

  auto create_flags = Options<RunFlags>();
  CLI::App* create = app.add_subcommand("create", "Create a new container");
  AddRunFlags(create, *create_flags, /*for_run=*/false);
  OnRun(create, line, [create_flags](EngineClient& client) -> absl::StatusOr<int> {
    absl::StatusOr<std::string> id = CreateContainer(client, *create_flags);
    if (!id.ok()) {
      ReportRunError(id.status());
      return kRunFailed;
    }
    WriteOut(*id + "\n");
    return 0;
  });

  auto start_options = Options<StartOptions>();
  CLI::App* start = app.add_subcommand("start", "Start one or more stopped containers");
  start->add_flag("-a,--attach", start_options->attach, "attach STDOUT/STDERR and forward signals");
  start->add_flag("-i,--interactive", start_options->interactive, "attach container's STDIN");
  start->add_option("containers", start_options->names, "CONTAINER...")->required();
  OnRun(start, line, [start_options](EngineClient& client) { return Start(client, *start_options); });
}

}  // namespace liman::cli
