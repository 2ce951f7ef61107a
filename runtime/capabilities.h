// The five capability sets of process.capabilities, parsed with libcap-ng in the parent and
// applied in the child.
#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"

namespace liman::runtime {

struct CapabilityPlan {
  bool present = false;  // no "capabilities" object: leave the sets as they are (root keeps all)
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
};

// Unknown names are an error (`unknown capability "CAP_FOO"`); names the running kernel lacks are
// skipped with a warning, as runc does.
absl::StatusOr<CapabilityPlan> PlanCapabilities(const std::optional<oci::Capabilities>& caps);

// Child side, step 1 (still uid 0): drop from the bounding set what is not in `bounding`.
int DropBoundingSet(const CapabilityPlan& plan);
// Child side, step 2 (after setresuid with PR_SET_KEEPCAPS): set effective/permitted/inheritable
// then raise ambient. Returns 0 or an errno.
int ApplyCapabilitySets(const CapabilityPlan& plan);

// CAP_* names this kernel knows, for `features`.
std::vector<std::string> KnownCapabilityNames();

}  // namespace liman::runtime
