#include <sys/prctl.h>

#include "common/logging.h"
#include "runtime/commands/commands.h"
#include "runtime/launcher.h"

namespace liman::runtime {

void AddRunCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CreateOptions>();
  auto detach = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("run", "create and start a container, and wait for it unless detached");
  command->add_option("container-id", options->id)->required();
  command->add_option("-b,--bundle", options->bundle, "path to the bundle (default: current directory)");
  command->add_option("--pid-file", options->pid_file);
  command->add_option("--console-socket", options->console_socket);
  command->add_option("--preserve-fds", options->preserve_fds);
  command->add_flag("--no-pivot", options->no_pivot);
  command->add_flag("--no-new-keyring", options->no_new_keyring);
  command->add_flag("-d,--detach", *detach, "do not wait for the container");
  command->callback([&context, options, detach] {
    if (absl::Status sealed = context.EnsureSealed(); !sealed.ok()) return context.Report(sealed);
    auto bundle = ResolveBundle(options->bundle);
    if (!bundle.ok()) return context.Report(bundle.status());
    options->bundle = *bundle;
    // The init is forked by a short-lived stage 1; as a subreaper we inherit it and can wait.
    if (!*detach) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    StateStore store = context.store();
    auto state = CreateContainer(store, *options);
    if (!state.ok()) return context.Report(state.status());
    if (absl::Status started = StartContainer(store, *state); !started.ok()) {
      DestroyContainer(store, *state).IgnoreError();
      return context.Report(started);
    }
    if (*detach) return;
    context.exit_code = WaitForwardingSignals(state->init_pid);
    if (absl::Status destroyed = DestroyContainer(store, *state); !destroyed.ok()) LogWarn("{}", destroyed.message());
  });
}

}  // namespace liman::runtime
