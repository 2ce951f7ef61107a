#include "shim/metrics.h"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::shim {
namespace {

using json = nlohmann::json;
namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

constexpr uint64_t kUnlimited = std::numeric_limits<uint64_t>::max();

// Reads members of runc's JSON leniently where Go is lenient (absent or null means zero or
// empty) and strictly where it is not (a wrong type is an error); the first error is kept and
// every later read returns a zero value.
class Reader {
 public:
  // The member `key` of `parent` (at `where`), or a null value when absent.
  const json& Member(const json& parent, std::string_view key, std::string_view where) {
    if (!parent.is_object()) {
      if (!parent.is_null()) Fail(fmt::format("{} is not an object", Quote(where)));
      return Null();
    }
    auto it = parent.find(key);
    return it == parent.end() ? Null() : *it;
  }

  // An object member (null when absent).
  const json& Object(const json& parent, std::string_view key, std::string_view where) {
    const json& value = Member(parent, key, where);
    if (value.is_object() || value.is_null()) return value;
    Fail(fmt::format("{} is not an object", Quote(Path(where, key))));
    return Null();
  }

  uint64_t Uint(const json& value, std::string_view where) {
    if (value.is_number_unsigned()) return value.get<uint64_t>();
    if (value.is_number_integer() && value.get<int64_t>() >= 0) return static_cast<uint64_t>(value.get<int64_t>());
    if (!value.is_null()) Fail(fmt::format("{} is not an unsigned number", Quote(where)));
    return 0;
  }

  uint64_t Uint(const json& parent, std::string_view key, std::string_view where) {
    return Uint(Member(parent, key, where), Path(where, key));
  }

  std::string String(const json& parent, std::string_view key, std::string_view where) {
    const json& value = Member(parent, key, where);
    if (value.is_string()) return value.get<std::string>();
    if (!value.is_null()) Fail(fmt::format("{} is not a string", Quote(Path(where, key))));
    return "";
  }

  // The elements of an array member (none when absent).
  const json& Array(const json& parent, std::string_view key, std::string_view where) {
    const json& value = Member(parent, key, where);
    if (value.is_array() || value.is_null()) return value;
    Fail(fmt::format("{} is not an array", Quote(Path(where, key))));
    return Null();
  }

  static std::string Path(std::string_view where, std::string_view key) { return fmt::format("{}.{}", where, key); }

  const absl::Status& status() const { return status_; }

 private:
  static const json& Null() {
    static const json null_value;
    return null_value;
  }
  void Fail(std::string message) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(fmt::format("runtime stats: {}", message));
  }

  absl::Status status_;
};

// The "data" object of a stats event, after checking the envelope.
absl::StatusOr<json> StatsData(std::string_view stats_json) {
  json event = json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (!event.is_object()) return absl::InvalidArgumentError("runtime stats: not a JSON object");
  auto type = event.find("type");
  if (type == event.end() || *type != "stats")
    return absl::InvalidArgumentError(fmt::format("runtime stats: event type {} is not \"stats\"",
                                                  type == event.end() ? "(none)" : type->dump()));
  auto data = event.find("data");
  if (data == event.end() || !data->is_object()) return absl::InvalidArgumentError("runtime stats: no \"data\" object");
  return std::move(*data);
}

