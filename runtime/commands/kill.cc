#include "runtime/commands/commands.h"
#include "runtime/launcher.h"

namespace liman::runtime {

void AddKillCommand(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  auto signal = std::make_shared<std::string>("SIGTERM");
  auto all = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("kill", "send a signal to the container's init (default SIGTERM)");
  command->add_option("container-id", *id)->required();
  command->add_option("signal", *signal);
  command->add_flag("-a,--all", *all, "signal every process in the container");
  command->callback([&context, id, signal, all] {
    auto number = ParseSignal(*signal);
    if (!number.ok()) return context.Report(number.status());
    StateStore store = context.store();
    auto state = store.Load(*id);
    if (!state.ok()) return context.Report(state.status());
    // The spec: signalling a container that is neither created nor running MUST fail.
    if (CurrentStatus(store, *state) == Status::kStopped && !*all)
      return context.Report(absl::FailedPreconditionError("container not running"));
    context.Report(SignalContainer(*state, *number, *all));
  });
}

}  // namespace liman::runtime
