#include "runtime/capabilities.h"

#include <cap-ng.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <set>
#include <string_view>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::runtime {
namespace {

// Capability sets are 64-bit masks (two 32-bit words in the v3 capset ABI).
constexpr int kMaxCap = 63;

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

// The capability number of an OCI name ("CAP_NET_RAW"), or -1. OCI names are the kernel's names
// in upper case with the CAP_ prefix, exactly as runc spells them; libcap-ng's table has them in
// lower case without the prefix and compares case-insensitively, so the case is checked here.
int CapabilityNumber(std::string_view name) {
  constexpr std::string_view kPrefix = "CAP_";
  if (name.size() <= kPrefix.size() || name.substr(0, kPrefix.size()) != kPrefix) return -1;
  std::string bare(name.substr(kPrefix.size()));
  for (char c : bare)
    if (!(std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return -1;
  // capng_name_to_capability looks the name up in libcap-ng's table only; it does not depend on
  // the running kernel, which lets "unknown" and "not in this kernel" be told apart.
  return capng_name_to_capability(bare.c_str());
}

// "CAP_NET_RAW" for a number, or "" when libcap-ng has no name for it: for numbers the kernel has
// but its table lacks it makes up "cap_<n>", which is no OCI name.
std::string OciCapabilityName(int cap) {
  const char* name = capng_capability_to_name(static_cast<unsigned>(cap));
  if (name == nullptr || std::string_view(name).substr(0, 4) == "cap_") return "";
  std::string upper = "CAP_";
  for (const char* p = name; *p; ++p) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  return upper;
}

// Probes the bounding set: PR_CAPBSET_READ fails with EINVAL for capabilities the kernel does
// not know (prctl(2)). Allocation-free, so also usable in the child.
int ProbeLastCap() {
  int cap = 0;
  while (cap <= kMaxCap && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0) ++cap;
  return cap - 1;
}

}  // namespace

int KernelLastCap() {
  // capabilities(7): /proc/sys/kernel/cap_last_cap exposes the highest capability the kernel
  // supports (Linux 3.2).
  auto text = ReadFile("/proc/sys/kernel/cap_last_cap");
  if (text.ok()) {
    int value = -1;
    const char* begin = text->data();
    const char* end = begin + text->size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec == std::errc() && ptr != begin && value >= 0 && value <= kMaxCap) return value;
  }
  return ProbeLastCap();
}

absl::StatusOr<CapabilityPlan> PlanCapabilities(const std::optional<oci::Capabilities>& caps) {
  return PlanCapabilitiesForKernel(caps, KernelLastCap());
}

absl::StatusOr<CapabilityPlan> PlanCapabilitiesForKernel(const std::optional<oci::Capabilities>& caps,
                                                         int last_cap) {
  CapabilityPlan plan;
  plan.last_cap = last_cap;
  if (!caps.has_value()) return plan;
  plan.present = true;

  std::set<std::string> unavailable;
  auto to_mask = [&](const std::optional<std::vector<std::string>>& names) -> absl::StatusOr<uint64_t> {
    uint64_t mask = 0;
    if (!names.has_value()) return mask;
    for (const std::string& name : *names) {
      int cap = CapabilityNumber(name);
      if (cap < 0) return absl::InvalidArgumentError(fmt::format("unknown capability {}", Quote(name)));
      // A name newer than the running kernel: runc warns and goes on, so that one spec works
      // across kernel versions.
      if (cap > last_cap || cap > kMaxCap) {
        unavailable.insert(name);
        continue;
      }
      mask |= Bit(cap);
    }
    return mask;
  };
  LIMAN_ASSIGN_OR_RETURN(plan.bounding, to_mask(caps->bounding));
  LIMAN_ASSIGN_OR_RETURN(plan.effective, to_mask(caps->effective));
  LIMAN_ASSIGN_OR_RETURN(plan.inheritable, to_mask(caps->inheritable));
  LIMAN_ASSIGN_OR_RETURN(plan.permitted, to_mask(caps->permitted));
  LIMAN_ASSIGN_OR_RETURN(plan.ambient, to_mask(caps->ambient));
  if (!unavailable.empty()) {
    std::string list;
    for (const std::string& name : unavailable) list += (list.empty() ? "" : " ") + name;
    LogWarn("ignoring capabilities not supported by the running kernel (cap_last_cap {}): [{}]",
            last_cap, list);
  }

  // capabilities(7): a capability can only be raised in the ambient set if it is both permitted
  // and inheritable (PR_CAP_AMBIENT_RAISE fails with EPERM otherwise). runc warns and carries on
  // without it; the same outcome is decided here, in the parent, so that every raise the child
  // attempts is one the kernel accepts and any failure there is a real error.
  uint64_t not_raisable = plan.ambient & ~(plan.permitted & plan.inheritable);
  if (not_raisable != 0) {
    std::string list;
    for (int cap = 0; cap <= kMaxCap; ++cap) {
      if (!(not_raisable & Bit(cap))) continue;
      std::string name = OciCapabilityName(cap);
      if (name.empty()) name = fmt::format("capability {}", cap);
      list += (list.empty() ? "" : " ") + name;
    }
    LogDebug("ambient capabilities not in both the permitted and inheritable sets are not raised: [{}]",
            list);
    plan.ambient &= ~not_raisable;
  }
  return plan;
}

int DropBoundingSet(const CapabilityPlan& plan) {
  if (!plan.present) return 0;
  int last = plan.last_cap >= 0 ? plan.last_cap : ProbeLastCap();
  for (int cap = 0; cap <= last && cap <= kMaxCap; ++cap) {
    if (plan.bounding & Bit(cap)) continue;
    // Already gone: nothing to do, and no CAP_SETPCAP needed for it.
    int present = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present == 0) continue;
    if (present < 0) {
      if (errno == EINVAL) continue;  // not a capability of this kernel
      return errno;
    }
    // prctl(2): PR_CAPBSET_DROP needs CAP_SETPCAP in the effective set, so this runs before the
    // switch to the container user.
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) return errno;
  }
  return 0;
}

