#include "runtime/cgroups/v2/devices.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "common/status.h"
#include "common/unique_fd.h"
#include "fmt/format.h"

namespace liman::cgroups::v2 {
namespace {

constexpr uint8_t kR0 = 0, kR1 = 1, kR2 = 2, kR3 = 3, kR4 = 4, kR5 = 5;
constexpr int16_t kToNextBlock = INT16_MIN;  // placeholder offset, resolved when a block is closed

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn insn;
  std::memset(&insn, 0, sizeof insn);
  insn.code = code;
  insn.dst_reg = dst & 0xf;
  insn.src_reg = src & 0xf;
  insn.off = off;
  insn.imm = imm;
  return insn;
}

bpf_insn LoadWord(uint8_t dst, uint8_t src, int16_t off) { return Insn(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0); }
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) { return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) { return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0); }
bpf_insn Mov64Imm(uint8_t dst, int32_t imm) { return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
bpf_insn JumpImm(uint8_t op, uint8_t dst, int32_t imm) { return Insn(BPF_JMP | op | BPF_K, dst, 0, kToNextBlock, imm); }
bpf_insn JumpReg(uint8_t op, uint8_t dst, uint8_t src) { return Insn(BPF_JMP | op | BPF_X, dst, src, kToNextBlock, 0); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

// Compares a register holding a zero-extended u32 with a device number. BPF_JMP compares 64
// bits against the sign-extended immediate, which is wrong above INT32_MAX; BPF_JMP32 (Linux
// 5.1+) is used only for such numbers so older kernels keep working for real device numbers.
bpf_insn JumpIfNotNumber(uint8_t reg, int64_t number) {
  if (number > INT32_MAX)
    return Insn(BPF_JMP32 | BPF_JNE | BPF_K, reg, 0, kToNextBlock, static_cast<int32_t>(static_cast<uint32_t>(number)));
  return JumpImm(BPF_JNE, reg, static_cast<int32_t>(number));
}

long Bpf(int cmd, bpf_attr& attr) { return syscall(__NR_bpf, cmd, &attr, sizeof attr); }

absl::StatusOr<UniqueFd> LoadProgram(const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "Apache";  // no GPL-only helpers are used
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uintptr_t>(kLicense);
  long fd = Bpf(BPF_PROG_LOAD, attr);
  if (fd < 0 && errno == EPERM) {
    // Before Linux 5.11 BPF memory was charged to RLIMIT_MEMLOCK; raise it and try again.
    rlimit limit{RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MEMLOCK, &limit) == 0) fd = Bpf(BPF_PROG_LOAD, attr);
  }
  if (fd < 0) {
    int err = errno;
    // Load again with the verifier's log so the error says why the program was refused.
    std::string log(1 << 16, '\0');
    attr.log_level = 1;
    attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    if (Bpf(BPF_PROG_LOAD, attr) >= 0) return ErrnoError(err, "bpf(BPF_PROG_LOAD) of the device filter");
    log.resize(strnlen(log.c_str(), log.size()));
    while (!log.empty() && log.back() == '\n') log.pop_back();
    return ErrnoError(err, log.empty() ? std::string("bpf(BPF_PROG_LOAD) of the device filter")
                                       : fmt::format("bpf(BPF_PROG_LOAD) of the device filter (verifier: {})", log));
  }
  return UniqueFd(static_cast<int>(fd));
}

absl::StatusOr<std::vector<uint32_t>> AttachedPrograms(int dirfd, const std::string& dir) {
  std::vector<uint32_t> ids(64);
  for (;;) {
    bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.query.target_fd = static_cast<uint32_t>(dirfd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (Bpf(BPF_PROG_QUERY, attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    if (errno != ENOSPC || ids.size() >= 65536) return ErrnoError(fmt::format("bpf(BPF_PROG_QUERY) on {}", Quote(dir)));
    ids.resize(ids.size() * 2);
  }
}

}  // namespace

std::vector<bpf_insn> BuildDeviceProgram(const DevicePolicy& policy) {
  std::vector<bpf_insn> program = {
      LoadWord(kR2, kR1, 0), Alu32Imm(BPF_AND, kR2, 0xFFFF),  // R2 = device type
      LoadWord(kR3, kR1, 0), Alu32Imm(BPF_RSH, kR3, 16),      // R3 = requested access
      LoadWord(kR4, kR1, 4),                                  // R4 = major
      LoadWord(kR5, kR1, 8),                                  // R5 = minor
  };
  const bool exceptions_allow = !policy.default_allow;
  for (const DeviceException& e : policy.exceptions) {
    size_t start = program.size();
    program.push_back(JumpImm(BPF_JNE, kR2, e.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR));
    if ((e.access & kDevAccessAll) != kDevAccessAll) {
      program.push_back(Mov32Reg(kR1, kR3));
      program.push_back(Alu32Imm(BPF_AND, kR1, e.access));
      if (exceptions_allow)
        program.push_back(JumpReg(BPF_JNE, kR1, kR3));  // some requested access not granted
      else
        program.push_back(JumpImm(BPF_JEQ, kR1, 0));  // none of the requested access denied
    }
    if (e.major >= 0) program.push_back(JumpIfNotNumber(kR4, e.major));
    if (e.minor >= 0) program.push_back(JumpIfNotNumber(kR5, e.minor));
    program.push_back(Mov64Imm(kR0, exceptions_allow ? 1 : 0));
    program.push_back(Exit());
    size_t end = program.size();  // first instruction of the next block
    for (size_t i = start; i < end; ++i)
      if (program[i].off == kToNextBlock) program[i].off = static_cast<int16_t>(end - (i + 1));
  }
  program.push_back(Mov64Imm(kR0, policy.default_allow ? 1 : 0));
  program.push_back(Exit());
  return program;
}

absl::Status ApplyDevices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules) {
  if (rules.empty()) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(DevicePolicy policy, EmulateDeviceRules(rules));
  std::vector<bpf_insn> program = BuildDeviceProgram(policy);
  UniqueFd dirfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd) return ErrnoError(fmt::format("open {}", Quote(dir)));
  LIMAN_ASSIGN_OR_RETURN(std::vector<uint32_t> previous, AttachedPrograms(dirfd.get(), dir));
  LIMAN_ASSIGN_OR_RETURN(UniqueFd prog, LoadProgram(program));
  bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.target_fd = static_cast<uint32_t>(dirfd.get());
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, attr) != 0) return ErrnoError(fmt::format("bpf(BPF_PROG_ATTACH) to {}", Quote(dir)));
  for (uint32_t id : previous) {
    std::memset(&attr, 0, sizeof attr);
    attr.prog_id = id;
    long fd = Bpf(BPF_PROG_GET_FD_BY_ID, attr);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // already gone
      return ErrnoError(fmt::format("bpf(BPF_PROG_GET_FD_BY_ID) for program {} on {}", id, Quote(dir)));
    }
    UniqueFd old(static_cast<int>(fd));
    std::memset(&attr, 0, sizeof attr);
    attr.target_fd = static_cast<uint32_t>(dirfd.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(old.get());
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, attr) != 0 && errno != ENOENT)
      return ErrnoError(fmt::format("bpf(BPF_PROG_DETACH) of program {} from {}", id, Quote(dir)));
  }
  return absl::OkStatus();
}

}  // namespace liman::cgroups::v2
