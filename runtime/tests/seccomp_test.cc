#include "runtime/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "runtime/tests/child_process.h"
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "common/file_util.h"
#include "common/unique_fd.h"
#include "common/unix_socket.h"
#include "nlohmann/json.hpp"
#include "common/tests/temp_dir.h"

using namespace liman;
using namespace liman::runtime;
using liman::testing::RunInChild;

namespace {

oci::SeccompSyscall Rule(std::vector<std::string> names, std::string action,
                         std::optional<unsigned> errno_ret = std::nullopt,
                         std::vector<oci::SeccompArg> args = {}) {
  oci::SeccompSyscall call;
  call.names = std::move(names);
  call.action = std::move(action);
  call.errno_ret = errno_ret;
  call.args = std::move(args);
  return call;
}

oci::Seccomp AllowAllBut(std::vector<oci::SeccompSyscall> rules) {
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ALLOW";
  seccomp.syscalls = std::move(rules);
  return seccomp;
}

std::string CompileError(const oci::Seccomp& seccomp) {
  auto program = CompileSeccomp(seccomp);
  REQUIRE(!program.ok());
  return std::string(program.status().message());
}

constexpr const char* kNoSuchDir = "/nonexistent-liman-seccomp-test/dir";

// The child side of the behavioural tests: no_new_privs (needed without CAP_SYS_ADMIN, seccomp(2))
// then install. Exit codes 10/11 say which step failed.
int SetNnpAndInstall(const SeccompProgram& program, int* listener_fd = nullptr) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 10;
  if (InstallSeccomp(program, listener_fd) != 0) return 11;
  return 0;
}

}  // namespace

TEST_CASE("CompileSeccomp names the bad action, operator, architecture or flag", "[seccomp]") {
  oci::Seccomp seccomp = AllowAllBut({});
  seccomp.default_action = "SCMP_ACT_BOGUS";
  CHECK(CompileError(seccomp) == "seccomp defaultAction: unknown seccomp action \"SCMP_ACT_BOGUS\"");

  seccomp = AllowAllBut({Rule({"mkdir"}, "SCMP_ACT_DENY")});
  CHECK(CompileError(seccomp) == "seccomp syscall \"mkdir\": unknown seccomp action \"SCMP_ACT_DENY\"");

  seccomp = AllowAllBut({Rule({"personality"}, "SCMP_ACT_ERRNO", 1, {{0, 8, 0, "SCMP_CMP_ALMOST"}})});
  CHECK(CompileError(seccomp) ==
        "seccomp syscall \"personality\": unknown seccomp operator \"SCMP_CMP_ALMOST\"");

  seccomp = AllowAllBut({Rule({"personality"}, "SCMP_ACT_ERRNO", 1, {{6, 8, 0, "SCMP_CMP_EQ"}})});
  CHECK(CompileError(seccomp) == "seccomp syscall \"personality\": argument index 6 is out of range (0-5)");

  seccomp = AllowAllBut({});
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"};
  CHECK(CompileError(seccomp) == "unknown seccomp architecture \"SCMP_ARCH_VAX\"");

  seccomp = AllowAllBut({});
  seccomp.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_FAST"};
  CHECK(CompileError(seccomp) == "unknown seccomp flag \"SECCOMP_FILTER_FLAG_FAST\"");

  seccomp = AllowAllBut({Rule({"mkdir"}, "SCMP_ACT_ERRNO", 70000)});
  CHECK(CompileError(seccomp) == "seccomp syscall \"mkdir\": errnoRet 70000 is out of range (0-65535)");

  seccomp = AllowAllBut({Rule({""}, "SCMP_ACT_ERRNO")});
  CHECK(CompileError(seccomp) == "seccomp: empty syscall name");
}

TEST_CASE("CompileSeccomp enforces the notify rules of the spec", "[seccomp]") {
  oci::Seccomp seccomp = AllowAllBut({Rule({"mkdir"}, "SCMP_ACT_NOTIFY")});
  CHECK(CompileError(seccomp) == "seccomp: SCMP_ACT_NOTIFY requires listenerPath to be set");

  seccomp.listener_path = "/run/agent.sock";
  auto program = CompileSeccomp(seccomp);
  REQUIRE(program.ok());
  CHECK(program->uses_notify);
  CHECK(program->flags == SECCOMP_FILTER_FLAG_NEW_LISTENER);

  seccomp.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  program = CompileSeccomp(seccomp);
  REQUIRE(program.ok());
  // seccomp(2): TSYNC with NEW_LISTENER needs TSYNC_ESRCH.
  CHECK(program->flags == (SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
                           SECCOMP_FILTER_FLAG_TSYNC_ESRCH | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV));

  seccomp = AllowAllBut({Rule({"write"}, "SCMP_ACT_NOTIFY")});
  seccomp.listener_path = "/run/agent.sock";
  CHECK(CompileError(seccomp) == "seccomp syscall \"write\": SCMP_ACT_NOTIFY cannot be used for write");

  seccomp = AllowAllBut({});
  seccomp.default_action = "SCMP_ACT_NOTIFY";
  seccomp.listener_path = "/run/agent.sock";
  CHECK(CompileError(seccomp) == "seccomp defaultAction SCMP_ACT_NOTIFY is not allowed");
}

