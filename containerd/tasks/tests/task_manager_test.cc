// The task manager with real shims and real containers: liman-shim (io.containerd.liman.v2) from
// this build, and containerd-shim-runc-v2 with runc (io.containerd.runc.v2) when installed.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "common/file_util.h"
#include "containerd/events/task.pb.h"
#include "containerd/tasks/tests/test_env.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"

using namespace liman;
using namespace liman::containerd;
using namespace liman::containerd::tasks;
using testing::Contents;
using testing::ContentsOnceAtLeast;
using testing::kLimanRuntime;
using testing::kNamespace;
using testing::kRuncRuntime;
using testing::TaskTestEnv;

namespace {

constexpr absl::Duration kGenerous = absl::Seconds(60);

// A container that runs until told: SIGTERM makes it exit 42, a file /exit makes it exit 7.
constexpr char kServiceScript[] =
    "trap 'exit 42' TERM; while [ ! -e /exit ]; do sleep 0.1; done; exit 7";


uint32_t ExitStatusIn(const events::Envelope& envelope) {
  ::containerd::events::TaskExit exit;
  REQUIRE(events::UnpackEvent(envelope.event, &exit));
  return exit.exit_status();
}

std::unique_ptr<events::Subscription> SubscribeTasks(TaskTestEnv& env) {
  return env.exchange.Subscribe([](const events::Envelope& e) { return e.namespace_name == kNamespace; });
}

// Creates and starts `id` running `script`; returns the init's pid.
uint32_t RunTask(TaskTestEnv& env, const std::string& id, const std::string& script, const std::string& runtime) {
  CreateTaskOptions options = env.Options(id, script, runtime);
  options.io.stdout_uri = env.file_uri(id + ".out");
  options.io.stderr_uri = env.file_uri(id + ".out");
  absl::StatusOr<uint32_t> pid = env.manager->Create(kNamespace, id, options);
  INFO("create " << id << ": " << pid.status());
  REQUIRE(pid.ok());
  absl::StatusOr<uint32_t> started = env.manager->Start(kNamespace, id);
  INFO("start " << id << ": " << started.status());
  REQUIRE(started.ok());
  CHECK(*started == *pid);
  return *pid;
}

void RunLifecycle(const std::string& runtime) {
  TaskTestEnv env;
  auto events = SubscribeTasks(env);
  CreateTaskOptions options = env.Options("life", "echo hello; echo oops >&2; exit 7", runtime);
  options.io.stdout_uri = env.file_uri("life.out");
  options.io.stderr_uri = env.file_uri("life.err");
  absl::StatusOr<uint32_t> pid = env.manager->Create(kNamespace, "life", options);
  INFO("create: " << pid.status());
  REQUIRE(pid.ok());
  CHECK(*pid > 0);
  std::string bundle = env.manager->BundlePath(kNamespace, "life");
  CHECK(Contents(bundle + "/config.json") == options.spec);
  CHECK(IsMountPoint(bundle + "/rootfs"));
  CHECK(PathExists(bundle + "/shim-binary-path"));
  CHECK(PathExists(bundle + "/work"));
  pid_t shim = TaskTestEnv::ShimPidOf(static_cast<pid_t>(*pid));
  CHECK(shim > 1);

  absl::StatusOr<ProcessState> created = env.manager->State(kNamespace, "life");
  REQUIRE(created.ok());
  CHECK(created->status == TaskStatus::kCreated);
  CHECK(created->pid == *pid);
  CHECK(created->bundle == bundle);
  CHECK(created->io.stdout_uri == options.io.stdout_uri);
  env.NextEvent(*events, "/tasks/create", "life");

  absl::StatusOr<uint32_t> started = env.manager->Start(kNamespace, "life");
  REQUIRE(started.ok());
  CHECK(*started == *pid);
  env.NextEvent(*events, "/tasks/start", "life");

  absl::StatusOr<ExitInfo> exit = env.manager->Wait(kNamespace, "life");
  INFO("wait: " << exit.status());
  REQUIRE(exit.ok());
  CHECK(exit->exit_status == 7);
  CHECK(exit->pid == *pid);
  CHECK(exit->exited_at > absl::Now() - absl::Hours(1));
  CHECK(ExitStatusIn(env.NextEvent(*events, "/tasks/exit", "life")) == 7);
  if (runtime == kRuncRuntime) {
    // containerd-shim-runc-v2 sends both streams to a file:// stdout and ignores the stderr URI;
    // it copies them concurrently, so their order in the file is not fixed. And now and then the
    // stderr line never arrives (twice in CI, the file held "hello\n" alone after 10 s): that is
    // the real shim's doing, so only stdout is required of it.
    std::string both = ContentsOnceAtLeast(env.path("life.out"), 11);
    INFO("file: " << both);
    CHECK((both == "hello\noops\n" || both == "oops\nhello\n" || both == "hello\n"));
  } else {
    CHECK(Contents(env.path("life.out")) == "hello\n");
    CHECK(Contents(env.path("life.err")) == "oops\n");
  }

  absl::StatusOr<ProcessState> stopped = env.manager->State(kNamespace, "life");
  REQUIRE(stopped.ok());
  CHECK(stopped->status == TaskStatus::kStopped);
  CHECK(stopped->exit_status == 7);
  absl::StatusOr<std::vector<ProcessState>> listed = env.manager->List(kNamespace);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].container_id == "life");
  CHECK(env.manager->List("other-namespace")->empty());

  absl::StatusOr<ExitInfo> deleted = env.manager->Delete(kNamespace, "life");
  INFO("delete: " << deleted.status());
  REQUIRE(deleted.ok());
  CHECK(deleted->exit_status == 7);
  CHECK(deleted->pid == *pid);
  env.NextEvent(*events, "/tasks/delete", "life");
  CHECK(!PathExists(bundle));
  CHECK(!IsMountPoint(bundle + "/rootfs"));
  CHECK(!PathExists(env.path("root/" + std::string(kRuntimePluginDir) + "/" + kNamespace + "/life")));
  CHECK(TaskTestEnv::WaitForExit(shim, kGenerous));
  CHECK(absl::IsNotFound(env.manager->Get(kNamespace, "life").status()));
  CHECK(env.manager->List(kNamespace)->empty());
  // The exit stays known to a Wait that comes late.
  absl::StatusOr<ExitInfo> late = env.manager->Wait(kNamespace, "life");
  REQUIRE(late.ok());
  CHECK(late->exit_status == 7);
}

