#include "runtime/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "runtime/tests/child_process.h"
#include <functional>
#include <string>

#include "common/file_util.h"

using namespace liman;
using namespace liman::runtime;
using liman::testing::RunInChild;

namespace {

constexpr uint64_t Bit(int cap) { return uint64_t{1} << cap; }

// The hex value of a "CapXxx:" line of /proc/self/status, or "" if absent.
std::string StatusField(const std::string& status, const std::string& field) {
  std::string key = field + ":\t";
  size_t at = status.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  return status.substr(start, status.find('\n', start) - start);
}

// Child-side check of all five sets; the exit code names the first mismatch.
int CheckSets(const char* eff, const char* prm, const char* inh, const char* bnd, const char* amb) {
  auto status = ReadFile("/proc/self/status");
  if (!status.ok()) return 30;
  if (StatusField(*status, "CapEff") != eff) return 31;
  if (StatusField(*status, "CapPrm") != prm) return 32;
  if (StatusField(*status, "CapInh") != inh) return 33;
  if (StatusField(*status, "CapBnd") != bnd) return 34;
  if (StatusField(*status, "CapAmb") != amb) return 35;
  return 0;
}

}  // namespace

TEST_CASE("PlanCapabilities turns names into exact masks", "[caps]") {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_KILL"};
  caps.effective = {"CAP_SYS_ADMIN"};
  caps.permitted = {"CAP_SYS_ADMIN", "CAP_SETPCAP", "CAP_KILL"};
  caps.inheritable = std::vector<std::string>{"CAP_KILL"};
  caps.ambient = {"CAP_KILL"};
  auto plan = PlanCapabilitiesForKernel(caps, 40);
  REQUIRE(plan.ok());
  CHECK(plan->present);
  CHECK(plan->last_cap == 40);
  CHECK(plan->bounding == (Bit(CAP_CHOWN) | Bit(CAP_KILL) | Bit(CAP_NET_RAW)));
  CHECK(plan->bounding == 0x2021);
  CHECK(plan->effective == Bit(CAP_SYS_ADMIN));
  CHECK(plan->permitted == (Bit(CAP_SYS_ADMIN) | Bit(CAP_SETPCAP) | Bit(CAP_KILL)));
  CHECK(plan->inheritable == Bit(CAP_KILL));
  CHECK(plan->ambient == Bit(CAP_KILL));

  // Absent sets and an absent object.
  auto empty = PlanCapabilitiesForKernel(oci::Capabilities{}, 40);
  REQUIRE(empty.ok());
  CHECK(empty->present);
  CHECK((empty->bounding | empty->effective | empty->permitted | empty->inheritable | empty->ambient) == 0);
  auto none = PlanCapabilities(std::nullopt);
  REQUIRE(none.ok());
  CHECK(!none->present);
}

TEST_CASE("PlanCapabilities refuses unknown names", "[caps]") {
  for (const char* name : {"CAP_FOO", "chown", "CAP_chown", "cap_chown", "CAP_", "KILL"}) {
    oci::Capabilities caps;
    caps.permitted = {"CAP_KILL", name};
    auto plan = PlanCapabilities(caps);
    REQUIRE(!plan.ok());
    CHECK(plan.status().message() == "unknown capability \"" + std::string(name) + "\"");
  }
}

TEST_CASE("PlanCapabilities skips capabilities the kernel lacks", "[caps]") {
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
  auto plan = PlanCapabilitiesForKernel(caps, 38);  // a 5.8-era kernel without CAP_BPF (39)
  REQUIRE(plan.ok());
  CHECK(plan->bounding == (Bit(CAP_CHOWN) | Bit(38)));
}

TEST_CASE("PlanCapabilities leaves out ambient capabilities the kernel would refuse", "[caps]") {
  oci::Capabilities caps;
  caps.permitted = {"CAP_KILL", "CAP_CHOWN"};
  caps.inheritable = {"CAP_KILL", "CAP_NET_RAW"};
  caps.ambient = {"CAP_KILL", "CAP_CHOWN", "CAP_NET_RAW"};
  auto plan = PlanCapabilitiesForKernel(caps, 40);
  REQUIRE(plan.ok());
  CHECK(plan->ambient == Bit(CAP_KILL));
}