// memory.stat keys as containerd's cgroups package names them in MemoryStat (memory.go).
using V1Setter = void (v1::MemoryStat::*)(uint64_t);
const std::map<std::string_view, V1Setter>& V1MemoryStatFields() {
  static const auto* fields = new std::map<std::string_view, V1Setter>{
      {"cache", &v1::MemoryStat::set_cache},
      {"rss", &v1::MemoryStat::set_rss},
      {"rss_huge", &v1::MemoryStat::set_rss_huge},
      {"mapped_file", &v1::MemoryStat::set_mapped_file},
      {"dirty", &v1::MemoryStat::set_dirty},
      {"writeback", &v1::MemoryStat::set_writeback},
      {"pgpgin", &v1::MemoryStat::set_pg_pg_in},
      {"pgpgout", &v1::MemoryStat::set_pg_pg_out},
      {"pgfault", &v1::MemoryStat::set_pg_fault},
      {"pgmajfault", &v1::MemoryStat::set_pg_maj_fault},
      {"inactive_anon", &v1::MemoryStat::set_inactive_anon},
      {"active_anon", &v1::MemoryStat::set_active_anon},
      {"inactive_file", &v1::MemoryStat::set_inactive_file},
      {"active_file", &v1::MemoryStat::set_active_file},
      {"unevictable", &v1::MemoryStat::set_unevictable},
      {"hierarchical_memory_limit", &v1::MemoryStat::set_hierarchical_memory_limit},
      {"hierarchical_memsw_limit", &v1::MemoryStat::set_hierarchical_swap_limit},
      {"total_cache", &v1::MemoryStat::set_total_cache},
      {"total_rss", &v1::MemoryStat::set_total_rss},
      {"total_rss_huge", &v1::MemoryStat::set_total_rss_huge},
      {"total_mapped_file", &v1::MemoryStat::set_total_mapped_file},
      {"total_dirty", &v1::MemoryStat::set_total_dirty},
      {"total_writeback", &v1::MemoryStat::set_total_writeback},
      {"total_pgpgin", &v1::MemoryStat::set_total_pg_pg_in},
      {"total_pgpgout", &v1::MemoryStat::set_total_pg_pg_out},
      {"total_pgfault", &v1::MemoryStat::set_total_pg_fault},
      {"total_pgmajfault", &v1::MemoryStat::set_total_pg_maj_fault},
      {"total_inactive_anon", &v1::MemoryStat::set_total_inactive_anon},
      {"total_active_anon", &v1::MemoryStat::set_total_active_anon},
      {"total_inactive_file", &v1::MemoryStat::set_total_inactive_file},
      {"total_active_file", &v1::MemoryStat::set_total_active_file},
      {"total_unevictable", &v1::MemoryStat::set_total_unevictable},
  };
  return *fields;
}

// cgroup v2's memory.stat keys are the MemoryStat field names themselves.
using V2Setter = void (v2::MemoryStat::*)(uint64_t);
const std::map<std::string_view, V2Setter>& V2MemoryStatFields() {
  static const auto* fields = new std::map<std::string_view, V2Setter>{
      {"anon", &v2::MemoryStat::set_anon},
      {"file", &v2::MemoryStat::set_file},
      {"kernel_stack", &v2::MemoryStat::set_kernel_stack},
      {"slab", &v2::MemoryStat::set_slab},
      {"sock", &v2::MemoryStat::set_sock},
      {"shmem", &v2::MemoryStat::set_shmem},
      {"file_mapped", &v2::MemoryStat::set_file_mapped},
      {"file_dirty", &v2::MemoryStat::set_file_dirty},
      {"file_writeback", &v2::MemoryStat::set_file_writeback},
      {"anon_thp", &v2::MemoryStat::set_anon_thp},
      {"inactive_anon", &v2::MemoryStat::set_inactive_anon},
      {"active_anon", &v2::MemoryStat::set_active_anon},
      {"inactive_file", &v2::MemoryStat::set_inactive_file},
      {"active_file", &v2::MemoryStat::set_active_file},
      {"unevictable", &v2::MemoryStat::set_unevictable},
      {"slab_reclaimable", &v2::MemoryStat::set_slab_reclaimable},
      {"slab_unreclaimable", &v2::MemoryStat::set_slab_unreclaimable},
      {"pgfault", &v2::MemoryStat::set_pgfault},
      {"pgmajfault", &v2::MemoryStat::set_pgmajfault},
      {"workingset_refault", &v2::MemoryStat::set_workingset_refault},
      {"workingset_activate", &v2::MemoryStat::set_workingset_activate},
      {"workingset_nodereclaim", &v2::MemoryStat::set_workingset_nodereclaim},
      {"pgrefill", &v2::MemoryStat::set_pgrefill},
      {"pgscan", &v2::MemoryStat::set_pgscan},
      {"pgsteal", &v2::MemoryStat::set_pgsteal},
      {"pgactivate", &v2::MemoryStat::set_pgactivate},
      {"pgdeactivate", &v2::MemoryStat::set_pgdeactivate},
      {"pglazyfree", &v2::MemoryStat::set_pglazyfree},
      {"pglazyfreed", &v2::MemoryStat::set_pglazyfreed},
      {"thp_fault_alloc", &v2::MemoryStat::set_thp_fault_alloc},
      {"thp_collapse_alloc", &v2::MemoryStat::set_thp_collapse_alloc},
  };
  return *fields;
}

