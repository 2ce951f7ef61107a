// The JSON payloads containerd sends inside google.protobuf.Any: OCI runtime-spec types that are
// not protobuf messages travel as their JSON under a types.containerd.io type URL (containerd's
// typeurl package), which is what a shim decodes for Exec and Update.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"

namespace liman::shimctl {

inline constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";
inline constexpr char kResourcesTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

// An exec's process: the container's own (process of `config_path`, a bundle's config.json) with
// `args` and `terminal` replaced, as `ctr task exec` builds it.
absl::StatusOr<google::protobuf::Any> ProcessFromConfig(const std::string& config_path,
                                                        const std::vector<std::string>& args, bool terminal);

// A process or resources document taken as is from a JSON file (checked to be a JSON object).
absl::StatusOr<google::protobuf::Any> JsonFileAny(const std::string& path, const std::string& type_url);

}  // namespace liman::shimctl
