#include <poll.h>
#include <unistd.h>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/manager.h"
#include "runtime/commands/commands.h"

namespace liman::runtime {
namespace {

absl::Status PrintStats(const ContainerState& state, cgroups::Manager& manager) {
  LIMAN_ASSIGN_OR_RETURN(cgroups::Stats stats, manager.GetStats());
  nlohmann::json event = {{"type", "stats"}, {"id", state.id}, {"data", cgroups::StatsToJson(stats)}};
  fmt::print("{}\n", event.dump());
  fflush(stdout);
  return absl::OkStatus();
}

}  // namespace

void AddEventsCommand(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  auto stats_once = std::make_shared<bool>(false);
  auto interval = std::make_shared<std::string>("5s");
  CLI::App* command = app.add_subcommand("events", "print stats every interval and OOM events, or one stats record");
  command->add_option("container-id", *id)->required();
  command->add_flag("--stats", *stats_once, "print the container's stats once and exit");
  command->add_option("--interval", *interval, "interval between stats (e.g. 5s, 500ms)");
  command->callback([&context, id, stats_once, interval] {
    StateStore store = context.store();
    auto state = store.Load(*id);
    if (!state.ok()) return context.Report(state.status());
    auto manager = cgroups::LoadManager(state->cgroup);
    if (!manager.ok()) return context.Report(manager.status());
    if (*stats_once) return context.Report(PrintStats(*state, **manager));
    char* unit = nullptr;
    double amount = strtod(interval->c_str(), &unit);
    std::string suffix = unit ? unit : "";
    int interval_ms = suffix == "ms" ? static_cast<int>(amount) : suffix == "m" ? static_cast<int>(amount * 60000) : static_cast<int>(amount * 1000);
    if (amount <= 0 || (suffix != "s" && suffix != "ms" && suffix != "m" && !suffix.empty()))
      return context.Report(absl::InvalidArgumentError(fmt::format("invalid --interval {}", Quote(*interval))));
    auto notifier = (*manager)->OpenOomNotifier();
    int oom_fd = notifier.ok() ? *notifier : -1;
    while (CurrentStatus(store, *state) != Status::kStopped) {
      if (absl::Status printed = PrintStats(*state, **manager); !printed.ok()) return context.Report(printed);
      if (oom_fd >= 0) {
        pollfd pfd{oom_fd, POLLIN | POLLPRI, 0};
        if (poll(&pfd, 1, interval_ms) > 0) {
          uint64_t count;
          if (read(oom_fd, &count, sizeof count) < 0) lseek(oom_fd, 0, SEEK_SET);
          fmt::print("{}\n", nlohmann::json{{"type", "oom"}, {"id", state->id}}.dump());
          fflush(stdout);
        }
      } else {
        usleep(static_cast<useconds_t>(interval_ms) * 1000);
      }
    }
    if (oom_fd >= 0) close(oom_fd);
  });
}

}  // namespace liman::runtime
