// What `run` needs of an OCI image config (application/vnd.oci.image.config.v1+json, or docker's
// identical application/vnd.docker.container.image.v1+json), and the chain id of its layers.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {

struct ImageConfig {
  std::string os;
  std::string architecture;
  std::string variant;
  // config.*
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;
  std::string stop_signal;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports;  // config.ExposedPorts' keys: "80/tcp"
  nlohmann::json healthcheck;              // config.Healthcheck as it is (null without one)
  // rootfs.diff_ids: the uncompressed layers' digests, bottom first.
  std::vector<std::string> diff_ids;
};

// kInvalidArgument when the text is not JSON or a field has the wrong type.
absl::StatusOr<ImageConfig> ParseImageConfig(std::string_view json_text);

// The image spec's ChainID: ChainID(L0) = DiffID(L0), ChainID(L0|…|Ln) =
// "sha256:" + sha256(ChainID(L0|…|Ln-1) + " " + DiffID(Ln)). It names the committed snapshot
// holding the layers applied in order. Empty for no layers.
std::string ChainId(const std::vector<std::string>& diff_ids);

}  // namespace liman::ctr
