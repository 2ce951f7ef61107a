// The task service's Stats: the runtime's `events --stats` JSON (runc's types.Stats schema, which
// liman-runtime, runc and crun print) turned into the protobuf containerd expects, the cgroups
// package's Metrics, in a google.protobuf.Any. containerd's runc shim reads the cgroup files itself
// and sends io.containerd.cgroups.v1.Metrics on v1 and hybrid hosts and
// io.containerd.cgroups.v2.Metrics on unified ones; the type URL is the bare message name, which is
// what containerd's typeurl.MarshalAny produces for these unregistered gogo messages.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "google/protobuf/any.pb.h"

namespace liman::shim {

inline constexpr std::string_view kCgroupsV1MetricsTypeUrl = "io.containerd.cgroups.v1.Metrics";
inline constexpr std::string_view kCgroupsV2MetricsTypeUrl = "io.containerd.cgroups.v2.Metrics";

// `stats_json` is one event line: {"type":"stats","id":…,"data":{"cpu":…,"memory":…,…}}.
// Absent members read as zero (Go omits zero values); a member of the wrong JSON type is an
// InvalidArgument naming it (`runtime stats: "data.memory.usage.limit" is not an unsigned number`).
absl::StatusOr<io::containerd::cgroups::v1::Metrics> StatsToV1Metrics(std::string_view stats_json);

// The same for a unified host. runc's JSON keeps v1's shape there, so this undoes its
// conventions: nanoseconds back to cpu.stat's microseconds, memory subtracted from the
// memory+swap figures, Read/Write blkio entries folded into one io.stat entry per device.
absl::StatusOr<io::containerd::cgroups::v2::Metrics> StatsToV2Metrics(std::string_view stats_json);

// Whether `mount_root` is a cgroup2 file system (statfs(2) f_type CGROUP2_SUPER_MAGIC): the test
// containerd's cgroups.Mode() makes to choose between the two messages. Hybrid hosts are v1.
bool IsUnifiedCgroupHost(const std::string& mount_root = "/sys/fs/cgroup");

// StatsToV1Metrics or StatsToV2Metrics packed with its type URL (no "type.googleapis.com/").
absl::StatusOr<google::protobuf::Any> StatsToMetricsAny(std::string_view stats_json, bool unified);

}  // namespace liman::shim
