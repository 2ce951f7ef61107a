#include "fmt/format.h"
#include "runtime/commands/commands.h"
#include "runtime/launcher.h"

namespace liman::runtime {

void AddDeleteCommand(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("delete", "delete a stopped (or, with --force, any) container");
  command->add_option("container-id", *id)->required();
  command->add_flag("-f,--force", *force, "kill the container first if it is running");
  command->callback([&context, id, force] {
    StateStore store = context.store();
    auto state = store.Load(*id);
    if (!state.ok()) {
      // As runc: deleting what is already gone is fine with --force.
      if (*force && absl::IsNotFound(state.status())) return;
      return context.Report(state.status());
    }
    Status status = CurrentStatus(store, *state);
    if ((status == Status::kRunning || status == Status::kPaused) && !*force)
      return context.Report(absl::FailedPreconditionError(
          fmt::format("cannot delete container {} that is not stopped: {}", *id, StatusName(status))));
    context.Report(DestroyContainer(store, *state));
  });
}

}  // namespace liman::runtime
