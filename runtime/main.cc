// liman-runtime: runc's command line over the runtime library.
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "common/logging.h"
#include "runtime/commands/commands.h"

int main(int argc, char** argv) {
  using namespace liman::runtime;
  CommandContext context;
  context.argv = argv;
  CLI::App app{"liman-runtime: an OCI runtime, command-line compatible with runc", "liman-runtime"};
  app.set_version_flag("-v,--version",
                       "liman-runtime version 0.1.0\nspec: 1.1.0\nlibseccomp: 2.5.4");
  app.add_option("--root", context.root, "state directory (default /run/liman/runtime)");
  app.add_option("--log", context.log_file, "log file (default stderr)");
  app.add_option("--log-format", context.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", context.debug, "log debug messages");
  app.add_flag("--systemd-cgroup", context.systemd_cgroup, "use systemd for cgroups (not supported)");
  app.add_option("--rootless", context.rootless, "ignored: rootless is detected");
  app.add_option("--criu", "ignored: checkpoint/restore is not supported");
  app.require_subcommand(1);
  app.fallthrough();

  // Each verb's subcommand is built only when it is the one invoked (or for help and usage
  // errors, all of them): building CLI11's options of every verb is a fifth of the runtime's
  // start-up, paid again by every create, start, exec, kill and delete.
  struct Verb {
    const char* name;
    void (*add)(CLI::App&, CommandContext&);
  };
  static constexpr Verb kVerbs[] = {
      {"spec", AddSpecCommand},   {"create", AddCreateCommand}, {"start", AddStartCommand},
      {"run", AddRunCommand},     {"state", AddStateCommand},   {"kill", AddKillCommand},
      {"delete", AddDeleteCommand}, {"list", AddListCommand},   {"ps", AddPsCommand},
      {"exec", AddExecCommand},   {"pause", AddPauseCommands},  {"resume", AddPauseCommands},
      {"update", AddUpdateCommand}, {"events", AddEventsCommand}, {"features", AddFeaturesCommand},
  };
  std::string invoked = FindVerb(argc, argv);
  const Verb* only = nullptr;
  for (const Verb& verb : kVerbs)
    if (invoked == verb.name) only = &verb;
  if (only != nullptr) {
    only->add(app, context);
  } else {
    for (const Verb& verb : kVerbs)
      if (std::string_view(verb.name) != "resume") verb.add(app, context);  // pause's adder adds both
  }

  // Logging must be set up before the subcommand callbacks run: parse, configure, then run.
  app.preparse_callback([&](size_t) {});
  for (CLI::App* sub : app.get_subcommands({})) sub->immediate_callback(false);
  app.parse_complete_callback([&] {
    liman::LogConfig log;
    log.path = context.log_file;
    log.format = context.log_format == "json" ? liman::LogFormat::kJson : liman::LogFormat::kText;
    log.level = context.debug ? liman::LogLevel::kDebug : liman::LogLevel::kWarn;
    if (absl::Status s = liman::ConfigureLogging(log); !s.ok()) fmt::print(stderr, "liman-runtime: {}\n", s.message());
    if (context.systemd_cgroup)
      throw CLI::ValidationError("--systemd-cgroup", "the systemd cgroup driver is not supported by liman-runtime");
  });
  try {
    std::vector<char*> args = SplitExecCommand(argc, argv, &context.exec_args);
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return context.exit_code;
}