int ApplyCapabilitySets(const CapabilityPlan& plan) {
  if (!plan.present) return 0;
  // Raw capset(2) with the v3 ABI (64-bit sets as two 32-bit words): no allocation, no library
  // state. capset can only shrink the permitted set, the effective set must be a subset of the
  // new permitted one, and new inheritable capabilities must be in the bounding set — the
  // kernel's EPERM is returned as is.
  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int word = 0; word < _LINUX_CAPABILITY_U32S_3; ++word) {
    int shift = 32 * word;
    data[word].effective = static_cast<uint32_t>(plan.effective >> shift);
    data[word].permitted = static_cast<uint32_t>(plan.permitted >> shift);
    data[word].inheritable = static_cast<uint32_t>(plan.inheritable >> shift);
  }
  if (syscall(SYS_capset, &header, data) != 0) return errno;

  // Start the ambient set from empty so that it is exactly the plan's, whatever the runtime
  // inherited (prctl(2), PR_CAP_AMBIENT_CLEAR_ALL).
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    int err = errno;
    // Kernels before 4.3 have no ambient set: fine as long as none is asked for.
    if (err == EINVAL && plan.ambient == 0) return 0;
    return err;
  }
  for (int cap = 0; cap <= kMaxCap; ++cap) {
    if (!(plan.ambient & Bit(cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) return errno;
  }
  return 0;
}

std::vector<std::string> KnownCapabilityNames() {
  std::vector<std::string> names;
  int last = KernelLastCap();
  for (int cap = 0; cap <= last; ++cap) {
    std::string name = OciCapabilityName(cap);
    if (!name.empty()) names.push_back(std::move(name));
  }
  return names;
}

}  // namespace liman::runtime
