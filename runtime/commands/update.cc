#include <unistd.h>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/manager.h"
#include "runtime/commands/commands.h"

namespace liman::runtime {
namespace {

struct UpdateFlags {
  std::string resources_file;
  std::optional<int64_t> memory, memory_reservation, memory_swap, kernel_memory, kernel_tcp;
  std::optional<int64_t> cpu_quota, cpu_rt_runtime, pids_limit;
  std::optional<uint64_t> cpu_period, cpu_shares, cpu_rt_period, blkio_weight;
  std::string cpuset_cpus, cpuset_mems;
};

absl::StatusOr<std::string> ReadResourcesText(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  if (n < 0) return ErrnoError("read resources from stdin");
  return text;
}

// Flags override what -r gave; both override nothing else of the container's resources.
absl::StatusOr<oci::Resources> BuildResources(const UpdateFlags& flags) {
  oci::Resources resources;
  if (!flags.resources_file.empty()) {
    LIMAN_ASSIGN_OR_RETURN(std::string text, ReadResourcesText(flags.resources_file));
    LIMAN_ASSIGN_OR_RETURN(resources, oci::ParseResources(text));
  }
  auto& memory = resources.memory;
  auto memory_field = [&](const std::optional<int64_t>& value, std::optional<int64_t> oci::MemoryResources::*field) {
    if (!value) return;
    if (!memory) memory = oci::MemoryResources{};
    (*memory).*field = *value;
  };
  memory_field(flags.memory, &oci::MemoryResources::limit);
  memory_field(flags.memory_reservation, &oci::MemoryResources::reservation);
  memory_field(flags.memory_swap, &oci::MemoryResources::swap);
  memory_field(flags.kernel_memory, &oci::MemoryResources::kernel);
  memory_field(flags.kernel_tcp, &oci::MemoryResources::kernel_tcp);
  auto& cpu = resources.cpu;
  auto ensure_cpu = [&]() -> oci::CpuResources& {
    if (!cpu) cpu = oci::CpuResources{};
    return *cpu;
  };
  if (flags.cpu_quota) ensure_cpu().quota = flags.cpu_quota;
  if (flags.cpu_period) ensure_cpu().period = flags.cpu_period;
  if (flags.cpu_shares) ensure_cpu().shares = flags.cpu_shares;
  if (flags.cpu_rt_runtime) ensure_cpu().realtime_runtime = flags.cpu_rt_runtime;
  if (flags.cpu_rt_period) ensure_cpu().realtime_period = flags.cpu_rt_period;
  if (!flags.cpuset_cpus.empty()) ensure_cpu().cpus = flags.cpuset_cpus;
  if (!flags.cpuset_mems.empty()) ensure_cpu().mems = flags.cpuset_mems;
  if (flags.pids_limit) resources.pids_limit = flags.pids_limit;
  if (flags.blkio_weight) {
    if (!resources.block_io) resources.block_io = oci::BlockIoResources{};
    resources.block_io->weight = static_cast<uint16_t>(*flags.blkio_weight);
  }
  return resources;
}

// Folds `update` into the container's recorded resources, so a later update or `state` sees it.
void MergeResources(oci::Resources& into, const oci::Resources& update) {
  nlohmann::json merged = oci::ToJson(into);
  merged.merge_patch(oci::ToJson(update));
  if (auto parsed = oci::ParseResources(merged.dump()); parsed.ok()) into = *parsed;
}

}  // namespace

void AddUpdateCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<UpdateFlags>();
  auto id = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("update", "change the cgroup resources of a container");
  command->add_option("container-id", *id)->required();
  command->add_option("-r,--resources", flags->resources_file, "resources JSON file, - for stdin");
  command->add_option("--memory", flags->memory);
  command->add_option("--memory-reservation", flags->memory_reservation);
  command->add_option("--memory-swap", flags->memory_swap);
  command->add_option("--kernel-memory", flags->kernel_memory);
  command->add_option("--kernel-memory-tcp", flags->kernel_tcp);
  command->add_option("--cpu-quota", flags->cpu_quota);
  command->add_option("--cpu-period", flags->cpu_period);
  command->add_option("--cpu-share", flags->cpu_shares);
  command->add_option("--cpu-rt-runtime", flags->cpu_rt_runtime);
  command->add_option("--cpu-rt-period", flags->cpu_rt_period);
  command->add_option("--cpuset-cpus", flags->cpuset_cpus);
  command->add_option("--cpuset-mems", flags->cpuset_mems);
  command->add_option("--pids-limit", flags->pids_limit);
  command->add_option("--blkio-weight", flags->blkio_weight);
  command->callback([&context, flags, id] {
    StateStore store = context.store();
    auto state = store.Load(*id);
    if (!state.ok()) return context.Report(state.status());
    if (CurrentStatus(store, *state) == Status::kStopped)
      return context.Report(absl::FailedPreconditionError(fmt::format("container {} is stopped", Quote(*id))));
    auto resources = BuildResources(*flags);
    if (!resources.ok()) return context.Report(resources.status());
    auto manager = cgroups::LoadManager(state->cgroup);
    if (!manager.ok()) return context.Report(manager.status());
    if (absl::Status applied = (*manager)->Apply(*resources); !applied.ok()) return context.Report(applied);
    if (!state->config.linux) state->config.linux = oci::Linux{};
    if (!state->config.linux->resources) state->config.linux->resources = oci::Resources{};
    MergeResources(*state->config.linux->resources, *resources);
    context.Report(store.Save(*state));
  });
}

}  // namespace liman::runtime