// Calls `visit(key, value)` for every counter of memory.raw (memory.stat as the runtime read it).
template <typename Visit>
void ForEachRawCounter(Reader& reader, const json& memory, Visit visit) {
  const json& raw = reader.Object(memory, "raw", "data.memory");
  if (!raw.is_object()) return;
  for (const auto& [key, value] : raw.items()) visit(key, reader.Uint(value, Reader::Path("data.memory.raw", key)));
}

void ReadMemoryEntry(Reader& reader, const json& memory, std::string_view key, v1::MemoryEntry* entry) {
  std::string where = Reader::Path("data.memory", key);
  const json& source = reader.Object(memory, key, "data.memory");
  entry->set_limit(reader.Uint(source, "limit", where));
  entry->set_usage(reader.Uint(source, "usage", where));
  entry->set_max(reader.Uint(source, "max", where));
  entry->set_failcnt(reader.Uint(source, "failcnt", where));
}

// runc's blkio list names, in BlkIOStat's field order ("ioQueueRecursive" is runc's spelling).
constexpr std::string_view kBlkioLists[] = {
    "ioServiceBytesRecursive", "ioServicedRecursive", "ioQueueRecursive", "ioServiceTimeRecursive",
    "ioWaitTimeRecursive",     "ioMergedRecursive",   "ioTimeRecursive",  "sectorsRecursive"};

google::protobuf::RepeatedPtrField<v1::BlkIOEntry>* BlkioList(v1::BlkIOStat* blkio, size_t index) {
  switch (index) {
    case 0: return blkio->mutable_io_service_bytes_recursive();
    case 1: return blkio->mutable_io_serviced_recursive();
    case 2: return blkio->mutable_io_queued_recursive();
    case 3: return blkio->mutable_io_service_time_recursive();
    case 4: return blkio->mutable_io_wait_time_recursive();
    case 5: return blkio->mutable_io_merged_recursive();
    case 6: return blkio->mutable_io_time_recursive();
    default: return blkio->mutable_sectors_recursive();
  }
}

// Reads every blkio list as v1 entries (the v2 conversion folds them afterwards).
v1::BlkIOStat ReadBlkio(Reader& reader, const json& data) {
  v1::BlkIOStat blkio;
  const json& source = reader.Object(data, "blkio", "data");
  for (size_t i = 0; i < std::size(kBlkioLists); ++i) {
    std::string where = Reader::Path("data.blkio", kBlkioLists[i]);
    const json& list = reader.Array(source, kBlkioLists[i], "data.blkio");
    if (!list.is_array()) continue;
    for (size_t n = 0; n < list.size(); ++n) {
      std::string item = fmt::format("{}[{}]", where, n);
      v1::BlkIOEntry* entry = BlkioList(&blkio, i)->Add();
      entry->set_op(reader.String(list[n], "op", item));
      entry->set_major(reader.Uint(list[n], "major", item));
      entry->set_minor(reader.Uint(list[n], "minor", item));
      entry->set_value(reader.Uint(list[n], "value", item));
    }
  }
  return blkio;
}

// The hugetlb map, by page size ("2MB"), in the runtime's (sorted) order.
template <typename Visit>
void ForEachHugetlb(Reader& reader, const json& data, Visit visit) {
  const json& hugetlb = reader.Object(data, "hugetlb", "data");
  if (!hugetlb.is_object()) return;
  for (const auto& [size, entry] : hugetlb.items()) visit(size, entry, Reader::Path("data.hugetlb", size));
}

}  // namespace