TEST_CASE("CompileSeccomp maps flags and ignores what runc ignores", "[seccomp]") {
  oci::Seccomp seccomp = AllowAllBut({Rule({"mkdir"}, "SCMP_ACT_ERRNO")});
  seccomp.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                   "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  auto program = CompileSeccomp(seccomp);
  REQUIRE(program.ok());
  CHECK(!program->uses_notify);
  // WAIT_KILLABLE_RECV only means something with a listener; the kernel refuses it without one.
  CHECK(program->flags ==
        (SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW));
  CHECK(!program->filter.empty());

  // No default action and no rules: seccomp is off, nothing to install.
  program = CompileSeccomp(oci::Seccomp{});
  REQUIRE(program.ok());
  CHECK(program->filter.empty());
  CHECK(InstallSeccomp(*program, nullptr) == 0);

  // Unknown syscall names and rules equal to the default action leave the program unchanged.
  auto plain = CompileSeccomp(AllowAllBut({}));
  auto skipped = CompileSeccomp(AllowAllBut({Rule({"no_such_syscall_liman"}, "SCMP_ACT_ERRNO"),
                                              Rule({"mkdir"}, "SCMP_ACT_ALLOW")}));
  REQUIRE(plain.ok());
  REQUIRE(skipped.ok());
  REQUIRE(plain->filter.size() == skipped->filter.size());
  CHECK(memcmp(plain->filter.data(), skipped->filter.data(), plain->filter.size() * sizeof(sock_filter)) == 0);

  // A rule ERRNO(EPERM) under a default ERRNO without defaultErrnoRet (EPERM too) is redundant.
  oci::Seccomp deny = AllowAllBut({Rule({"mkdir"}, "SCMP_ACT_ERRNO", EPERM)});
  deny.default_action = "SCMP_ACT_ERRNO";
  auto deny_program = CompileSeccomp(deny);
  REQUIRE(deny_program.ok());
  deny.syscalls.clear();
  auto deny_plain = CompileSeccomp(deny);
  REQUIRE(deny_plain.ok());
  CHECK(deny_program->filter.size() == deny_plain->filter.size());
}

TEST_CASE("CompileSeccomp adds the spec's architectures", "[seccomp]") {
  oci::Seccomp seccomp = AllowAllBut({Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO")});
  auto native = CompileSeccomp(seccomp);
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                           "SCMP_ARCH_ARM"};
  auto multi = CompileSeccomp(seccomp);
  REQUIRE(native.ok());
  REQUIRE(multi.ok());
  // Each extra architecture gets its own arch check and rules.
  CHECK(multi->filter.size() > native->filter.size());
}

TEST_CASE("CompileSeccomp handles a docker-sized profile", "[seccomp]") {
  // Many rules turn on libseccomp's binary tree; names this libseccomp lacks are skipped.
  std::vector<std::string> names = {
      "accept", "accept4", "access", "bind", "brk", "chdir", "chmod", "chown", "clock_gettime", "clone",
      "close", "connect", "dup", "dup2", "dup3", "epoll_create", "epoll_ctl", "epoll_wait", "execve",
      "exit", "exit_group", "faccessat", "fchdir", "fchmod", "fcntl", "fstat", "futex", "getcwd",
      "getdents64", "getegid", "geteuid", "getgid", "getpid", "getppid", "getuid", "ioctl", "lseek",
      "madvise", "mmap", "mprotect", "munmap", "nanosleep", "newfstatat", "open", "openat", "pipe",
      "pipe2", "poll", "read", "readlink", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "select",
      "set_tid_address", "sigaltstack", "socket", "stat", "uname", "wait4", "write", "cachestat",
      "fchmodat2", "map_shadow_stack", "futex_waitv", "not_a_syscall"};
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ERRNO";
  seccomp.default_errno_ret = 38;
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  seccomp.syscalls = {Rule(names, "SCMP_ACT_ALLOW"),
                      Rule({"personality"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 0, 0, "SCMP_CMP_EQ"}}),
                      Rule({"personality"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 8, 0, "SCMP_CMP_EQ"}}),
                      Rule({"clone"}, "SCMP_ACT_ALLOW", std::nullopt,
                           {{0, 0x7E020000, 0, "SCMP_CMP_MASKED_EQ"}})};
  auto program = CompileSeccomp(seccomp);
  REQUIRE(program.ok());
  CHECK(program->filter.size() > 50);
}