void RunProcesses(const std::string& runtime) {
  TaskTestEnv env;
  auto events = SubscribeTasks(env);
  uint32_t pid = RunTask(env, "svc", kServiceScript, runtime);
  env.NextEvent(*events, "/tasks/start", "svc");

  // An exec: its own output, exit code and events.
  TaskIo io;
  io.stdout_uri = env.file_uri("exec.out");
  // Both streams named: containerd-shim-runc-v2 1.6 crashes copying a file:// stdout's stderr
  // when no stderr URI is given (pkg/process/io.go copies from a pipe it never made).
  io.stderr_uri = io.stdout_uri;
  absl::Status exec = env.manager->Exec(kNamespace, "svc", "e1", env.ExecSpec("echo from-exec; exit 3"), io);
  INFO("exec: " << exec);
  REQUIRE(exec.ok());
  env.NextEvent(*events, "/tasks/exec-added", "svc", "e1");
  absl::StatusOr<uint32_t> exec_pid = env.manager->Start(kNamespace, "svc", "e1");
  INFO("start exec: " << exec_pid.status());
  REQUIRE(exec_pid.ok());
  env.NextEvent(*events, "/tasks/exec-started", "svc", "e1");
  absl::StatusOr<ExitInfo> exec_exit = env.manager->Wait(kNamespace, "svc", "e1");
  REQUIRE(exec_exit.ok());
  CHECK(exec_exit->exit_status == 3);
  CHECK(exec_exit->pid == *exec_pid);
  CHECK(ExitStatusIn(env.NextEvent(*events, "/tasks/exit", "svc", "e1")) == 3);
  CHECK(ContentsOnceAtLeast(env.path("exec.out"), 10) == "from-exec\n");
  absl::StatusOr<ProcessState> exec_state = env.manager->State(kNamespace, "svc", "e1");
  REQUIRE(exec_state.ok());
  CHECK(exec_state->status == TaskStatus::kStopped);
  CHECK(exec_state->exec_id == "e1");
  absl::StatusOr<ExitInfo> exec_deleted = env.manager->DeleteProcess(kNamespace, "svc", "e1");
  REQUIRE(exec_deleted.ok());
  CHECK(exec_deleted->exit_status == 3);
  CHECK(absl::IsNotFound(env.manager->State(kNamespace, "svc", "e1").status()));
  CHECK(env.manager->Exec(kNamespace, "svc", "bad/id", env.ExecSpec("true"), {}).code() ==
        absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::vector<ProcessInfo>> pids = env.manager->Pids(kNamespace, "svc");
  REQUIRE(pids.ok());
  CHECK(std::any_of(pids->begin(), pids->end(), [pid](const ProcessInfo& p) { return p.pid == pid; }));

  // Pause and resume: the freezer says so, and so do the shim and its events.
  REQUIRE(env.manager->Pause(kNamespace, "svc").ok());
  CHECK(env.FreezerState("svc") == "FROZEN");
  CHECK(env.manager->State(kNamespace, "svc")->status == TaskStatus::kPaused);
  env.NextEvent(*events, "/tasks/paused", "svc");
  REQUIRE(env.manager->Resume(kNamespace, "svc").ok());
  CHECK(env.FreezerState("svc") == "THAWED");
  CHECK(env.manager->State(kNamespace, "svc")->status == TaskStatus::kRunning);
  env.NextEvent(*events, "/tasks/resumed", "svc");

  absl::StatusOr<google::protobuf::Any> stats = env.manager->Stats(kNamespace, "svc");
  INFO("stats: " << stats.status());
  REQUIRE(stats.ok());
  CHECK(stats->type_url().find("io.containerd.cgroups.v") != std::string::npos);

  // A running task cannot be deleted; a killed one can.
  CHECK(!env.manager->Delete(kNamespace, "svc").ok());
  CHECK(env.manager->Get(kNamespace, "svc").ok());
  // Two waiters, both answered.
  absl::StatusOr<ExitInfo> other_waiter;
  std::thread waiter([&] { other_waiter = env.manager->Wait(kNamespace, "svc"); });
  REQUIRE(env.manager->Kill(kNamespace, "svc", "", SIGTERM, false).ok());
  absl::StatusOr<ExitInfo> exit = env.manager->Wait(kNamespace, "svc");
  waiter.join();
  REQUIRE(exit.ok());
  CHECK(exit->exit_status == 42);
  REQUIRE(other_waiter.ok());
  CHECK(other_waiter->exit_status == 42);
  CHECK(absl::IsNotFound(env.manager->Kill(kNamespace, "svc", "", SIGTERM, false)));
  REQUIRE(env.manager->Delete(kNamespace, "svc").ok());
}

// A manager that goes away leaves its shims running; the next one adopts the live ones and
// cleans up after the dead ones. `recorded_exit_status`: what the shim's `delete` reports for a
// container whose exit (23) its killed shim had seen: liman-shim keeps the record,
// containerd-shim-runc-v2 always reports 137.
void RunRestart(const std::string& runtime, uint32_t recorded_exit_status) {
  TaskTestEnv env;
  uint32_t a_pid = RunTask(env, "a", kServiceScript, runtime);
  uint32_t b_pid = RunTask(env, "b", kServiceScript, runtime);
  pid_t b_shim = env.FindShim("b");
  RunTask(env, "c", "exit 23", runtime);
  absl::StatusOr<ExitInfo> c_exit = env.manager->Wait(kNamespace, "c");
  REQUIRE(c_exit.ok());
  CHECK(c_exit->exit_status == 23);

  // The daemon goes (the shims stay), then two shims are SIGKILLed while nobody watches.
  env.manager.reset();
  REQUIRE(b_shim > 1);
  REQUIRE(kill(b_shim, SIGKILL) == 0);
  REQUIRE(TaskTestEnv::WaitForExit(b_shim, kGenerous));
  pid_t c_shim = env.FindShim("c");
  REQUIRE(c_shim > 1);
  REQUIRE(kill(c_shim, SIGKILL) == 0);
  REQUIRE(TaskTestEnv::WaitForExit(c_shim, kGenerous));

  // One subscription per container: each is read on its own, whatever the order of cleanups.
  auto b_events = SubscribeTasks(env);
  auto c_events = SubscribeTasks(env);
  env.manager = env.NewManager();
  absl::StatusOr<LoadReport> report = env.manager->LoadExisting();
  INFO("load: " << report.status());
  REQUIRE(report.ok());
  std::string ns(kNamespace);
  std::sort(report->cleaned.begin(), report->cleaned.end());
  CHECK(report->adopted == std::vector<std::string>{ns + "/a"});
  CHECK(report->cleaned == std::vector<std::string>{ns + "/b", ns + "/c"});

  // b: killed with its shim; the exit and delete events tell so; nothing of it is left.
  CHECK(ExitStatusIn(env.NextEvent(*b_events, "/tasks/exit", "b")) == 137);
  env.NextEvent(*b_events, "/tasks/delete", "b");
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "b")));
  CHECK(TaskTestEnv::WaitForExit(static_cast<pid_t>(b_pid), kGenerous));
  CHECK(absl::IsNotFound(env.manager->Get(kNamespace, "b").status()));
  absl::StatusOr<ExitInfo> b_exit = env.manager->Wait(kNamespace, "b");
  REQUIRE(b_exit.ok());
  CHECK(b_exit->exit_status == 137);
  // c: the exit its shim had seen before it died (liman-shim's record survives).
  CHECK(ExitStatusIn(env.NextEvent(*c_events, "/tasks/exit", "c")) == recorded_exit_status);
  env.NextEvent(*c_events, "/tasks/delete", "c");
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "c")));

  // a: adopted, still running; Wait works again.
  absl::StatusOr<ProcessState> a_state = env.manager->State(kNamespace, "a");
  REQUIRE(a_state.ok());
  CHECK(a_state->status == TaskStatus::kRunning);
  CHECK(a_state->pid == a_pid);
  REQUIRE(WriteFileAtomic(env.rootfs_source("a") + "/exit", "").ok());
  absl::StatusOr<ExitInfo> a_exit = env.manager->Wait(kNamespace, "a");
  REQUIRE(a_exit.ok());
  CHECK(a_exit->exit_status == 7);
  REQUIRE(env.manager->Delete(kNamespace, "a").ok());
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "a")));
}

}  // namespace

