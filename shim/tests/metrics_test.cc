#include "shim/metrics.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/file_util.h"

using namespace liman;
using namespace liman::shim;
namespace v1 = io::containerd::cgroups::v1;
namespace v2 = io::containerd::cgroups::v2;

namespace {

std::string FixturePath(const std::string& name) {
  std::string here = __FILE__;
  auto text = ReadFile(JoinPath(here.substr(0, here.rfind('/')), "testdata/" + name));
  REQUIRE(text.ok());
  return *text;
}

}  // namespace

TEST_CASE("runc's stats JSON becomes io.containerd.cgroups.v1.Metrics") {
  auto metrics = StatsToV1Metrics(FixturePath("events_stats_v1.json"));
  REQUIRE(metrics.ok());

  const v1::CPUStat& cpu = metrics->cpu();
  CHECK(cpu.usage().total() == 123456789);
  CHECK(cpu.usage().kernel() == 20000000);
  CHECK(cpu.usage().user() == 90000000);
  REQUIRE(cpu.usage().per_cpu_size() == 2);
  CHECK(cpu.usage().per_cpu(0) == 100000000);
  CHECK(cpu.usage().per_cpu(1) == 23456789);
  CHECK(cpu.throttling().periods() == 10);
  CHECK(cpu.throttling().throttled_periods() == 2);
  CHECK(cpu.throttling().throttled_time() == 5000000);

  const v1::MemoryStat& memory = metrics->memory();
  CHECK(memory.cache() == 40960);
  CHECK(memory.rss() == 536576);
  CHECK(memory.mapped_file() == 12288);
  CHECK(memory.dirty() == 4096);
  CHECK(memory.pg_pg_in() == 900);
  CHECK(memory.pg_pg_out() == 300);
  CHECK(memory.pg_fault() == 1500);
  CHECK(memory.pg_maj_fault() == 2);
  CHECK(memory.inactive_file() == 32768);
  CHECK(memory.active_anon() == 1024);
  CHECK(memory.hierarchical_memory_limit() == 67108864);
  CHECK(memory.hierarchical_swap_limit() == 134217728);
  CHECK(memory.total_rss() == 536576);
  CHECK(memory.total_pg_fault() == 1500);
  CHECK(memory.usage().limit() == 67108864);
  CHECK(memory.usage().usage() == 1048576);
  CHECK(memory.usage().max() == 2097152);
  CHECK(memory.usage().failcnt() == 3);
  CHECK(memory.swap().limit() == 134217728);
  CHECK(memory.swap().usage() == 1052672);
  CHECK(memory.swap().failcnt() == 1);
  CHECK(memory.kernel().limit() == 9223372036854771712u);
  CHECK(memory.kernel().usage() == 81920);
  CHECK(memory.kernel_tcp().usage() == 0);

  CHECK(metrics->pids().current() == 3);
  CHECK(metrics->pids().limit() == 100);

  const v1::BlkIOStat& blkio = metrics->blkio();
  REQUIRE(blkio.io_service_bytes_recursive_size() == 3);
  CHECK(blkio.io_service_bytes_recursive(1).op() == "Write");
  CHECK(blkio.io_service_bytes_recursive(1).major() == 8);
  CHECK(blkio.io_service_bytes_recursive(1).minor() == 0);
  CHECK(blkio.io_service_bytes_recursive(1).value() == 8192);
  REQUIRE(blkio.io_serviced_recursive_size() == 3);
  CHECK(blkio.io_serviced_recursive(2).value() == 3);
  REQUIRE(blkio.io_queued_recursive_size() == 1);  // runc spells it "ioQueueRecursive"
  CHECK(blkio.io_queued_recursive(0).minor() == 16);
  CHECK(blkio.sectors_recursive_size() == 0);

  REQUIRE(metrics->hugetlb_size() == 2);
  CHECK(metrics->hugetlb(0).pagesize() == "1GB");
  CHECK(metrics->hugetlb(0).usage() == 0);
  CHECK(metrics->hugetlb(1).pagesize() == "2MB");
  CHECK(metrics->hugetlb(1).usage() == 2097152);
  CHECK(metrics->hugetlb(1).max() == 4194304);
  CHECK(metrics->hugetlb(1).failcnt() == 1);
}

