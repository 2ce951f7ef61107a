#include "runtime/cgroups/device_rules.h"

#include <algorithm>
#include <charconv>

#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/fs_util.h"

namespace liman::cgroups {
namespace {

struct ParsedRule {
  bool wildcard = false;  // type "a" (or empty): resets the whole policy
  DeviceException exception;
  bool allow = false;
};

absl::StatusOr<ParsedRule> ParseRule(const oci::DeviceCgroupRule& rule) {
  ParsedRule parsed;
  parsed.allow = rule.allow;
  if (rule.type.empty() || rule.type == "a") {
    // The kernel treats any "a ..." write as the whole-policy reset and ignores the rest of the
    // line (security/device_cgroup.c, devcgroup_update_access), so major/minor/access do not matter.
    parsed.wildcard = true;
    return parsed;
  }
  if (rule.type != "b" && rule.type != "c")
    return absl::InvalidArgumentError(fmt::format("device rule: invalid type {} (want a, b or c)", Quote(rule.type)));
  parsed.exception.type = rule.type[0];
  parsed.exception.major = rule.major && *rule.major >= 0 ? *rule.major : -1;
  parsed.exception.minor = rule.minor && *rule.minor >= 0 ? *rule.minor : -1;
  if (parsed.exception.major > UINT32_MAX || parsed.exception.minor > UINT32_MAX)
    return absl::InvalidArgumentError(
        fmt::format("device rule: device number {}:{} out of range", parsed.exception.major, parsed.exception.minor));
  LIMAN_ASSIGN_OR_RETURN(parsed.exception.access, ParseDeviceAccess(rule.access));
  return parsed;
}

std::string Number(int64_t n) { return n < 0 ? "*" : std::to_string(n); }

bool SameDevice(const DeviceException& a, const DeviceException& b) {
  return a.type == b.type && a.major == b.major && a.minor == b.minor;
}

}  // namespace

absl::StatusOr<uint8_t> ParseDeviceAccess(std::string_view access) {
  if (access.empty()) return kDevAccessAll;
  uint8_t bits = 0;
  for (char c : access) {
    switch (c) {
      case 'r':
        bits |= kDevAccessRead;
        break;
      case 'w':
        bits |= kDevAccessWrite;
        break;
      case 'm':
        bits |= kDevAccessMknod;
        break;
      default:
        return absl::InvalidArgumentError(
            fmt::format("device rule: invalid access {} (want letters of rwm)", Quote(access)));
    }
  }
  return bits;
}

std::string DeviceAccessString(uint8_t access) {
  std::string out;
  if (access & kDevAccessRead) out += 'r';
  if (access & kDevAccessWrite) out += 'w';
  if (access & kDevAccessMknod) out += 'm';
  return out;
}

absl::StatusOr<std::string> DeviceRuleLine(const oci::DeviceCgroupRule& rule) {
  LIMAN_ASSIGN_OR_RETURN(ParsedRule parsed, ParseRule(rule));
  if (parsed.wildcard) return std::string("a *:* rwm");
  const DeviceException& e = parsed.exception;
  return fmt::format("{} {}:{} {}", e.type, Number(e.major), Number(e.minor), DeviceAccessString(e.access));
}

absl::StatusOr<DevicePolicy> EmulateDeviceRules(const std::vector<oci::DeviceCgroupRule>& rules) {
  DevicePolicy policy;  // deny-all, runc's starting point
  for (const oci::DeviceCgroupRule& rule : rules) {
    LIMAN_ASSIGN_OR_RETURN(ParsedRule parsed, ParseRule(rule));
    if (parsed.wildcard) {
      policy.default_allow = parsed.allow;
      policy.exceptions.clear();
      continue;
    }
    auto existing = std::find_if(policy.exceptions.begin(), policy.exceptions.end(),
                                 [&](const DeviceException& e) { return SameDevice(e, parsed.exception); });
    if (parsed.allow == policy.default_allow) {
      // dev_exception_rm: only an exception with exactly this type/major/minor loses the bits.
      if (existing != policy.exceptions.end()) {
        existing->access &= static_cast<uint8_t>(~parsed.exception.access);
        if (existing->access == 0) policy.exceptions.erase(existing);
      }
    } else if (existing != policy.exceptions.end()) {
      existing->access |= parsed.exception.access;  // dev_exception_add merges access bits
    } else {
      policy.exceptions.push_back(parsed.exception);
    }
  }
  return policy;
}

absl::StatusOr<DevicePolicy> ParseDevicesList(std::string_view text) {
  DevicePolicy policy;
  for (std::string_view line : SplitLines(text)) {
    std::vector<std::string_view> fields = SplitFields(line);
    if (fields.size() != 3)
      return absl::InvalidArgumentError(fmt::format("parse devices.list: malformed line {}", Quote(line)));
    if (fields[0] == "a") {
      // devcgroup_seq_show prints only "a *:* rwm" for a default-allow cgroup.
      policy.default_allow = true;
      policy.exceptions.clear();
      return policy;
    }
    DeviceException e;
    if (fields[0] != "b" && fields[0] != "c")
      return absl::InvalidArgumentError(fmt::format("parse devices.list: malformed line {}", Quote(line)));
    e.type = fields[0][0];
    size_t colon = fields[1].find(':');
    if (colon == std::string_view::npos)
      return absl::InvalidArgumentError(fmt::format("parse devices.list: malformed line {}", Quote(line)));
    auto number = [&](std::string_view s) -> absl::StatusOr<int64_t> {
      if (s == "*") return -1;
      LIMAN_ASSIGN_OR_RETURN(uint64_t n, ParseUint(s, "devices.list"));
      return static_cast<int64_t>(n);
    };
    LIMAN_ASSIGN_OR_RETURN(e.major, number(fields[1].substr(0, colon)));
    LIMAN_ASSIGN_OR_RETURN(e.minor, number(fields[1].substr(colon + 1)));
    LIMAN_ASSIGN_OR_RETURN(e.access, ParseDeviceAccess(fields[2]));
    policy.exceptions.push_back(e);
  }
  return policy;
}

bool DevicePolicyAllows(const DevicePolicy& policy, char type, int64_t major, int64_t minor, uint8_t access) {
  auto device_matches = [&](const DeviceException& e) {
    return e.type == type && (e.major < 0 || e.major == major) && (e.minor < 0 || e.minor == minor);
  };
  if (policy.default_allow) {
    // Denied when any exception covers the device and any of the requested access.
    for (const DeviceException& e : policy.exceptions)
      if (device_matches(e) && (e.access & access) != 0) return false;
    return true;
  }
  // Allowed only when one exception covers the device and all of the requested access.
  for (const DeviceException& e : policy.exceptions)
    if (device_matches(e) && (access & ~e.access) == 0) return true;
  return false;
}

oci::DeviceCgroupRule MakeDeviceRule(bool allow, const char* type, std::optional<int64_t> major,
                                     std::optional<int64_t> minor, const char* access) {
  oci::DeviceCgroupRule rule;
  rule.allow = allow;
  rule.type = type;
  rule.major = major;
  rule.minor = minor;
  rule.access = access;
  return rule;
}

std::vector<oci::DeviceCgroupRule> RuncDefaultDeviceRules() {
  auto rule = [](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor, const char* access) {
    return MakeDeviceRule(true, type, major, minor, access);
  };
  return {
      rule("c", std::nullopt, std::nullopt, "m"),  // mknod of any character device
      rule("b", std::nullopt, std::nullopt, "m"),  // mknod of any block device
      rule("c", 1, 3, "rwm"),                      // /dev/null
      rule("c", 1, 8, "rwm"),                      // /dev/random
      rule("c", 1, 7, "rwm"),                      // /dev/full
      rule("c", 5, 0, "rwm"),                      // /dev/tty
      rule("c", 1, 5, "rwm"),                      // /dev/zero
      rule("c", 1, 9, "rwm"),                      // /dev/urandom
      rule("c", 136, std::nullopt, "rwm"),         // /dev/pts/*
      rule("c", 5, 1, "rwm"),                      // /dev/console
      rule("c", 5, 2, "rwm"),                      // /dev/ptmx
      rule("c", 10, 200, "rwm"),                   // /dev/net/tun
  };
}

}  // namespace liman::cgroups
