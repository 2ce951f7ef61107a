// exec: create the exec, start it on a hijacked connection (or detached), stream, and exit with
// the process's code read from the exec's inspect, which the daemon sets before it closes the
// stream.
#include <unistd.h>

#include "common/status.h"
#include "ctl/liman-ctr/command_split.h"
#include "ctl/liman/attach.h"
#include "ctl/liman/cli.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

struct ExecOptions {
  bool detach = false, interactive = false, tty = false, privileged = false;
  std::string user, workdir;
  std::vector<std::string> env, env_files;
  std::string container;
  std::vector<std::string> command;
};

absl::StatusOr<int> Exec(EngineClient& client, const ExecOptions& options) {
  if (options.command.empty()) return absl::InvalidArgumentError("\"liman exec\" requires at least 2 arguments.");
  const std::string& container = options.container;
  json config = {{"User", options.user},
                 {"Privileged", options.privileged},
                 {"Tty", options.tty},
                 {"AttachStdin", options.interactive && !options.detach},
                 {"AttachStdout", !options.detach},
                 {"AttachStderr", !options.detach},
                 {"Detach", options.detach},
                 {"Env", options.env},
                 {"WorkingDir", options.workdir},
                 {"Cmd", options.command}};
  LIMAN_ASSIGN_OR_RETURN(json created, client.Call("POST", fmt::format("/containers/{}/exec", QueryEscape(container)), &config));
  std::string id = created.value("Id", "");
  json start = {{"Detach", options.detach}, {"Tty", options.tty}};
  if (options.detach) {
    LIMAN_RETURN_IF_ERROR(client.Call("POST", fmt::format("/exec/{}/start", id), &start).status());
    return 0;
  }
  if (RefuseTtyWithoutTerminal(options.tty, options.interactive)) return 1;
  LIMAN_ASSIGN_OR_RETURN(EngineClient::Hijacked connection, client.Hijack("POST", fmt::format("/exec/{}/start", id), &start));
  AttachOptions attach;
  attach.tty = options.tty;
  attach.send_stdin = options.interactive;
  if (options.tty) attach.resize = ResizeBy(client, fmt::format("/exec/{}/resize", id));
  LIMAN_RETURN_IF_ERROR(PumpAttached(connection, attach));
  LIMAN_ASSIGN_OR_RETURN(json inspected, client.Call("GET", fmt::format("/exec/{}/json", id)));
  if (inspected.contains("ExitCode") && inspected["ExitCode"].is_number_integer()) return inspected["ExitCode"].get<int>();
  return 126;  // the process never ran (docker's code for a command that cannot be invoked)
}

}  // namespace

void AddExecCommand(CLI::App& app, CommandLine& line) {
  auto options = Options<ExecOptions>();
  CLI::App* exec = app.add_subcommand("exec", "Run a command in a running container");
  exec->add_flag("-d,--detach", options->detach, "detached mode: run command in the background");
  exec->add_flag("-i,--interactive", options->interactive, "keep STDIN open even if not attached");
  exec->add_flag("-t,--tty", options->tty, "allocate a pseudo-TTY");
  exec->add_flag("--privileged", options->privileged, "give extended privileges to the command");
  exec->add_option("-u,--user", options->user, "username or UID (format: <name|uid>[:<group|gid>])");
  exec->add_option("-w,--workdir", options->workdir, "working directory inside the container");
  AddRepeated(exec, "-e,--env", options->env, "set environment variables");
  exec->add_option("container", options->container, "CONTAINER")->required();
  exec->add_option("command", options->command, "COMMAND [ARG...]")->required();
  ctr::TakesCommandAfter(exec, 1);
  OnRun(exec, line, [options](EngineClient& client) { return Exec(client, *options); });
}

}  // namespace liman::cli
