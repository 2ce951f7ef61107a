#include "runtime/seccomp.h"

#include <linux/bpf_common.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "fmt/format.h"

namespace liman::runtime {
namespace {

// Older uapi headers may lack the newer flags; the values are ABI (linux/seccomp.h).
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

// Linux system calls take at most six arguments (syscall(2)); libseccomp refuses higher indices.
constexpr unsigned kMaxSyscallArgs = 6;

// runc turns on libseccomp's binary-tree optimisation above this many rules: libseccomp <= 2.5.4
// misbehaves with the tree and no rules, and builds nodes of four syscalls, so small filters gain
// nothing from it.
constexpr size_t kOptimizeThreshold = 32;

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using FilterCtx = std::unique_ptr<void, FilterDeleter>;

// The action of the spec as a libseccomp action value. `errno_ret` only matters for ERRNO and
// TRACE; without it both use EPERM, as runc does (for TRACE the value is the tracer's message
// number, PTRACE_GETEVENTMSG).
absl::StatusOr<uint32_t> ParseAction(std::string_view name, std::optional<unsigned> errno_ret,
                                     std::string_view where) {
  auto data = [&]() -> absl::StatusOr<uint32_t> {
    unsigned value = errno_ret.value_or(EPERM);
    // SECCOMP_RET_DATA is 16 bits wide (seccomp(2)); a larger value would be silently truncated.
    if (value > SECCOMP_RET_DATA)
      return absl::InvalidArgumentError(
          fmt::format("{}: errnoRet {} is out of range (0-{})", where, value, SECCOMP_RET_DATA));
    return value;
  };
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  if (name == "SCMP_ACT_ERRNO") {
    LIMAN_ASSIGN_OR_RETURN(uint32_t value, data());
    return SCMP_ACT_ERRNO(value);
  }
  if (name == "SCMP_ACT_TRACE") {
    LIMAN_ASSIGN_OR_RETURN(uint32_t value, data());
    return SCMP_ACT_TRACE(value);
  }
  return absl::InvalidArgumentError(fmt::format("{}: unknown seccomp action {}", where, Quote(name)));
}

struct ArchName {
  std::string_view name;
  uint32_t token;
};

// Every architecture of the runtime spec that libseccomp 2.5 knows. LOONGARCH64, M68K and SH came
// with libseccomp 2.6 and are only accepted when the headers define them.
constexpr ArchName kArches[] = {
    {"SCMP_ARCH_X86", SCMP_ARCH_X86},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#ifdef SCMP_ARCH_LOONGARCH64
    {"SCMP_ARCH_LOONGARCH64", SCMP_ARCH_LOONGARCH64},
#endif
#ifdef SCMP_ARCH_M68K
    {"SCMP_ARCH_M68K", SCMP_ARCH_M68K},
#endif
#ifdef SCMP_ARCH_SH
    {"SCMP_ARCH_SH", SCMP_ARCH_SH},
    {"SCMP_ARCH_SHEB", SCMP_ARCH_SHEB},
#endif
};

// Names the spec defines that this libseccomp cannot express: a clearer error than "unknown".
constexpr std::string_view kSpecArchNames[] = {"SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
                                               "SCMP_ARCH_SH", "SCMP_ARCH_SHEB"};

absl::StatusOr<uint32_t> ParseArch(std::string_view name) {
  for (const ArchName& arch : kArches)
    if (arch.name == name) return arch.token;
  for (std::string_view known : kSpecArchNames)
    if (known == name)
      return absl::UnimplementedError(fmt::format(
          "seccomp architecture {} is not supported by libseccomp {}.{}.{}", Quote(name),
          SCMP_VER_MAJOR, SCMP_VER_MINOR, SCMP_VER_MICRO));
  return absl::InvalidArgumentError(fmt::format("unknown seccomp architecture {}", Quote(name)));
}

absl::StatusOr<scmp_compare> ParseOp(std::string_view name, std::string_view where) {
  if (name == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (name == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (name == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (name == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (name == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (name == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (name == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return absl::InvalidArgumentError(fmt::format("{}: unknown seccomp operator {}", where, Quote(name)));
}

// Filter flags of the spec as SECCOMP_FILTER_FLAG_* bits for seccomp(SECCOMP_SET_MODE_FILTER).
absl::StatusOr<unsigned> ParseFlag(std::string_view name) {
  if (name == "SECCOMP_FILTER_FLAG_TSYNC") return SECCOMP_FILTER_FLAG_TSYNC;
  if (name == "SECCOMP_FILTER_FLAG_LOG") return SECCOMP_FILTER_FLAG_LOG;
  if (name == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") return SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  if (name == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") return SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  return absl::InvalidArgumentError(fmt::format("unknown seccomp flag {}", Quote(name)));
}

// libseccomp can only write the program to a descriptor in 2.5 (seccomp_export_bpf_mem came with
// 2.6), so it goes through an anonymous memfd and is read back.
absl::StatusOr<std::vector<sock_filter>> ExportBpf(const FilterCtx& ctx) {
  UniqueFd fd(memfd_create("liman-seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return ErrnoError("memfd_create for the seccomp program");
  if (int rc = seccomp_export_bpf(ctx.get(), fd.get()); rc != 0)
    return ErrnoError(-rc, "export seccomp filter as BPF");
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError("fstat seccomp BPF memfd");
  size_t size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0)
    return absl::InternalError(
        fmt::format("libseccomp exported a BPF program of {} bytes, not whole instructions", size));
  std::vector<sock_filter> filter(size / sizeof(sock_filter));
  char* out = reinterpret_cast<char*>(filter.data());
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read seccomp BPF memfd");
    if (n == 0) return absl::InternalError("seccomp BPF memfd shrank while reading it");
    done += static_cast<size_t>(n);
  }
  return filter;
}

std::string RuleWhere(const std::string& syscall) { return fmt::format("seccomp syscall {}", Quote(syscall)); }

// One spec entry for one syscall name, following runc's matchCall: a rule equal to the default
// action is skipped (libseccomp rejects it with EACCES), an unknown name is skipped (the spec may
// list syscalls that this libseccomp or architecture lacks), conditions on distinct arguments are
// ANDed in one rule, and if any argument index repeats each condition gets its own rule, which
// ORs them (libseccomp cannot AND two conditions on the same argument).
absl::Status AddSyscallRule(const FilterCtx& ctx, const std::string& name, uint32_t action,
                            const std::vector<scmp_arg_cmp>& conditions, bool repeated_index) {
  std::string where = RuleWhere(name);
  int nr = seccomp_syscall_resolve_name(name.c_str());
  if (nr == __NR_SCMP_ERROR) {
    LogDebug("unknown seccomp syscall {} ignored", Quote(name));
    return absl::OkStatus();
  }
  auto add = [&](unsigned count, const scmp_arg_cmp* args) -> absl::Status {
    int rc = seccomp_rule_add_array(ctx.get(), action, nr, count, args);
    if (rc != 0) return ErrnoError(-rc, fmt::format("add rule for {}", where));
    return absl::OkStatus();
  };
  if (conditions.empty() || !repeated_index)
    return add(static_cast<unsigned>(conditions.size()), conditions.data());
  for (const scmp_arg_cmp& condition : conditions) LIMAN_RETURN_IF_ERROR(add(1, &condition));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SeccompProgram> CompileSeccomp(const oci::Seccomp& seccomp) {
  SeccompProgram program;
  // runc treats a seccomp object with neither a default action nor rules as "no seccomp".
  if (seccomp.default_action.empty() && seccomp.syscalls.empty()) return program;

  LIMAN_ASSIGN_OR_RETURN(uint32_t default_action,
                         ParseAction(seccomp.default_action, seccomp.default_errno_ret,
                                     "seccomp defaultAction"));
  // The init must still send the listener fd up and exec after installing the filter; with
  // every syscall sent to an agent that has not received the fd yet it would block forever.
  // runc refuses it for the same reason.
  if (default_action == SCMP_ACT_NOTIFY)
    return absl::InvalidArgumentError("seccomp defaultAction SCMP_ACT_NOTIFY is not allowed");

  // Resolve every action first so that errors come out before any libseccomp work and so that
  // the listener requirement is known.
  std::vector<uint32_t> actions;
  actions.reserve(seccomp.syscalls.size());
  size_t rule_count = 0;
  for (const oci::SeccompSyscall& call : seccomp.syscalls) {
    std::string first = call.names.empty() ? std::string() : call.names.front();
    LIMAN_ASSIGN_OR_RETURN(uint32_t action, ParseAction(call.action, call.errno_ret, RuleWhere(first)));
    if (action == SCMP_ACT_NOTIFY) {
      program.uses_notify = true;
      // Same deadlock as above: the init reports the listener fd to its parent with write(2).
      for (const std::string& name : call.names)
        if (name == "write")
          return absl::InvalidArgumentError(
              "seccomp syscall \"write\": SCMP_ACT_NOTIFY cannot be used for write");
    }
    actions.push_back(action);
    rule_count += call.names.size();
  }
  if (program.uses_notify && seccomp.listener_path.empty())
    return absl::InvalidArgumentError("seccomp: SCMP_ACT_NOTIFY requires listenerPath to be set");

  FilterCtx ctx(seccomp_init(default_action));
  if (!ctx)
    return absl::InvalidArgumentError(fmt::format(
        "seccomp_init with defaultAction {} failed (action not supported by this kernel?)",
        Quote(seccomp.default_action)));

  // libseccomp's own loader would set no_new_privs; we export the program and install it with
  // seccomp(2) ourselves, and the runtime sets no_new_privs only when process.noNewPrivileges
  // asks for it. Cleared anyway so an exported filter never implies it.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc != 0)
    return ErrnoError(-rc, "seccomp_attr_set(SCMP_FLTATR_CTL_NNP)");

  for (const std::string& name : seccomp.architectures) {
    LIMAN_ASSIGN_OR_RETURN(uint32_t token, ParseArch(name));
    int rc = seccomp_arch_add(ctx.get(), token);
    // The native architecture is already in a new context: EEXIST is fine.
    if (rc != 0 && rc != -EEXIST)
      return ErrnoError(-rc, fmt::format("add seccomp architecture {}", Quote(name)));
  }

  for (const std::string& name : seccomp.flags) {
    LIMAN_ASSIGN_OR_RETURN(unsigned flag, ParseFlag(name));
    program.flags |= flag;
  }
  if (program.uses_notify) {
    // seccomp(2): NEW_LISTENER makes the call return a notification fd (seccomp_unotify(2)).
    program.flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // seccomp(2): TSYNC and NEW_LISTENER together are EINVAL unless TSYNC_ESRCH says how to
    // report a thread that could not be synchronised (Linux 5.7).
    if (program.flags & SECCOMP_FILTER_FLAG_TSYNC) program.flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  } else if (program.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) {
    // The kernel accepts WAIT_KILLABLE_RECV only with NEW_LISTENER; without notify rules it has
    // no meaning, so it is dropped (libseccomp only sets it when notify is used, too).
    LogDebug("seccomp flag SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule");
    program.flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  }

  if (rule_count > kOptimizeThreshold) {
    if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2); rc != 0)
      LogDebug("seccomp binary tree optimization not available: {}", ErrnoText(-rc));
  }

  for (size_t i = 0; i < seccomp.syscalls.size(); ++i) {
    const oci::SeccompSyscall& call = seccomp.syscalls[i];
    std::string first = call.names.empty() ? std::string() : call.names.front();
    std::vector<scmp_arg_cmp> conditions;
    std::array<unsigned, kMaxSyscallArgs> per_index{};
    bool repeated_index = false;
    for (const oci::SeccompArg& arg : call.args) {
      if (arg.index >= kMaxSyscallArgs)
        return absl::InvalidArgumentError(fmt::format("{}: argument index {} is out of range (0-{})",
                                                      RuleWhere(first), arg.index, kMaxSyscallArgs - 1));
      LIMAN_ASSIGN_OR_RETURN(scmp_compare op, ParseOp(arg.op, RuleWhere(first)));
      if (++per_index[arg.index] > 1) repeated_index = true;
      // For MASKED_EQ libseccomp takes the mask as datum_a and the value as datum_b, which is the
      // spec's value/valueTwo order.
      conditions.push_back(scmp_arg_cmp{arg.index, op, arg.value, arg.value_two});
    }
    if (actions[i] == default_action) continue;  // redundant; libseccomp would refuse it
    for (const std::string& name : call.names) {
      if (name.empty()) return absl::InvalidArgumentError("seccomp: empty syscall name");
      LIMAN_RETURN_IF_ERROR(AddSyscallRule(ctx, name, actions[i], conditions, repeated_index));
    }
  }

  LIMAN_ASSIGN_OR_RETURN(program.filter, ExportBpf(ctx));
  // The kernel refuses longer classic BPF programs with EINVAL (BPF_MAXINSNS); say so here
  // rather than in the container's init.
  if (program.filter.size() > BPF_MAXINSNS)
    return absl::InvalidArgumentError(
        fmt::format("seccomp filter has {} BPF instructions, more than the kernel's limit of {}",
                    program.filter.size(), BPF_MAXINSNS));
  return program;
}

int InstallSeccomp(const SeccompProgram& program, int* listener_fd) {
  if (listener_fd != nullptr) *listener_fd = -1;
  if (program.filter.empty()) return 0;
  // A notify filter without a place for its fd would leave the process blocked on syscalls
  // nobody can answer.
  if ((program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) && listener_fd == nullptr) return EINVAL;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.filter.size());
  prog.filter = const_cast<sock_filter*>(program.filter.data());
  // seccomp(2): without CAP_SYS_ADMIN in its user namespace the caller must have set
  // no_new_privs first, or this fails with EACCES.
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.flags, &prog);
  if (rc < 0 && errno == ENOSYS && program.flags == 0) {
    // Kernels before 3.17 only have the prctl interface, which takes no flags (prctl(2)).
    rc = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
  }
  if (rc < 0) return errno;
  // With NEW_LISTENER the return value is the notification fd, close-on-exec
  // (seccomp_unotify(2)): it must be passed on before execve.
  if ((program.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) && listener_fd != nullptr)
    *listener_fd = static_cast<int>(rc);
  return 0;
}

std::string SeccompProcessStateJson(const nlohmann::json& state, int pid, const std::string& metadata) {
  // specs.ContainerProcessState of the runtime spec (config-linux.md, "seccomp"): "metadata" is
  // omitempty there, and fds names the descriptors sent alongside, in order.
  nlohmann::json message = {
      {"ociVersion", state.is_object() && state.contains("ociVersion") ? state["ociVersion"]
                                                                       : nlohmann::json("1.0.2")},
      {"fds", nlohmann::json::array({"seccompFd"})},
      {"pid", pid},
      {"state", state},
  };
  if (!metadata.empty()) message["metadata"] = metadata;
  return message.dump();
}

absl::Status SendSeccompListener(const std::string& listener_path, int listener_fd,
                                 const std::string& state_json) {
  // Same exchange as runc: one stream connection, one message whose data is the process state
  // JSON and whose SCM_RIGHTS control message carries the listener fd (unix(7)).
  auto conn = ConnectUnix(listener_path, SOCK_STREAM);
  if (!conn.ok())
    return Annotate(conn.status(), "connect to the seccomp agent of listenerPath");
  absl::Status sent = SendFd(conn->get(), listener_fd, state_json);
  if (!sent.ok()) return Annotate(sent, fmt::format("send seccomp fd to {}", Quote(listener_path)));
  return absl::OkStatus();
}

}  // namespace liman::runtime
