// The local volume driver's options (moby's volume/local): `type`, `device` and `o` make a volume
// that filesystem (`--opt type=tmpfs --opt device=tmpfs --opt o=size=64m`, or a host directory
// with `type=none o=bind device=/srv/data`), mounted on the volume's _data directory while a
// running container uses it; `size` asks for a quota, which limand's local driver has not.
#pragma once

#include "absl/status/statusor.h"
#include "common/mount.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

// The options as the volume keeps them (an object of strings), or moby's refusal: `invalid
// option: "x"`, `missing required option: "device"` (type and device need each other, o needs
// both), "quota size requested but no quota support".
absl::StatusOr<nlohmann::json> ValidateLocalDriverOptions(const nlohmann::json& driver_opts);

// True when the options make the volume a filesystem to mount (a type or a device).
bool NeedsMount(const nlohmann::json& options);

// mount(8)'s `mount -t TYPE -o O DEVICE <_data>` as a descriptor (target: the directory itself).
MountDescriptor VolumeMount(const nlohmann::json& options);

}  // namespace liman::engine
