#include "engine/daemon/volume_options.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

absl::StatusOr<json> ValidateLocalDriverOptions(const json& driver_opts) {
  if (driver_opts.is_null()) return json::object();
  if (!driver_opts.is_object()) return absl::InvalidArgumentError("invalid DriverOpts: not an object");
  for (const auto& [key, value] : driver_opts.items()) {
    if (key != "type" && key != "o" && key != "device" && key != "size")
      return absl::InvalidArgumentError(fmt::format("invalid option: \"{}\"", key));
    if (!value.is_string()) return absl::InvalidArgumentError(fmt::format("invalid option {}: not a string", Quote(key)));
  }
  if (driver_opts.contains("size")) {
    // moby accepts a size of 0 and refuses any other without quota support (as here).
    std::string size = driver_opts["size"].get<std::string>();
    if (size.find_first_not_of('0') != std::string::npos)
      return absl::InvalidArgumentError("quota size requested but no quota support");
  }
  // moby's mandatoryOpts: each option needs the ones listed.
  static const std::vector<std::pair<const char*, std::vector<const char*>>> kRequires = {
      {"device", {"type"}}, {"type", {"device"}}, {"o", {"device", "type"}}};
  for (const auto& [option, required] : kRequires) {
    if (!driver_opts.contains(option)) continue;
    for (const char* other : required)
      if (!driver_opts.contains(other))
        return absl::InvalidArgumentError(fmt::format("missing required option: \"{}\"", other));
  }
  return driver_opts;
}

bool NeedsMount(const json& options) {
  if (!options.is_object()) return false;
  return !options.value("type", "").empty() || !options.value("device", "").empty();
}

MountDescriptor VolumeMount(const json& options) {
  std::vector<std::string> mount_options = absl::StrSplit(options.value("o", ""), ',', absl::SkipEmpty());
  return MountDescriptor{options.value("type", ""), options.value("device", ""), "", std::move(mount_options)};
}

}  // namespace liman::engine