TEST_CASE("KernelLastCap and KnownCapabilityNames follow the running kernel", "[caps]") {
  auto text = ReadFile("/proc/sys/kernel/cap_last_cap");
  REQUIRE(text.ok());
  int last = KernelLastCap();
  CHECK(last == std::stoi(*text));
  auto names = KnownCapabilityNames();
  REQUIRE(!names.empty());
  CHECK(names.front() == "CAP_CHOWN");
  CHECK(names.size() <= static_cast<size_t>(last + 1));
  CHECK(std::find(names.begin(), names.end(), "CAP_SYS_ADMIN") != names.end());
  // Every name round-trips through planning.
  oci::Capabilities caps;
  caps.bounding = names;
  auto plan = PlanCapabilities(caps);
  REQUIRE(plan.ok());
  CHECK(static_cast<size_t>(__builtin_popcountll(plan->bounding)) == names.size());
  CHECK((plan->bounding >> last) == 1);  // this kernel's last capability is one libcap-ng names
}

TEST_CASE("DropBoundingSet and ApplyCapabilitySets leave exactly the planned sets", "[caps]") {
  if (geteuid() != 0) {
    WARN("not root: skipping the capability application test");
    return;
  }
  oci::Capabilities caps;
  caps.bounding = {"CAP_KILL", "CAP_CHOWN"};
  caps.effective = {"CAP_KILL", "CAP_CHOWN"};
  caps.permitted = {"CAP_KILL", "CAP_CHOWN"};
  caps.inheritable = {"CAP_KILL"};
  caps.ambient = {"CAP_KILL"};
  auto plan = PlanCapabilities(caps);
  REQUIRE(plan.ok());

  SECTION("as root") {
    int code = RunInChild([&] {
      if (DropBoundingSet(*plan) != 0) return 10;
      if (ApplyCapabilitySets(*plan) != 0) return 11;
      return CheckSets("0000000000000021", "0000000000000021", "0000000000000020", "0000000000000021",
                       "0000000000000020");
    });
    CHECK(code == 0);
  }
  SECTION("after switching to another user with PR_SET_KEEPCAPS") {
    int code = RunInChild([&] {
      if (DropBoundingSet(*plan) != 0) return 10;
      // capabilities(7): setresuid away from 0 clears the effective set, and the permitted one
      // too unless keepcaps is set.
      if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return 12;
      if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 13;
      if (ApplyCapabilitySets(*plan) != 0) return 11;
      return CheckSets("0000000000000021", "0000000000000021", "0000000000000020", "0000000000000021",
                       "0000000000000020");
    });
    CHECK(code == 0);
  }
  SECTION("the kernel's refusal comes back as an errno") {
    // Effective must be a subset of permitted (capset(2)).
    oci::Capabilities bad = caps;
    bad.effective = {"CAP_KILL", "CAP_SYS_ADMIN"};
    auto bad_plan = PlanCapabilities(bad);
    REQUIRE(bad_plan.ok());
    int code = RunInChild([&] {
      if (DropBoundingSet(*bad_plan) != 0) return 10;
      return ApplyCapabilitySets(*bad_plan) == EPERM ? 0 : 11;
    });
    CHECK(code == 0);
  }
  SECTION("no capabilities object leaves the sets alone") {
    CapabilityPlan absent;
    int code = RunInChild([&] {
      auto before = ReadFile("/proc/self/status");
      if (DropBoundingSet(absent) != 0 || ApplyCapabilitySets(absent) != 0) return 10;
      auto after = ReadFile("/proc/self/status");
      if (!before.ok() || !after.ok()) return 30;
      return StatusField(*before, "CapBnd") == StatusField(*after, "CapBnd") &&
                     StatusField(*before, "CapEff") == StatusField(*after, "CapEff")
                 ? 0
                 : 31;
    });
    CHECK(code == 0);
  }
}