TEST_CASE("An installed filter returns the rule's errno and lets other syscalls through", "[seccomp]") {
  auto program = CompileSeccomp(AllowAllBut({Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO", ENOTSUP)}));
  REQUIRE(program.ok());
  int code = RunInChild([&] {
    if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
    if (mkdir(kNoSuchDir, 0755) == 0 || errno != ENOTSUP) return 20;
    if (mkdirat(AT_FDCWD, kNoSuchDir, 0755) == 0 || errno != ENOTSUP) return 21;
    if (syscall(SYS_getpid) != getpid()) return 22;
    // rmdir is not filtered: the kernel's own answer comes back.
    if (rmdir(kNoSuchDir) == 0 || errno != ENOENT) return 23;
    return 0;
  });
  CHECK(code == 0);

  // Without errnoRet the errno is EPERM, as runc does.
  program = CompileSeccomp(AllowAllBut({Rule({"mkdir", "mkdirat"}, "SCMP_ACT_ERRNO")}));
  REQUIRE(program.ok());
  code = RunInChild([&] {
    if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
    if (mkdir(kNoSuchDir, 0755) == 0 || errno != EPERM) return 20;
    return 0;
  });
  CHECK(code == 0);
}

TEST_CASE("defaultErrnoRet is what unlisted syscalls get", "[seccomp]") {
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ERRNO";
  seccomp.default_errno_ret = EXDEV;
  seccomp.syscalls = {Rule({"exit", "exit_group", "getpid", "rt_sigreturn"}, "SCMP_ACT_ALLOW")};
  auto program = CompileSeccomp(seccomp);
  REQUIRE(program.ok());
  int code = RunInChild([&] {
    if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
    int result = 0;
    if (syscall(SYS_mkdir, kNoSuchDir, 0755) == 0 || errno != EXDEV) result = 20;
    else if (syscall(SYS_getpid) <= 0) result = 21;
    // Straight to exit_group: libc or sanitizer exit handlers may need syscalls this filter denies.
    syscall(SYS_exit_group, result);
    return 99;
  });
  CHECK(code == 0);
}

TEST_CASE("Argument conditions are honoured: AND across arguments, OR on a repeated index", "[seccomp]") {
  // personality(0xffffffff) only queries the persona (personality(2)), so it is a harmless probe;
  // its unused second argument register is still visible to the filter.
  constexpr unsigned long kQuery = 0xffffffffUL;
  SECTION("one value denied, another allowed") {
    auto program = CompileSeccomp(
        AllowAllBut({Rule({"personality"}, "SCMP_ACT_ERRNO", EACCES, {{0, 0x0008, 0, "SCMP_CMP_EQ"}})}));
    REQUIRE(program.ok());
    int code = RunInChild([&] {
      if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
      if (syscall(SYS_personality, kQuery) < 0) return 20;
      if (syscall(SYS_personality, 0x0008UL) == 0 || errno != EACCES) return 21;
      return 0;
    });
    CHECK(code == 0);
  }
  SECTION("conditions on different arguments must all match") {
    auto program = CompileSeccomp(AllowAllBut({Rule({"personality"}, "SCMP_ACT_ERRNO", EACCES,
                                                    {{0, kQuery, 0, "SCMP_CMP_EQ"}, {1, 7, 0, "SCMP_CMP_EQ"}})}));
    REQUIRE(program.ok());
    int code = RunInChild([&] {
      if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
      if (syscall(SYS_personality, kQuery, 0UL) < 0) return 20;
      if (syscall(SYS_personality, kQuery, 7UL) == 0 || errno != EACCES) return 21;
      return 0;
    });
    CHECK(code == 0);
  }
  SECTION("conditions on the same argument match separately") {
    auto program = CompileSeccomp(AllowAllBut({Rule({"personality"}, "SCMP_ACT_ERRNO", EACCES,
                                                    {{0, 0x0008, 0, "SCMP_CMP_EQ"}, {0, 0x0010, 0, "SCMP_CMP_EQ"}})}));
    REQUIRE(program.ok());
    int code = RunInChild([&] {
      if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
      if (syscall(SYS_personality, kQuery) < 0) return 20;
      if (syscall(SYS_personality, 0x0008UL) == 0 || errno != EACCES) return 21;
      if (syscall(SYS_personality, 0x0010UL) == 0 || errno != EACCES) return 22;
      return 0;
    });
    CHECK(code == 0);
  }
  SECTION("masked equality and ordering operators") {
    // Deny when (arg0 & 0xff00) == 0x0100, or when arg1 >= 100.
    auto program = CompileSeccomp(AllowAllBut(
        {Rule({"personality"}, "SCMP_ACT_ERRNO", EACCES, {{0, 0xff00, 0x0100, "SCMP_CMP_MASKED_EQ"}}),
         Rule({"personality"}, "SCMP_ACT_ERRNO", EACCES, {{1, 100, 0, "SCMP_CMP_GE"}})}));
    REQUIRE(program.ok());
    int code = RunInChild([&] {
      if (int rc = SetNnpAndInstall(*program); rc != 0) return rc;
      if (syscall(SYS_personality, 0x01ffUL) == 0 || errno != EACCES) return 20;
      if (syscall(SYS_personality, kQuery, 99UL) < 0) return 21;
      if (syscall(SYS_personality, kQuery, 100UL) == 0 || errno != EACCES) return 22;
      return 0;
    });
    CHECK(code == 0);
  }
}

TEST_CASE("A notify filter hands out a listener that answers for the container", "[seccomp]") {
  oci::Seccomp seccomp = AllowAllBut({Rule({"mkdir", "mkdirat"}, "SCMP_ACT_NOTIFY")});
  seccomp.listener_path = "/run/agent.sock";
  // The kernel takes these flags together with the listener (TSYNC via TSYNC_ESRCH).
  seccomp.flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};
  auto program = CompileSeccomp(seccomp);
  REQUIRE(program.ok());
  REQUIRE(program->uses_notify);

  int pair[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
  UniqueFd parent_end(pair[0]), child_end(pair[1]);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    parent_end.reset();
    int listener = -1;
    if (int rc = SetNnpAndInstall(*program, &listener); rc != 0) _exit(rc);
    if (listener < 0) _exit(12);
    if (!SendFd(child_end.get(), listener, "L").ok()) _exit(13);
    close(listener);
    // The agent (the parent here) answers EXDEV for this call.
    if (mkdir(kNoSuchDir, 0755) == 0 || errno != EXDEV) _exit(20);
    _exit(0);
  }
  child_end.reset();
  auto listener = ReceiveFd(parent_end.get());
  REQUIRE(listener.ok());

  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  REQUIRE(seccomp_notify_alloc(&req, &resp) == 0);
  REQUIRE(seccomp_notify_receive(listener->get(), req) == 0);
  CHECK(req->pid == static_cast<uint32_t>(pid));
  CHECK((req->data.nr == SYS_mkdir || req->data.nr == SYS_mkdirat));
  resp->id = req->id;
  resp->val = 0;
  resp->error = -EXDEV;
  resp->flags = 0;
  CHECK(seccomp_notify_respond(listener->get(), resp) == 0);
  seccomp_notify_free(req, resp);

  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("SendSeccompListener sends the process state with the fd", "[seccomp]") {
  test_support::TempDir temp("liman-seccomp");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "agent.sock");

  auto missing = SendSeccompListener(path, 0, "{}");
  REQUIRE(!missing.ok());
  CHECK(std::string(missing.message()).find("connect to the seccomp agent of listenerPath") == 0);

  auto server = ListenUnix(path);
  REQUIRE(server.ok());
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  UniqueFd pipe_read(pipe_fds[0]), pipe_write(pipe_fds[1]);

  nlohmann::json state = {{"ociVersion", "1.0.2"}, {"id", "c1"}, {"status", "creating"},
                          {"pid", 4242}, {"bundle", "/b"}};
  std::string message = SeccompProcessStateJson(state, 4242, "agent-metadata");
  // The connection waits in the backlog, so the send completes before accept.
  REQUIRE(SendSeccompListener(path, pipe_write.get(), message).ok());
  UniqueFd conn(accept4(server->get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(conn.valid());
  std::string payload;
  auto received = ReceiveFd(conn.get(), &payload);
  REQUIRE(received.ok());

  auto parsed = nlohmann::json::parse(payload);
  CHECK(parsed["ociVersion"] == "1.0.2");
  CHECK(parsed["fds"] == nlohmann::json::array({"seccompFd"}));
  CHECK(parsed["pid"] == 4242);
  CHECK(parsed["metadata"] == "agent-metadata");
  CHECK(parsed["state"]["id"] == "c1");
  CHECK(parsed["state"]["status"] == "creating");

  struct stat sent_st, got_st;
  REQUIRE(fstat(pipe_write.get(), &sent_st) == 0);
  REQUIRE(fstat(received->get(), &got_st) == 0);
  CHECK(sent_st.st_ino == got_st.st_ino);

  // No metadata: the field is left out (omitempty in the Go struct).
  CHECK(!nlohmann::json::parse(SeccompProcessStateJson(state, 1, "")).contains("metadata"));
  REQUIRE(RemoveAll(dir).ok());
}
