// liman: the docker-style CLI of limand (the Docker Engine API), like the docker CLI.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/file_util.h"
#include "common/status.h"
#include "ctl/liman-ctr/command_split.h"
#include "ctl/liman/cli.h"
#include "fmt/format.h"

namespace liman::cli {

void WriteOut(std::string_view text) {
  if (!WriteAll(STDOUT_FILENO, text)) _exit(1);  // stdout gone (a closed pipe): nothing left to tell anyone
}

void PrintError(const absl::Status& status) {
  fmt::print(stderr, "{}{}\n", FromDaemon(status) ? "Error response from daemon: " : "Error: ", status.message());
}

int ForEachName(const std::vector<std::string>& names, const std::function<absl::Status(const std::string&)>& each) {
  int code = 0;
  for (const std::string& name : names) {
    absl::Status status = each(name);
    if (status.ok()) continue;
    PrintError(status);
    code = 1;
  }
  return code;
}

namespace {

int Main(int argc, char** argv) {
  CommandLine line;
  // -H, then LIMAN_HOST, then DOCKER_HOST (so scripts written for docker run unchanged).
  line.host = kDefaultHost;
  if (const char* host = std::getenv("DOCKER_HOST"); host && *host) line.host = host;
  if (const char* host = std::getenv("LIMAN_HOST"); host && *host) line.host = host;

  CLI::App app{"liman: a docker-style CLI for limand", "liman"};
  app.require_subcommand(1);
  // -h is run's --hostname, as in docker: help is --help only (subcommands inherit this).
  app.set_help_flag("--help", "print usage");
  app.set_version_flag("--version,-v", std::string("liman version ") + LIMAN_VERSION);
  app.add_option("-H,--host", line.host, "daemon socket to connect to (env LIMAN_HOST, DOCKER_HOST)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::string log_level;
  app.add_option("-l,--log-level", log_level, "accepted for docker compatibility");

  AddRunCommands(app, line);
  AddExecCommand(app, line);
  AddContainerCommands(app, line);
  AddImageCommands(app, line);
  AddVolumeCommands(app, line);
  AddNetworkCommands(app, line);
  AddSystemCommands(app, line);

  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    args = ctr::SeparateCommand(app, std::move(args));
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // docker exits 125 for a bad flag of run/create/exec, and 1 otherwise; --help is 0.
    return code == 0 ? 0 : 125;
  }
  if (!line.action) {
    fmt::print(stderr, "{}", app.help());
    return 1;
  }
  EngineClient client(line.host);
  absl::StatusOr<int> code = line.action(client);
  if (!code.ok()) {
    PrintError(code.status());
    return 1;
  }
  return *code;
}

}  // namespace
}  // namespace liman::cli

int main(int argc, char** argv) { return liman::cli::Main(argc, argv); }
