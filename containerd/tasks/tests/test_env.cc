#include "containerd/tasks/tests/test_env.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/ascii.h"
#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "common/sha256.h"
#include "common/unique_fd.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "containerd/tasks/shim_binary.h"
#include "fmt/format.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"

namespace liman::containerd::tasks::testing {
namespace {

// Polling is only used to clean up after a test, never to decide whether it passed.
constexpr int kCleanupRounds = 100;

std::string FindBusybox() {
  for (const char* path : {"/bin/busybox", "/usr/bin/busybox"})
    if (access(path, X_OK) == 0) return path;
  return "";
}

std::string RunAndRead(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// A minimal rootfs as integration/lib/make-busybox-rootfs makes it: Debian's static busybox with
// a symlink per applet.
void MakeBusyboxRootfs(const std::string& dest) {
  static const std::string busybox = FindBusybox();
  static const std::string applets = RunAndRead(busybox + " --list");
  REQUIRE(!busybox.empty());
  for (const char* dir : {"bin", "dev", "etc", "proc", "sys", "root", "tmp", "run"})
    REQUIRE(MkdirAll(JoinPath(dest, dir), 0755).ok());
  absl::StatusOr<std::string> binary = ReadFile(busybox);
  REQUIRE(binary.ok());
  REQUIRE(ReplaceFile(JoinPath(dest, "bin/busybox"), *binary, 0755).ok());
  REQUIRE(chmod(JoinPath(dest, "bin/busybox").c_str(), 0755) == 0);
  std::istringstream names(applets);
  std::string applet;
  while (names >> applet) {
    if (applet == "busybox") continue;
    (void)symlink("busybox", JoinPath(dest, "bin/" + applet).c_str());
  }
  REQUIRE(ReplaceFile(JoinPath(dest, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").ok());
  REQUIRE(ReplaceFile(JoinPath(dest, "etc/group"), "root:x:0:\n").ok());
}

std::vector<std::string> MountPointsUnder(const std::string& dir) {
  std::vector<std::string> points;
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, devices, root, point;
    fields >> id >> parent >> devices >> root >> point;
    if (point.starts_with(dir + "/")) points.push_back(point);
  }
  std::sort(points.rbegin(), points.rend());
  return points;
}

// SIGKILLs every process whose command line mentions `text` (shims, runtimes), until none is left.
void KillMentioning(const std::string& text) {
  for (int round = 0; round < kCleanupRounds; ++round) {
    bool found = false;
    absl::StatusOr<std::vector<std::string>> entries = ListDir("/proc");
    for (const std::string& entry : entries.ok() ? *entries : std::vector<std::string>{}) {
      if (entry.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = std::stoi(entry);
      if (pid == getpid()) continue;
      absl::StatusOr<std::string> cmdline = ReadFile("/proc/" + entry + "/cmdline");
      if (!cmdline.ok() || cmdline->find(text) == std::string::npos) continue;
      absl::StatusOr<std::string> stat = ReadFile("/proc/" + entry + "/stat");
      if (stat.ok() && stat->find(") Z") != std::string::npos) continue;  // a zombie: dead already
      if (kill(pid, SIGKILL) == 0) found = true;
    }
    if (!found) return;
    usleep(100 * 1000);
  }
}

// This test's cgroup directories in every hierarchy, deepest first.
std::vector<std::string> CgroupDirs(const std::string& parent) {
  std::vector<std::string> roots = {"/sys/fs/cgroup" + parent};
  absl::StatusOr<std::vector<std::string>> hierarchies = ListDir("/sys/fs/cgroup");
  for (const std::string& h : hierarchies.ok() ? *hierarchies : std::vector<std::string>{})
    roots.push_back("/sys/fs/cgroup/" + h + parent);
  std::vector<std::string> dirs;
  std::function<void(const std::string&)> walk = [&](const std::string& dir) {
    struct stat st;
    if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
    absl::StatusOr<std::vector<std::string>> children = ListDir(dir);
    for (const std::string& child : children.ok() ? *children : std::vector<std::string>{}) {
      std::string sub = dir + "/" + child;
      if (lstat(sub.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) walk(sub);
    }
    dirs.push_back(dir);
  };
  for (const std::string& root : roots) walk(root);
  return dirs;
}

void RemoveCgroups(const std::string& parent) {
  for (const std::string& dir : CgroupDirs(parent)) {
    (void)WriteFile(dir + "/freezer.state", "THAWED");
    (void)WriteFile(dir + "/cgroup.freeze", "0");
    for (int round = 0; round < kCleanupRounds && rmdir(dir.c_str()) != 0 && errno == EBUSY; ++round) {
      absl::StatusOr<std::string> procs = ReadFile(dir + "/cgroup.procs");
      std::istringstream pids(procs.ok() ? *procs : "");
      pid_t pid;
      while (pids >> pid) kill(pid, SIGKILL);
      usleep(50 * 1000);
    }
  }
}

std::string FieldOf(const google::protobuf::Message& message, const char* name) {
  const google::protobuf::FieldDescriptor* field = message.GetDescriptor()->FindFieldByName(name);
  if (field == nullptr || field->type() != google::protobuf::FieldDescriptor::TYPE_STRING) return "";
  return message.GetReflection()->GetString(message, field);
}

}  // namespace

std::string Contents(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path);
  return data.ok() ? *data : fmt::format("<{}>", data.status().message());
}

std::string ContentsOnceAtLeast(const std::string& path, size_t size) {
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::string data = Contents(path);
  while (data.size() < size && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    data = Contents(path);
  }
  return data;
}

bool RuncShimAvailable() {
  return ResolveShimBinary(kRuncRuntime, {}).ok() && system("command -v runc >/dev/null 2>&1") == 0;
}

TaskTestEnv::TaskTestEnv() {
  REQUIRE(getuid() == 0);  // shims make namespaces, mounts and cgroups
  char dir[] = "/tmp/lct-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  dir_ = dir;
  REQUIRE(chmod(dir_.c_str(), 0755) == 0);
  address_ = JoinPath(dir_, "c.sock");
  static std::atomic<int> counter{0};
  cgroup_parent_ = fmt::format("/liman-ctrd-tasks-{}-{}", getpid(), counter++);
  spec_template_ = MakeSpecTemplate();

  absl::StatusOr<std::unique_ptr<events::TtrpcEndpoint>> started =
      events::TtrpcEndpoint::Start(&exchange, address_ + ".ttrpc");
  REQUIRE(started.ok());
  endpoint = std::move(*started);
  manager = NewManager();
}

TaskTestEnv::~TaskTestEnv() { Cleanup(); }

std::unique_ptr<TaskManager> TaskTestEnv::NewManager() {
  TaskManagerOptions options;
  options.state_dir = JoinPath(dir_, "state");
  options.root_dir = JoinPath(dir_, "root");
  options.address = address_;
  options.events = &exchange;
  options.shim_dirs = {LIMAN_BIN_DIR};
  options.call_timeout = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<TaskManager>> created = TaskManager::Create(std::move(options));
  REQUIRE(created.ok());
  return std::move(*created);
}

std::string TaskTestEnv::MakeSpecTemplate() {
  std::string spec_dir = JoinPath(dir_, "spec");
  REQUIRE(MkdirAll(spec_dir).ok());
  std::string runtime = JoinPath(LIMAN_BIN_DIR, "liman-runtime");
  INFO("generating the default spec with " << runtime);
  REQUIRE(system(fmt::format("{} spec --bundle {}", runtime, spec_dir).c_str()) == 0);
  absl::StatusOr<std::string> spec = ReadFile(JoinPath(spec_dir, "config.json"));
  REQUIRE(spec.ok());
  return *spec;
}

std::string TaskTestEnv::path(const std::string& name) const { return JoinPath(dir_, name); }

std::string TaskTestEnv::rootfs_source(const std::string& id) const { return JoinPath(dir_, "rootfs/" + id); }

CreateTaskOptions TaskTestEnv::Options(const std::string& id, const std::string& script, const std::string& runtime) {
  ids_.insert(id);
  std::string source = rootfs_source(id);
  if (!PathExists(source)) MakeBusyboxRootfs(source);

  nlohmann::json spec = nlohmann::json::parse(spec_template_);
  spec["process"]["terminal"] = false;
  spec["process"]["args"] = {"sh", "-c", script};
  spec["root"] = {{"path", "rootfs"}, {"readonly", false}};
  spec["hostname"] = id;
  spec["linux"]["cgroupsPath"] = cgroup_path(id);

  ::containerd::runc::v1::Options runtime_options;
  runtime_options.set_root(JoinPath(dir_, "runtime"));
  google::protobuf::Any packed;
  packed.set_type_url(runtime_options.GetDescriptor()->full_name());  // as containerd's typeurl
  packed.set_value(runtime_options.SerializeAsString());

  CreateTaskOptions options;
  options.spec = spec.dump();
  options.rootfs = {{"bind", source, "", {"rbind", "rw"}}};
  options.runtime = runtime;
  options.runtime_options = packed;
  return options;
}

google::protobuf::Any TaskTestEnv::ExecSpec(const std::string& script) const {
  nlohmann::json process = nlohmann::json::parse(spec_template_)["process"];
  process["terminal"] = false;
  process["args"] = {"sh", "-c", script};
  google::protobuf::Any any;
  any.set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  any.set_value(process.dump());
  return any;
}

std::string TaskTestEnv::FreezerState(const std::string& id) const {
  if (PathExists("/sys/fs/cgroup/freezer")) {
    absl::StatusOr<std::string> state = ReadFile("/sys/fs/cgroup/freezer" + cgroup_path(id) + "/freezer.state");
    return state.ok() ? std::string(absl::StripAsciiWhitespace(*state)) : "";
  }
  absl::StatusOr<std::string> frozen = ReadFile("/sys/fs/cgroup" + cgroup_path(id) + "/cgroup.freeze");
  if (!frozen.ok()) return "";
  return absl::StripAsciiWhitespace(*frozen) == "1" ? "FROZEN" : "THAWED";
}

events::Envelope TaskTestEnv::NextEvent(events::Subscription& subscription, const std::string& topic,
                                        const std::string& id, const std::string& exec_id) {
  absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (true) {
    absl::StatusOr<events::Envelope> next = subscription.Next(deadline);
    INFO("waiting for " << topic << " of " << id << (exec_id.empty() ? "" : "/" + exec_id));
    REQUIRE(next.ok());
    if (next->namespace_name != kNamespace || next->topic != topic) continue;
    const google::protobuf::Descriptor* type =
        google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(next->event_type()));
    REQUIRE(type != nullptr);
    std::unique_ptr<google::protobuf::Message> event(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
    REQUIRE(event->ParseFromString(next->event.value()));
    if (FieldOf(*event, "container_id") != id) continue;
    if (topic == "/tasks/exit" && FieldOf(*event, "id") != (exec_id.empty() ? id : exec_id)) continue;
    if (!exec_id.empty() && topic != "/tasks/exit" && FieldOf(*event, "exec_id") != exec_id) continue;
    return *std::move(next);
  }
}

bool TaskTestEnv::WaitForExit(pid_t pid, absl::Duration limit) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) return errno == ESRCH;
  pollfd fd{pidfd.get(), POLLIN, 0};
  return poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(limit))) == 1;
}

pid_t TaskTestEnv::ShimPidOf(pid_t init_pid) {
  absl::StatusOr<std::string> status = ReadFile(fmt::format("/proc/{}/status", init_pid));
  if (!status.ok()) return 0;
  size_t at = status->find("\nPPid:");
  if (at == std::string::npos) return 0;
  return static_cast<pid_t>(std::strtol(status->c_str() + at + 6, nullptr, 10));
}

pid_t TaskTestEnv::FindShim(const std::string& id) const {
  absl::StatusOr<std::string> recorded =
      ReadFile(JoinPath(JoinPath(JoinPath(JoinPath(dir_, "state"), kRuntimePluginDir), kNamespace), id) + "/shim.pid");
  if (recorded.ok()) return static_cast<pid_t>(std::strtol(recorded->c_str(), nullptr, 10));
  std::string id_arg = std::string("\0-id\0", 5) + id + std::string("\0", 1);
  absl::StatusOr<std::vector<std::string>> entries = ListDir("/proc");
  for (const std::string& entry : entries.ok() ? *entries : std::vector<std::string>{}) {
    if (entry.find_first_not_of("0123456789") != std::string::npos) continue;
    absl::StatusOr<std::string> cmdline = ReadFile("/proc/" + entry + "/cmdline");
    if (!cmdline.ok() || cmdline->find(address_) == std::string::npos || cmdline->find(id_arg) == std::string::npos)
      continue;
    if (cmdline->ends_with(std::string("\0start\0", 7)) || cmdline->ends_with(std::string("\0delete\0", 8))) continue;
    return static_cast<pid_t>(std::stol(entry));
  }
  return 0;
}

void TaskTestEnv::Cleanup() {
  manager.reset();
  endpoint.reset();
  KillMentioning(dir_);
  RemoveCgroups(cgroup_parent_);
  for (const std::string& point : MountPointsUnder(dir_)) umount2(point.c_str(), MNT_DETACH);
  // containerd-shim-runc-v2 1.6 listens under the fixed /run/containerd/s, named after
  // sha256("<address>/<namespace>/<id>"); one it did not remove (SIGKILLed) would stay.
  for (const std::string& id : ids_)
    unlink(("/run/containerd/s/" + Sha256Hex(JoinPath(JoinPath(address_, kNamespace), id))).c_str());
  (void)RemoveAll(dir_);
}

}  // namespace liman::containerd::tasks::testing
