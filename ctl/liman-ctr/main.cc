// liman-ctr: the admin CLI of liman-containerd, like containerd's ctr (also works against
// containerd 1.6 for everything it serves; pull/import/export use Liman's Transfer service).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/run.h"
#include "fmt/format.h"

namespace liman::ctr {

namespace {

int Main(int argc, char** argv) {
  // Before any thread exists: gRPC's threads inherit the mask, so these signals reach only the
  // thread that unblocks or reads them.
  BlockForwardedSignals();
  CommandLine line;
  if (const char* address = std::getenv("CONTAINERD_ADDRESS"); address && *address)
    line.globals.address = address;
  if (const char* ns = std::getenv("CONTAINERD_NAMESPACE"); ns && *ns) line.globals.namespace_name = ns;

  CLI::App app{"liman-ctr: manage containers and images of liman-containerd (like ctr)", "liman-ctr"};
  app.require_subcommand(1);
  app.set_version_flag("--version,-v", std::string("liman-ctr ") + LIMAN_VERSION);
  app.add_option("--address,-a", line.globals.address, "address of the daemon's socket (env CONTAINERD_ADDRESS)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // as ctr: the last one given counts
  app.add_option("--namespace,-n", line.globals.namespace_name, "namespace to use (env CONTAINERD_NAMESPACE)")
      ->capture_default_str()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  int timeout_seconds = 0;
  app.add_option("--timeout", timeout_seconds, "total timeout of each call in seconds (0: none)");

  AddVersionCommand(app, line);
  AddNamespacesCommands(app, line);
  AddImagesCommands(app, line);
  AddContentCommands(app, line);
  AddSnapshotsCommands(app, line);
  AddContainersCommands(app, line);
  AddTasksCommands(app, line);
  AddRunCommand(app, line);
  AddEventsCommand(app, line);

  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    args = SeparateCommand(app, std::move(args));
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  line.globals.timeout = std::chrono::seconds(timeout_seconds);
  if (!line.action) {
    fmt::print(stderr, "{}", app.help());
    return 1;
  }
  if (!line.attaches) UnblockForwardedSignals();
  Client client(line.globals);
  absl::StatusOr<int> code = line.action(client);
  if (!code.ok()) {
    fmt::print(stderr, "liman-ctr: {}\n", code.status().message());
    return 1;
  }
  return *code;
}

}  // namespace
}  // namespace liman::ctr

int main(int argc, char** argv) {
  int code = liman::ctr::Main(argc, argv);
  std::fflush(stdout);
  std::fflush(stderr);
  // _exit: threads still in a gRPC call (the stdin copier of run) must not meet static
  // destructors; everything that needed cleaning up was cleaned up by Main's scopes.
  _exit(code);
}
