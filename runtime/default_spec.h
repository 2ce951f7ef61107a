// The config.json `liman-runtime spec` writes: the same defaults as `runc spec`.
#pragma once

#include "common/oci_spec.h"

namespace liman::runtime {

oci::Spec DefaultSpec(bool rootless);

}  // namespace liman::runtime