absl::StatusOr<v1::Metrics> StatsToV1Metrics(std::string_view stats_json) {
  LIMAN_ASSIGN_OR_RETURN(json data, StatsData(stats_json));
  Reader reader;
  v1::Metrics metrics;

  ForEachHugetlb(reader, data, [&](const std::string& size, const json& entry, const std::string& where) {
    v1::HugetlbStat* stat = metrics.add_hugetlb();
    stat->set_pagesize(size);
    stat->set_usage(reader.Uint(entry, "usage", where));
    stat->set_max(reader.Uint(entry, "max", where));
    stat->set_failcnt(reader.Uint(entry, "failcnt", where));
  });

  const json& pids = reader.Object(data, "pids", "data");
  metrics.mutable_pids()->set_current(reader.Uint(pids, "current", "data.pids"));
  metrics.mutable_pids()->set_limit(reader.Uint(pids, "limit", "data.pids"));

  const json& cpu = reader.Object(data, "cpu", "data");
  const json& usage = reader.Object(cpu, "usage", "data.cpu");
  v1::CPUUsage* cpu_usage = metrics.mutable_cpu()->mutable_usage();
  cpu_usage->set_total(reader.Uint(usage, "total", "data.cpu.usage"));
  cpu_usage->set_kernel(reader.Uint(usage, "kernel", "data.cpu.usage"));
  cpu_usage->set_user(reader.Uint(usage, "user", "data.cpu.usage"));
  const json& percpu = reader.Array(usage, "percpu", "data.cpu.usage");
  for (size_t i = 0; percpu.is_array() && i < percpu.size(); ++i)
    cpu_usage->add_per_cpu(reader.Uint(percpu[i], fmt::format("data.cpu.usage.percpu[{}]", i)));
  const json& throttling = reader.Object(cpu, "throttling", "data.cpu");
  v1::Throttle* throttle = metrics.mutable_cpu()->mutable_throttling();
  throttle->set_periods(reader.Uint(throttling, "periods", "data.cpu.throttling"));
  throttle->set_throttled_periods(reader.Uint(throttling, "throttledPeriods", "data.cpu.throttling"));
  throttle->set_throttled_time(reader.Uint(throttling, "throttledTime", "data.cpu.throttling"));

  const json& memory = reader.Object(data, "memory", "data");
  v1::MemoryStat* memory_stat = metrics.mutable_memory();
  // runc copies memory.stat's "cache" to the top level; raw, when present, overrides it below.
  memory_stat->set_cache(reader.Uint(memory, "cache", "data.memory"));
  ForEachRawCounter(reader, memory, [&](const std::string& key, uint64_t value) {
    const auto& fields = V1MemoryStatFields();
    if (auto field = fields.find(key); field != fields.end()) (memory_stat->*(field->second))(value);
  });
  ReadMemoryEntry(reader, memory, "usage", memory_stat->mutable_usage());
  ReadMemoryEntry(reader, memory, "swap", memory_stat->mutable_swap());
  ReadMemoryEntry(reader, memory, "kernel", memory_stat->mutable_kernel());
  ReadMemoryEntry(reader, memory, "kernelTCP", memory_stat->mutable_kernel_tcp());

  *metrics.mutable_blkio() = ReadBlkio(reader, data);

  LIMAN_RETURN_IF_ERROR(reader.status());
  return metrics;
}

