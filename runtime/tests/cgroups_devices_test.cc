// Device rules: the v1 emulation and the v2 eBPF program built from it. The program is run here
// by a small interpreter of the instructions it uses and compared with the kernel's v1 checks.
#include <linux/bpf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <stdexcept>

#include "runtime/cgroups/device_rules.h"
#include "runtime/cgroups/v2/devices.h"

using namespace liman;
using namespace liman::cgroups;

namespace {

// Runs a BPF_PROG_TYPE_CGROUP_DEVICE program on one request; throws on anything unexpected.
int Run(const std::vector<bpf_insn>& program, char type, uint32_t major, uint32_t minor, uint8_t access) {
  uint32_t ctx[3] = {(static_cast<uint32_t>(access) << 16) |
                         static_cast<uint32_t>(type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
                     major, minor};
  uint64_t reg[11] = {};
  bool r1_is_ctx = true;
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const bpf_insn& in = program[pc];
    uint8_t cls = BPF_CLASS(in.code);
    auto jump = [&](bool taken) {
      if (taken) pc += in.off;
      if (pc + 1 > program.size()) throw std::runtime_error("jump out of the program");
    };
    if (in.code == (BPF_LDX | BPF_W | BPF_MEM)) {
      if (in.src_reg != 1 || !r1_is_ctx || in.off % 4 || in.off < 0 || in.off > 8) throw std::runtime_error("bad load");
      reg[in.dst_reg] = ctx[in.off / 4];
    } else if (cls == BPF_ALU) {
      uint32_t src = BPF_SRC(in.code) == BPF_X ? static_cast<uint32_t>(reg[in.src_reg]) : static_cast<uint32_t>(in.imm);
      uint32_t dst = static_cast<uint32_t>(reg[in.dst_reg]);
      switch (BPF_OP(in.code)) {
        case BPF_AND:
          dst &= src;
          break;
        case BPF_RSH:
          dst >>= src;
          break;
        case BPF_MOV:
          dst = src;
          break;
        default:
          throw std::runtime_error("unexpected ALU op");
      }
      reg[in.dst_reg] = dst;  // 32-bit ops zero the upper half
      if (in.dst_reg == 1) r1_is_ctx = false;
    } else if (in.code == (BPF_ALU64 | BPF_MOV | BPF_K)) {
      reg[in.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(in.imm));
    } else if (in.code == (BPF_JMP | BPF_EXIT)) {
      return static_cast<int>(reg[0]);
    } else if (cls == BPF_JMP || cls == BPF_JMP32) {
      uint64_t a = reg[in.dst_reg];
      uint64_t b = BPF_SRC(in.code) == BPF_X ? reg[in.src_reg] : static_cast<uint64_t>(static_cast<int64_t>(in.imm));
      if (cls == BPF_JMP32) {
        a = static_cast<uint32_t>(a);
        b = static_cast<uint32_t>(b);
      }
      switch (BPF_OP(in.code)) {
        case BPF_JNE:
          jump(a != b);
          break;
        case BPF_JEQ:
          jump(a == b);
          break;
        default:
          throw std::runtime_error("unexpected jump op");
      }
    } else {
      throw std::runtime_error("unexpected instruction");
    }
  }
  throw std::runtime_error("fell off the end");
}

// Every combination over a small domain that includes the numbers the rules use.
void CheckProgramMatchesPolicy(const DevicePolicy& policy) {
  std::vector<bpf_insn> program = v2::BuildDeviceProgram(policy);
  for (char type : {'b', 'c'})
    for (uint32_t major : {0u, 1u, 5u, 8u, 136u, 4000000000u})
      for (uint32_t minor : {0u, 3u, 5u, 7u, 4000000001u})
        for (uint8_t access = 1; access <= kDevAccessAll; ++access) {
          INFO(type << " " << major << ":" << minor << " access " << int(access));
          CHECK(Run(program, type, major, minor, access) ==
                (DevicePolicyAllows(policy, type, major, minor, access) ? 1 : 0));
        }
}

}  // namespace

