#include "runtime/cgroups/v1/devices.h"

#include <algorithm>

#include "common/status.h"
#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups::v1 {
namespace {

bool SameAllowList(DevicePolicy a, DevicePolicy b) {
  if (a.default_allow || b.default_allow) return false;  // deny lists cannot be read back
  auto key = [](const DeviceException& e) { return std::tuple(e.type, e.major, e.minor, e.access); };
  auto less = [&](const DeviceException& x, const DeviceException& y) { return key(x) < key(y); };
  std::sort(a.exceptions.begin(), a.exceptions.end(), less);
  std::sort(b.exceptions.begin(), b.exceptions.end(), less);
  return a.exceptions == b.exceptions;
}

}  // namespace

absl::Status ApplyDevices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  if (rules.empty()) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(DevicePolicy target, EmulateDeviceRules(rules));
  if (auto listed = ReadKnob(dir, "devices.list"); listed.ok()) {
    auto current = ParseDevicesList(*listed);
    if (current.ok() && SameAllowList(*current, target)) return absl::OkStatus();
  }
  bool first_resets = rules.front().type.empty() || rules.front().type == "a";
  if (!first_resets) LIMAN_RETURN_IF_ERROR(WriteKnob(dir, "devices.deny", "a *:* rwm"));
  for (const oci::DeviceCgroupRule& rule : rules) {
    LIMAN_ASSIGN_OR_RETURN(std::string line, DeviceRuleLine(rule));
    LIMAN_RETURN_IF_ERROR(WriteKnob(dir, rule.allow ? "devices.allow" : "devices.deny", line));
  }
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v1