absl::StatusOr<v2::Metrics> StatsToV2Metrics(std::string_view stats_json) {
  LIMAN_ASSIGN_OR_RETURN(json data, StatsData(stats_json));
  Reader reader;
  v2::Metrics metrics;

  const json& pids = reader.Object(data, "pids", "data");
  metrics.mutable_pids()->set_current(reader.Uint(pids, "current", "data.pids"));
  metrics.mutable_pids()->set_limit(reader.Uint(pids, "limit", "data.pids"));

  // runc multiplies cpu.stat's microseconds by 1000; divide them back.
  const json& cpu = reader.Object(data, "cpu", "data");
  const json& usage = reader.Object(cpu, "usage", "data.cpu");
  const json& throttling = reader.Object(cpu, "throttling", "data.cpu");
  v2::CPUStat* cpu_stat = metrics.mutable_cpu();
  cpu_stat->set_usage_usec(reader.Uint(usage, "total", "data.cpu.usage") / 1000);
  cpu_stat->set_user_usec(reader.Uint(usage, "user", "data.cpu.usage") / 1000);
  cpu_stat->set_system_usec(reader.Uint(usage, "kernel", "data.cpu.usage") / 1000);
  cpu_stat->set_nr_periods(reader.Uint(throttling, "periods", "data.cpu.throttling"));
  cpu_stat->set_nr_throttled(reader.Uint(throttling, "throttledPeriods", "data.cpu.throttling"));
  cpu_stat->set_throttled_usec(reader.Uint(throttling, "throttledTime", "data.cpu.throttling") / 1000);

  const json& memory = reader.Object(data, "memory", "data");
  v2::MemoryStat* memory_stat = metrics.mutable_memory();
  ForEachRawCounter(reader, memory, [&](const std::string& key, uint64_t value) {
    const auto& fields = V2MemoryStatFields();
    if (auto field = fields.find(key); field != fields.end()) (memory_stat->*(field->second))(value);
  });
  const json& memory_usage = reader.Object(memory, "usage", "data.memory");
  const json& swap = reader.Object(memory, "swap", "data.memory");
  uint64_t used = reader.Uint(memory_usage, "usage", "data.memory.usage");
  uint64_t limit = reader.Uint(memory_usage, "limit", "data.memory.usage");
  uint64_t swap_used = reader.Uint(swap, "usage", "data.memory.swap");
  uint64_t swap_limit = reader.Uint(swap, "limit", "data.memory.swap");
  memory_stat->set_usage(used);
  memory_stat->set_usage_limit(limit);
  // runc reports memory+swap on v2 as on v1 (swap + memory.current, limits added unless either
  // is "max"); containerd reports memory.swap.current and memory.swap.max themselves.
  memory_stat->set_swap_usage(swap_used >= used ? swap_used - used : 0);
  memory_stat->set_swap_limit(swap_limit == kUnlimited ? kUnlimited : swap_limit >= limit ? swap_limit - limit : 0);

  // io.stat has one line per device with bytes and operations read and written; runc splits it
  // into Read/Write entries of two blkio lists.
  v1::BlkIOStat blkio = ReadBlkio(reader, data);
  std::map<std::pair<uint64_t, uint64_t>, v2::IOEntry> devices;
  auto fold = [&](const google::protobuf::RepeatedPtrField<v1::BlkIOEntry>& list, bool bytes) {
    for (const v1::BlkIOEntry& entry : list) {
      v2::IOEntry& device = devices[{entry.major(), entry.minor()}];
      device.set_major(entry.major());
      device.set_minor(entry.minor());
      if (entry.op() == "Read") bytes ? device.set_rbytes(entry.value()) : device.set_rios(entry.value());
      if (entry.op() == "Write") bytes ? device.set_wbytes(entry.value()) : device.set_wios(entry.value());
    }
  };
  fold(blkio.io_service_bytes_recursive(), true);
  fold(blkio.io_serviced_recursive(), false);
  for (auto& [id, entry] : devices) *metrics.mutable_io()->add_usage() = std::move(entry);

  // runc's hugetlb "max" is the peak usage and v2 has none; HugeTlbStat.max is the limit
  // (hugetlb.<size>.max), which the stats do not carry.
  ForEachHugetlb(reader, data, [&](const std::string& size, const json& entry, const std::string& where) {
    v2::HugeTlbStat* stat = metrics.add_hugetlb();
    stat->set_pagesize(size);
    stat->set_current(reader.Uint(entry, "usage", where));
  });

  LIMAN_RETURN_IF_ERROR(reader.status());
  return metrics;
}

bool IsUnifiedCgroupHost(const std::string& mount_root) {
  struct statfs fs;
  return statfs(mount_root.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

absl::StatusOr<google::protobuf::Any> StatsToMetricsAny(std::string_view stats_json, bool unified) {
  google::protobuf::Any any;
  if (unified) {
    LIMAN_ASSIGN_OR_RETURN(v2::Metrics metrics, StatsToV2Metrics(stats_json));
    any.set_type_url(std::string(kCgroupsV2MetricsTypeUrl));
    metrics.SerializeToString(any.mutable_value());
  } else {
    LIMAN_ASSIGN_OR_RETURN(v1::Metrics metrics, StatsToV1Metrics(stats_json));
    any.set_type_url(std::string(kCgroupsV1MetricsTypeUrl));
    metrics.SerializeToString(any.mutable_value());
  }
  return any;
}

}  // namespace liman::shim
