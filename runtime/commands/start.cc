#include "runtime/commands/commands.h"
#include "runtime/launcher.h"

namespace liman::runtime {

void AddStartCommand(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("start", "start a created container");
  command->add_option("container-id", *id)->required();
  command->callback([&context, id] {
    auto state = context.store().Load(*id);
    if (!state.ok()) return context.Report(state.status());
    context.Report(StartContainer(context.store(), *state));
  });
}

}  // namespace liman::runtime
