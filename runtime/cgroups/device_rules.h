// Device cgroup rules (linux.resources.devices) as the v1 devices controller interprets them,
// shared by v1 (devices.allow/devices.deny lines) and v2 (an eBPF program computed from the same
// policy, so both layouts enforce exactly the same thing, as runc does).
//
// Semantics follow runc: the policy starts from "deny everything" and the rules are applied in
// order on top of it; each rule behaves like a write to devices.allow / devices.deny, see
// Documentation/admin-guide/cgroup-v1/devices.rst and security/device_cgroup.c.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"

namespace liman::cgroups {

// Access bits, the same values as the kernel's DEVCG_ACC_* and BPF_DEVCG_ACC_*.
inline constexpr uint8_t kDevAccessMknod = 1, kDevAccessRead = 2, kDevAccessWrite = 4, kDevAccessAll = 7;

struct DeviceException {
  char type = 'c';     // 'b' or 'c'
  int64_t major = -1;  // -1: any
  int64_t minor = -1;  // -1: any
  uint8_t access = 0;
  bool operator==(const DeviceException&) const = default;
};

// The state of a devices cgroup: a default behaviour plus exceptions to it. With default_allow
// the exceptions are denials ("blacklist"), otherwise they are the only things allowed.
struct DevicePolicy {
  bool default_allow = false;
  std::vector<DeviceException> exceptions;  // in order of first insertion
  bool operator==(const DevicePolicy&) const = default;
};

// "rwm" letters to bits; empty means "rwm" (the spec gives no default, and a rule that grants or
// denies nothing would be meaningless).
absl::StatusOr<uint8_t> ParseDeviceAccess(std::string_view access);
std::string DeviceAccessString(uint8_t access);

// A rule as one devices.allow/devices.deny line: "c 1:3 rwm", "a *:* rwm".
absl::StatusOr<std::string> DeviceRuleLine(const oci::DeviceCgroupRule& rule);

// Applies `rules`, in order, to a deny-all policy the way the kernel applies writes to
// devices.allow/devices.deny: "a" resets the default and drops every exception; a rule matching
// the default removes those access bits from the exception with the same type/major/minor; any
// other rule adds (merges into) an exception.
absl::StatusOr<DevicePolicy> EmulateDeviceRules(const std::vector<oci::DeviceCgroupRule>& rules);

// The policy devices.list shows (only whitelists can be read back: a default-allow cgroup shows
// "a *:* rwm" whatever it denies, so the result has default_allow set and no exceptions).
absl::StatusOr<DevicePolicy> ParseDevicesList(std::string_view text);

// Whether `policy` lets a process use device `type` major:minor with `access`, per the kernel's
// checks (match_exception for allow lists, match_exception_partial for deny lists).
bool DevicePolicyAllows(const DevicePolicy& policy, char type, int64_t major, int64_t minor, uint8_t access);

// runc's default allow list (libcontainer/specconv AllowedDevices): mknod of any device, the
// standard character devices, /dev/pts/*, /dev/ptmx and /dev/net/tun. Callers building a
// container's rules append these after the spec's rules, as runc does; the cgroup manager itself
// applies exactly what it is given.
std::vector<oci::DeviceCgroupRule> RuncDefaultDeviceRules();

// One linux.resources.devices entry; a nullopt major or minor is the spec's wildcard.
oci::DeviceCgroupRule MakeDeviceRule(bool allow, const char* type, std::optional<int64_t> major,
                                     std::optional<int64_t> minor, const char* access);

}  // namespace liman::cgroups
