// liman-shimctl: drives a liman-shim (or any containerd shim v2) directly over ttrpc, for the
// integration tests. Every command prints one line of JSON on success (startup-bench a table before
// it); an error status is printed as `CODE: message` (CODE as gRPC names it: NOT_FOUND,
// ALREADY_EXISTS…) on stderr with exit status 1; a usage error exits 2.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/status.h"
#include "fmt/format.h"
#include "integration/shimctl/cli.h"
#include "integration/shimctl/events_server.h"
#include "integration/shimctl/json_output.h"
#include "integration/shimctl/startup_bench.h"
#include "integration/shimctl/task_commands.h"
#include "integration/shimctl/wire_commands.h"

namespace {

using liman::shimctl::Command;
using liman::shimctl::CommandSpec;

void PrintUsage(const std::vector<Command>& commands) {
  std::fputs("usage: liman-shimctl [--address unix:///SOCKET] [--timeout 60s] [--field NAME] [--id ID] COMMAND ...\n",
             stderr);
  for (const Command& command : commands) {
    std::string line = fmt::format("  {}{}{}\n", command.spec.name, command.spec.usage.empty() ? "" : " ",
                                   command.spec.usage);
    std::fputs(line.c_str(), stderr);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // A peer that hangs up must be an EPIPE error to report, not a silent death.
  signal(SIGPIPE, SIG_IGN);
  liman::shimctl::RegisterKnownAnyTypes();

  std::vector<Command> commands;
  for (auto group : {liman::shimctl::TaskCommands, liman::shimctl::WireCommands,
                     liman::shimctl::EventsServerCommands, liman::shimctl::StartupBenchCommands}) {
    for (Command& command : group()) commands.push_back(std::move(command));
  }
  std::vector<CommandSpec> specs;
  for (const Command& command : commands) specs.push_back(command.spec);

  const CommandSpec* matched = nullptr;
  absl::StatusOr<liman::shimctl::Invocation> invocation = liman::shimctl::ParseCommandLine(argc, argv, specs, &matched);
  if (!invocation.ok()) {
    std::fprintf(stderr, "liman-shimctl: %s\n", std::string(invocation.status().message()).c_str());
    PrintUsage(commands);
    return 2;
  }
  const Command& command = commands[static_cast<size_t>(matched - specs.data())];
  absl::Status status = command.run(*invocation);
  if (!status.ok()) {
    std::string line = fmt::format("{}: {}\n", absl::StatusCodeToString(status.code()), status.message());
    std::fputs(line.c_str(), stderr);
    return 1;
  }
  return 0;
}