TEST_CASE("liman-shim: create, start, wait, output, delete", "[tasks][liman]") { RunLifecycle(kLimanRuntime); }

TEST_CASE("liman-shim: exec, pids, pause/resume, stats, kill, many waiters", "[tasks][liman]") {
  RunProcesses(kLimanRuntime);
}

TEST_CASE("liman-shim: a restarted manager adopts live shims and cleans up dead ones", "[tasks][liman]") {
  RunRestart(kLimanRuntime, 23);
}

TEST_CASE("a shim that dies under a running manager is cleaned up; its waiters get the exit", "[tasks][liman]") {
  TaskTestEnv env;
  auto events = SubscribeTasks(env);
  uint32_t pid = RunTask(env, "doomed", kServiceScript, kLimanRuntime);
  pid_t shim = TaskTestEnv::ShimPidOf(static_cast<pid_t>(pid));
  REQUIRE(shim > 1);
  absl::StatusOr<ExitInfo> early;
  std::thread waiter([&] { early = env.manager->Wait(kNamespace, "doomed"); });
  REQUIRE(kill(shim, SIGKILL) == 0);
  // Whether the waiter was already waiting on the shim or came after the cleanup, it gets the
  // exit the cleanup found: the container was killed with its shim.
  waiter.join();
  INFO("wait: " << early.status());
  REQUIRE(early.ok());
  CHECK(early->exit_status == 137);
  CHECK(ExitStatusIn(env.NextEvent(*events, "/tasks/exit", "doomed")) == 137);
  env.NextEvent(*events, "/tasks/delete", "doomed");
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "doomed")));
  CHECK(absl::IsNotFound(env.manager->Get(kNamespace, "doomed").status()));
  CHECK(TaskTestEnv::WaitForExit(static_cast<pid_t>(pid), kGenerous));
}

