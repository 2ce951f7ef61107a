#include "fmt/format.h"
#include "runtime/commands/commands.h"

namespace liman::runtime {

void AddStateCommand(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("state", "print the OCI state of a container");
  command->add_option("container-id", *id)->required();
  command->callback([&context, id] {
    StateStore store = context.store();
    auto state = store.Load(*id);
    if (!state.ok()) return context.Report(state.status());
    fmt::print("{}\n", OciState(*state, CurrentStatus(store, *state)).dump(2));
  });
}

}  // namespace liman::runtime