TEST_CASE("On a unified host the stats become io.containerd.cgroups.v2.Metrics") {
  auto metrics = StatsToV2Metrics(FixturePath("events_stats_v2.json"));
  REQUIRE(metrics.ok());
  CHECK(metrics->pids().current() == 2);
  CHECK(metrics->pids().limit() == 0);

  CHECK(metrics->cpu().usage_usec() == 5000);
  CHECK(metrics->cpu().user_usec() == 4000);
  CHECK(metrics->cpu().system_usec() == 1000);
  CHECK(metrics->cpu().nr_periods() == 7);
  CHECK(metrics->cpu().nr_throttled() == 1);
  CHECK(metrics->cpu().throttled_usec() == 250);

  const v2::MemoryStat& memory = metrics->memory();
  CHECK(memory.anon() == 2097152);
  CHECK(memory.file() == 16384);
  CHECK(memory.kernel_stack() == 32768);
  CHECK(memory.slab_reclaimable() == 40960);
  CHECK(memory.pgfault() == 321);
  CHECK(memory.workingset_refault() == 5);
  CHECK(memory.usage() == 3145728);
  CHECK(memory.usage_limit() == 33554432);
  CHECK(memory.swap_usage() == 65536);        // runc's memory+swap minus memory
  CHECK(memory.swap_limit() == 33554432);

  REQUIRE(metrics->io().usage_size() == 2);  // one entry per device, ordered by major:minor
  const v2::IOEntry& sdb = metrics->io().usage(0);
  CHECK((sdb.major() == 8 && sdb.minor() == 16));
  CHECK(sdb.rbytes() == 512);
  CHECK(sdb.rios() == 1);
  CHECK(sdb.wbytes() == 0);
  const v2::IOEntry& nvme = metrics->io().usage(1);
  CHECK(nvme.major() == 259);
  CHECK(nvme.rbytes() == 1024);
  CHECK(nvme.wbytes() == 2048);
  CHECK(nvme.rios() == 3);
  CHECK(nvme.wios() == 4);

  REQUIRE(metrics->hugetlb_size() == 1);
  CHECK(metrics->hugetlb(0).pagesize() == "2MB");
  CHECK(metrics->hugetlb(0).current() == 2097152);
}

TEST_CASE("Metrics travel in an Any with containerd's bare type URL") {
  std::string json = FixturePath("events_stats_v1.json");
  auto any = StatsToMetricsAny(json, /*unified=*/false);
  REQUIRE(any.ok());
  CHECK(any->type_url() == "io.containerd.cgroups.v1.Metrics");
  v1::Metrics decoded;
  REQUIRE(decoded.ParseFromString(any->value()));
  CHECK(decoded.cpu().usage().total() == 123456789);

  any = StatsToMetricsAny(FixturePath("events_stats_v2.json"), /*unified=*/true);
  REQUIRE(any.ok());
  CHECK(any->type_url() == "io.containerd.cgroups.v2.Metrics");
  v2::Metrics decoded_v2;
  REQUIRE(decoded_v2.ParseFromString(any->value()));
  CHECK(decoded_v2.memory().usage() == 3145728);
}

TEST_CASE("Bad stats JSON is rejected with the member it is about") {
  CHECK(StatsToV1Metrics("not json").status().message() == "runtime stats: not a JSON object");
  CHECK(StatsToV1Metrics(R"({"type":"oom","id":"c1"})").status().message() ==
        "runtime stats: event type \"oom\" is not \"stats\"");
  CHECK(StatsToV1Metrics(R"({"type":"stats","id":"c1"})").status().message() == "runtime stats: no \"data\" object");
  auto wrong = StatsToV1Metrics(R"({"type":"stats","data":{"memory":{"usage":{"limit":"lots"}}}})");
  CHECK(wrong.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(wrong.status().message() == "runtime stats: \"data.memory.usage.limit\" is not an unsigned number");
  CHECK(StatsToV1Metrics(R"({"type":"stats","data":{"cpu":{"usage":{"percpu":[1,-2]}}}})").status().message() ==
        "runtime stats: \"data.cpu.usage.percpu[1]\" is not an unsigned number");
  CHECK(StatsToV2Metrics(R"({"type":"stats","data":{"hugetlb":[]}})").status().message() ==
        "runtime stats: \"data.hugetlb\" is not an object");
  // Go leaves out zero values: an empty data object is all zeros, not an error.
  auto empty = StatsToV1Metrics(R"({"type":"stats","id":"c1","data":{}})");
  REQUIRE(empty.ok());
  CHECK(empty->memory().usage().limit() == 0);
}

TEST_CASE("This host's cgroup mode is detected from the file system type") {
  CHECK(IsUnifiedCgroupHost("/sys/fs/cgroup/unified") == (access("/sys/fs/cgroup/unified/cgroup.procs", F_OK) == 0));
  CHECK(!IsUnifiedCgroupHost("/proc"));
  CHECK(!IsUnifiedCgroupHost("/nonexistent"));
}
