// `docker stats`: one sample of a running container's cgroup metrics (the manager's
// Tasks.Metrics, cgroup v1 or v2) in Docker's StatsJSON shape, with the host's CPU time beside
// it, which the CLI needs for its CPU percentage.
#include <unistd.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "common/file_util.h"
#include "common/status.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/json_log_reader.h"
#include "fmt/format.h"

namespace liman::engine {

namespace tasks = ::containerd::services::tasks::v1;
using nlohmann::json;

namespace {

// The host's CPU time in nanoseconds: the first line of /proc/stat (proc(5)), in clock ticks.
uint64_t SystemCpuNanos() {
  absl::StatusOr<std::string> stat = ReadFile("/proc/stat");
  if (!stat.ok()) return 0;
  std::string line = stat->substr(0, stat->find('\n'));
  std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
  uint64_t ticks = 0;
  for (size_t i = 1; i < fields.size() && i <= 7; ++i) {
    uint64_t value = 0;
    if (absl::SimpleAtoi(fields[i], &value)) ticks += value;
  }
  return ticks * (1000000000 / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK)));
}

uint64_t HostMemory() {
  return static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

json EmptyCpu() {
  return {{"cpu_usage", {{"total_usage", 0}, {"usage_in_kernelmode", 0}, {"usage_in_usermode", 0}}},
          {"system_cpu_usage", 0},
          {"online_cpus", 0},
          {"throttling_data", {{"periods", 0}, {"throttled_periods", 0}, {"throttled_time", 0}}}};
}

}  // namespace

absl::StatusOr<json> Daemon::StatsSample(const std::string& id) {
  tasks::MetricsRequest request;
  request.add_filters("id==" + id);
  tasks::MetricsResponse response;
  auto context = client_->Context();
  grpc::Status status = client_->Tasks().Metrics(context.get(), request, &response);
  if (!status.ok()) return ctr::CallError(status, fmt::format("metrics of {}", id));
  if (response.metrics().empty()) return absl::NotFoundError(fmt::format("no metrics for container {}", id));
  json cpu = EmptyCpu();
  json memory = json::object();
  json pids = json::object();
  uint64_t online = static_cast<uint64_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  ::io::containerd::cgroups::v1::Metrics v1;
  ::io::containerd::cgroups::v2::Metrics v2;
  if (ctr::UnpackAny(response.metrics(0).data(), &v1)) {
    const auto& usage = v1.cpu().usage();
    cpu["cpu_usage"] = {{"total_usage", usage.total()},
                        {"percpu_usage", std::vector<uint64_t>(usage.per_cpu().begin(), usage.per_cpu().end())},
                        {"usage_in_kernelmode", usage.kernel()},
                        {"usage_in_usermode", usage.user()}};
    cpu["throttling_data"] = {{"periods", v1.cpu().throttling().periods()},
                              {"throttled_periods", v1.cpu().throttling().throttled_periods()},
                              {"throttled_time", v1.cpu().throttling().throttled_time()}};
    const auto& mem = v1.memory();
    memory = {{"usage", mem.usage().usage()},
              {"max_usage", mem.usage().max()},
              {"failcnt", mem.usage().failcnt()},
              {"limit", std::min<uint64_t>(mem.usage().limit(), HostMemory())},
              {"stats",
               {{"cache", mem.cache()},
                {"rss", mem.rss()},
                {"mapped_file", mem.mapped_file()},
                {"active_anon", mem.active_anon()},
                {"inactive_anon", mem.inactive_anon()},
                {"active_file", mem.active_file()},
                {"inactive_file", mem.inactive_file()},
                {"total_cache", mem.total_cache()},
                {"total_rss", mem.total_rss()},
                {"total_inactive_file", mem.total_inactive_file()},
                {"total_active_file", mem.total_active_file()},
                {"hierarchical_memory_limit", mem.hierarchical_memory_limit()}}}};
    pids = {{"current", v1.pids().current()}};
    if (v1.pids().limit() > 0) pids["limit"] = v1.pids().limit();
  } else if (ctr::UnpackAny(response.metrics(0).data(), &v2)) {
    cpu["cpu_usage"] = {{"total_usage", v2.cpu().usage_usec() * 1000},
                        {"usage_in_kernelmode", v2.cpu().system_usec() * 1000},
                        {"usage_in_usermode", v2.cpu().user_usec() * 1000}};
    cpu["throttling_data"] = {{"periods", v2.cpu().nr_periods()},
                              {"throttled_periods", v2.cpu().nr_throttled()},
                              {"throttled_time", v2.cpu().throttled_usec() * 1000}};
    memory = {{"usage", v2.memory().usage()},
              {"limit", std::min<uint64_t>(v2.memory().usage_limit(), HostMemory())},
              {"stats", {{"inactive_file", v2.memory().inactive_file()}, {"anon", v2.memory().anon()}, {"file", v2.memory().file()}}}};
    pids = {{"current", v2.pids().current()}};
    if (v2.pids().limit() > 0) pids["limit"] = v2.pids().limit();
  } else {
    return absl::InternalError(fmt::format("metrics of {}: unknown type {}", id, response.metrics(0).data().type_url()));
  }
  cpu["system_cpu_usage"] = SystemCpuNanos();
  cpu["online_cpus"] = online;
  return json{{"read", FormatLogTime(absl::Now())},
              {"preread", "0001-01-01T00:00:00Z"},
              {"pids_stats", pids},
              {"blkio_stats",
               {{"io_service_bytes_recursive", nullptr},
                {"io_serviced_recursive", nullptr},
                {"io_queue_recursive", nullptr},
                {"io_service_time_recursive", nullptr},
                {"io_wait_time_recursive", nullptr},
                {"io_merged_recursive", nullptr},
                {"io_time_recursive", nullptr},
                {"sectors_recursive", nullptr}}},
              {"num_procs", 0},
              {"storage_stats", json::object()},
              {"cpu_stats", cpu},
              {"precpu_stats", EmptyCpu()},
              {"memory_stats", memory}};
}

absl::Status Daemon::StreamStats(const std::string& ref, bool stream, bool one_shot,
                                 const std::function<bool(const json&)>& emit) {
  std::string id, name;
  {
    std::lock_guard lock(mu_);
    LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, FindLocked(ref));
    id = container->id;
    name = container->name;
  }
  json previous;
  // Without one-shot the first answer already has a previous sample, as dockerd's collector
  // gives it (the CLI's CPU % needs two).
  if (!one_shot) {
    absl::StatusOr<json> first = StatsSample(id);
    if (!first.ok()) return first.status();
    previous = *first;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  while (true) {
    absl::StatusOr<json> sample = StatsSample(id);
    if (!sample.ok()) {
      if (previous.is_null() || !stream) return sample.status();
      return absl::OkStatus();  // it stopped: the stream ends
    }
    if (!previous.is_null()) {
      (*sample)["precpu_stats"] = previous["cpu_stats"];
      (*sample)["preread"] = previous["read"];
    }
    (*sample)["name"] = name;
    (*sample)["id"] = id;
    if (!emit(*sample) || !stream) return absl::OkStatus();
    previous = std::move(*sample);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace liman::engine