TEST_CASE("device emulation follows the kernel's v1 rules") {
  // Deny-all base, allow list built up, "deny" removing bits of an exact match only.
  auto policy =
      EmulateDeviceRules({MakeDeviceRule(true, "c", 1, 3, "rw"), MakeDeviceRule(true, "c", 1, 3, "m"),
                          MakeDeviceRule(true, "c", 5, std::nullopt, "rwm"), MakeDeviceRule(false, "c", 5, std::nullopt, "w"),
                          MakeDeviceRule(false, "c", 5, 1, "rwm"), MakeDeviceRule(true, "b", 8, 0, "r"), MakeDeviceRule(false, "b", 8, 0, "r")});
  REQUIRE(policy.ok());
  CHECK(!policy->default_allow);
  CHECK(policy->exceptions ==
        std::vector<DeviceException>{{'c', 1, 3, kDevAccessAll}, {'c', 5, -1, kDevAccessRead | kDevAccessMknod}});
  CHECK(DevicePolicyAllows(*policy, 'c', 1, 3, kDevAccessRead | kDevAccessWrite));
  CHECK(!DevicePolicyAllows(*policy, 'c', 5, 1, kDevAccessWrite));
  CHECK(DevicePolicyAllows(*policy, 'c', 5, 1, kDevAccessRead));  // c 5:1 deny did not match c 5:* exactly
  CHECK(!DevicePolicyAllows(*policy, 'b', 8, 0, kDevAccessRead));

  // "a" resets: later deny rules become a deny list.
  auto deny_list = EmulateDeviceRules({MakeDeviceRule(true, "c", 1, 3, "rwm"), MakeDeviceRule(true, "", std::nullopt, std::nullopt, "rwm"),
                                       MakeDeviceRule(false, "b", std::nullopt, std::nullopt, "w"), MakeDeviceRule(false, "c", 1, 9, "r")});
  REQUIRE(deny_list.ok());
  CHECK(deny_list->default_allow);
  CHECK(deny_list->exceptions.size() == 2);
  CHECK(!DevicePolicyAllows(*deny_list, 'b', 8, 0, kDevAccessRead | kDevAccessWrite));  // partial match denies
  CHECK(DevicePolicyAllows(*deny_list, 'b', 8, 0, kDevAccessRead));
  CHECK(!DevicePolicyAllows(*deny_list, 'c', 1, 9, kDevAccessRead));
  CHECK(DevicePolicyAllows(*deny_list, 'c', 1, 9, kDevAccessWrite));

  CHECK(!EmulateDeviceRules({MakeDeviceRule(true, "p", 1, 1, "r")}).ok());
  CHECK(!EmulateDeviceRules({MakeDeviceRule(true, "c", 1, 1, "x")}).ok());
}

TEST_CASE("device rule lines and devices.list parsing") {
  CHECK(*DeviceRuleLine(MakeDeviceRule(false, "", 1, 2, "r")) == "a *:* rwm");
  CHECK(*DeviceRuleLine(MakeDeviceRule(true, "c", 136, std::nullopt, "rwm")) == "c 136:* rwm");
  CHECK(*DeviceRuleLine(MakeDeviceRule(true, "b", std::nullopt, std::nullopt, "mr")) == "b *:* rm");
  CHECK(*DeviceRuleLine(MakeDeviceRule(true, "c", -1, 3, "")) == "c *:3 rwm");
  auto listed = ParseDevicesList("c 1:3 rwm\nb *:* m\n");
  REQUIRE(listed.ok());
  CHECK(!listed->default_allow);
  CHECK(listed->exceptions == std::vector<DeviceException>{{'c', 1, 3, kDevAccessAll}, {'b', -1, -1, kDevAccessMknod}});
  CHECK(ParseDevicesList("a *:* rwm\n")->default_allow);
  CHECK(!ParseDevicesList("c 1 rwm\n").ok());
}

TEST_CASE("the eBPF device program decides like the kernel's v1 checks") {
  SECTION("runc's defaults on top of deny-all") {
    std::vector<oci::DeviceCgroupRule> rules = {MakeDeviceRule(false, "a", std::nullopt, std::nullopt, "rwm")};
    for (const auto& r : RuncDefaultDeviceRules()) rules.push_back(r);
    auto policy = EmulateDeviceRules(rules);
    REQUIRE(policy.ok());
    CheckProgramMatchesPolicy(*policy);
    auto program = v2::BuildDeviceProgram(*policy);
    CHECK(Run(program, 'c', 1, 3, kDevAccessRead | kDevAccessWrite) == 1);  // /dev/null
    CHECK(Run(program, 'c', 136, 5, kDevAccessWrite) == 1);                 // /dev/pts/5
    CHECK(Run(program, 'b', 8, 0, kDevAccessRead) == 0);                    // /dev/sda
    CHECK(Run(program, 'b', 8, 0, kDevAccessMknod) == 1);                   // mknod is allowed
  }
  SECTION("a deny list with partial access and wildcards") {
    auto policy =
        EmulateDeviceRules({MakeDeviceRule(true, "a", std::nullopt, std::nullopt, "rwm"), MakeDeviceRule(false, "c", 1, std::nullopt, "w"),
                            MakeDeviceRule(false, "b", 8, 0, "rwm"), MakeDeviceRule(false, "c", 5, 3, "m")});
    REQUIRE(policy.ok());
    CheckProgramMatchesPolicy(*policy);
  }
  SECTION("an allow list with partial access and numbers above INT32_MAX") {
    auto policy = EmulateDeviceRules({MakeDeviceRule(true, "c", 1, 3, "r"), MakeDeviceRule(true, "c", 4000000000, 4000000001, "rw"),
                                      MakeDeviceRule(true, "b", std::nullopt, 5, "wm"), MakeDeviceRule(true, "c", 5, std::nullopt, "rwm")});
    REQUIRE(policy.ok());
    CheckProgramMatchesPolicy(*policy);
  }
  SECTION("empty policies") {
    CheckProgramMatchesPolicy(DevicePolicy{false, {}});
    CheckProgramMatchesPolicy(DevicePolicy{true, {}});
  }
}
