// The five capability sets of process.capabilities, parsed with libcap-ng in the parent and
// applied in the child.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"

namespace liman::runtime {

struct CapabilityPlan {
  bool present = false;  // no "capabilities" object: leave the sets as they are (root keeps all)
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  // Highest capability number of the running kernel, read while planning so that the child does
  // not have to read /proc. -1: unknown, the child probes with PR_CAPBSET_READ.
  int last_cap = -1;
};

// Unknown names are an error (`unknown capability "CAP_FOO"`); names the running kernel lacks are
// skipped with a warning, as runc does.
absl::StatusOr<CapabilityPlan> PlanCapabilities(const std::optional<oci::Capabilities>& caps);
// The same against a given last capability number (for tests and callers that know it).
absl::StatusOr<CapabilityPlan> PlanCapabilitiesForKernel(const std::optional<oci::Capabilities>& caps,
                                                         int last_cap);

// /proc/sys/kernel/cap_last_cap, or probed with PR_CAPBSET_READ when /proc is not available.
int KernelLastCap();

// Child side, step 1 (still uid 0): drop from the bounding set what is not in `bounding`.
int DropBoundingSet(const CapabilityPlan& plan);
// Child side, step 2 (after setresuid with PR_SET_KEEPCAPS): set effective/permitted/inheritable
// then raise ambient. Returns 0 or an errno.
int ApplyCapabilitySets(const CapabilityPlan& plan);

// CAP_* names this kernel knows, for `features`.
std::vector<std::string> KnownCapabilityNames();

}  // namespace liman::runtime
