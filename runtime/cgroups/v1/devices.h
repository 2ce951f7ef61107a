// cgroup v1 devices controller (Documentation/admin-guide/cgroup-v1/devices.rst).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/oci_spec.h"

namespace liman::cgroups::v1 {

// Empty `rules`: the device policy is left as it is. Otherwise the cgroup ends up with runc's
// semantics (deny everything, then the rules in order): "a *:* rwm" is written to devices.deny
// first (unless the first rule already resets the policy), then every rule as one line to
// devices.allow or devices.deny, in order. When devices.list already shows exactly the resulting
// allow list nothing is written, so re-applying the same rules to a running container (runc
// update) never denies its devices even for an instant.
absl::Status ApplyDevices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules);

}  // namespace liman::cgroups::v1
