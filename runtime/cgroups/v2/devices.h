// cgroup v2 device control: v2 has no devices.allow/deny files; access is decided by an eBPF
// program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup (cgroup-v2.rst, "Device
// controller"). The program is computed from the same DevicePolicy the v1 controller would end
// up with (device_rules.h), so both layouts enforce the same rules, as in runc.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/oci_spec.h"
#include "runtime/cgroups/device_rules.h"

namespace liman::cgroups::v2 {

// The program for `policy`. The kernel calls it with a struct bpf_cgroup_dev_ctx in R1:
// access_type (device type in the low 16 bits, BPF_DEVCG_ACC_* in the high 16), major, minor; it
// returns 1 to allow and 0 to deny. Layout (the systemd/crun/runc scheme):
//   R2 = type, R3 = access, R4 = major, R5 = minor
//   per exception: if the device does not match, jump to the next block; else return allow/deny
//   finally: return the default.
// Allow-list exceptions match when they grant all requested access (the kernel's match_exception),
// deny-list exceptions when they cover any of it (match_exception_partial).
std::vector<bpf_insn> BuildDeviceProgram(const DevicePolicy& policy);

// Empty `rules`: nothing is attached or changed. Otherwise loads the program for the rules
// (applied to deny-all, see device_rules.h) and attaches it to `dir` with BPF_F_ALLOW_MULTI,
// then detaches the programs that were attached there before (so a re-apply replaces them; in
// between both run, which can only deny more, never less).
absl::Status ApplyDevices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules);

}  // namespace liman::cgroups::v2
