#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/manager.h"
#include "runtime/commands/commands.h"

namespace liman::runtime {
namespace {

void ChangeFreezer(CommandContext& context, const std::string& id, bool freeze) {
  StateStore store = context.store();
  auto state = store.Load(id);
  if (!state.ok()) return context.Report(state.status());
  Status status = CurrentStatus(store, *state);
  Status required = freeze ? Status::kRunning : Status::kPaused;
  if (status != required)
    return context.Report(absl::FailedPreconditionError(
        fmt::format("container {} is {}, not {}", Quote(id), StatusName(status), StatusName(required))));
  auto manager = cgroups::LoadManager(state->cgroup);
  if (!manager.ok()) return context.Report(manager.status());
  context.Report(freeze ? (*manager)->Freeze() : (*manager)->Thaw());
}

}  // namespace

void AddPauseCommands(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  CLI::App* pause = app.add_subcommand("pause", "freeze every process of a container");
  pause->add_option("container-id", *id)->required();
  pause->callback([&context, id] { ChangeFreezer(context, *id, true); });
  CLI::App* resume = app.add_subcommand("resume", "thaw a paused container");
  resume->add_option("container-id", *id)->required();
  resume->callback([&context, id] { ChangeFreezer(context, *id, false); });
}

}  // namespace liman::runtime