TEST_CASE("failed creates leave nothing behind and say why", "[tasks][liman]") {
  TaskTestEnv env;
  std::string ns(kNamespace);

  absl::StatusOr<uint32_t> unknown = env.manager->Create(kNamespace, "x1", env.Options("x1", "true", "io.containerd.nosuch.v1"));
  CHECK(unknown.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(unknown.status().message()).find("io.containerd.nosuch.v1") != std::string::npos);
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "x1")));

  // The runtime cannot start the process: the shim's error comes back, everything is undone.
  CreateTaskOptions broken = env.Options("x2", "true", kLimanRuntime);
  size_t args = broken.spec.find(R"(["sh","-c","true"])");
  REQUIRE(args != std::string::npos);
  broken.spec.replace(args, std::string(R"(["sh","-c","true"])").size(), R"(["/no/such/binary"])");
  absl::StatusOr<uint32_t> failed = env.manager->Create(kNamespace, "x2", broken);
  INFO("create x2: " << failed.status());
  REQUIRE(!failed.ok());
  CHECK(std::string(failed.status().message()).find("create task \"x2\"") != std::string::npos);
  CHECK(std::string(failed.status().message()).find("/no/such/binary") != std::string::npos);
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "x2")));
  CHECK(!IsMountPoint(env.manager->BundlePath(kNamespace, "x2") + "/rootfs"));
  CHECK(env.manager->List(kNamespace)->empty());

  // A shim that cannot start: what it said is in the error.
  std::string fake_shim = env.path("fake-shim");
  REQUIRE(WriteFileAtomic(fake_shim, "#!/bin/sh\necho \"fake shim: cannot $*\" >&2\nexit 3\n", 0755).ok());
  REQUIRE(chmod(fake_shim.c_str(), 0755) == 0);
  absl::StatusOr<uint32_t> no_start = env.manager->Create(kNamespace, "x4", env.Options("x4", "true", fake_shim));
  INFO("create x4: " << no_start.status());
  REQUIRE(!no_start.ok());
  CHECK(std::string(no_start.status().message()).find("exit status 3: fake shim: cannot -namespace liman-test") !=
        std::string::npos);
  CHECK(std::string(no_start.status().message()).find(" start") != std::string::npos);
  CHECK(!PathExists(env.manager->BundlePath(kNamespace, "x4")));

  CHECK(env.manager->Create(kNamespace, "bad/id", env.Options("x3", "true", kLimanRuntime)).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(env.manager->Create("bad ns", "x3", env.Options("x3", "true", kLimanRuntime)).status().code() ==
        absl::StatusCode::kInvalidArgument);

  RunTask(env, "dup", kServiceScript, kLimanRuntime);
  absl::StatusOr<uint32_t> duplicate = env.manager->Create(kNamespace, "dup", env.Options("dup", "true", kLimanRuntime));
  CHECK(duplicate.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(env.manager->Get(kNamespace, "dup").ok());  // the first one is untouched

  for (absl::Status status : {env.manager->Start(kNamespace, "nope").status(), env.manager->Kill(kNamespace, "nope", "", 9, false),
                              env.manager->Pause(kNamespace, "nope"), env.manager->Delete(kNamespace, "nope").status(),
                              env.manager->Wait(kNamespace, "nope").status()})
    CHECK(absl::IsNotFound(status));
  CHECK(absl::IsNotFound(env.manager->State(kNamespace, "dup", "no-exec").status()));

  REQUIRE(env.manager->Kill(kNamespace, "dup", "", SIGKILL, false).ok());
  REQUIRE(env.manager->Wait(kNamespace, "dup").ok());
  REQUIRE(env.manager->Delete(kNamespace, "dup").ok());
}

TEST_CASE("containerd-shim-runc-v2: the same lifecycle, processes and restart", "[tasks][runc]") {
  if (!testing::RuncShimAvailable()) {
    WARN("SKIPPED: containerd-shim-runc-v2 or runc not installed (Debian packages containerd, runc)");
    return;
  }
  SECTION("lifecycle") { RunLifecycle(kRuncRuntime); }
  SECTION("processes") { RunProcesses(kRuncRuntime); }
  // containerd-shim-runc-v2's `delete` always reports 137 for a dead shim's container.
  SECTION("restart") { RunRestart(kRuncRuntime, 137); }
}
