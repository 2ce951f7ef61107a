#include "integration/shimctl/startup_bench.h"

#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/pipe.h"
#include "common/status.h"
#include "common/ttrpc/client.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "fmt/format.h"
#include "google/protobuf/empty.pb.h"
#include "integration/shimctl/json_output.h"
#include "integration/shimctl/task_api.h"
#include "nlohmann/json.hpp"
#include "common/cgroup_layout.h"
#include "shim/reaper.h"
#include "shim/spawn.h"

extern char** environ;

namespace liman::shimctl {
namespace {

namespace task = containerd::task::v2;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

// A shim's socket is <dirname(address)>/s/<64 hex digits>, and sun_path holds 107 bytes and the
// NUL (unix(7)).
constexpr size_t kSocketNameLength = 64;
constexpr size_t kSunPathMax = 107;

struct Settings {
  std::string shim;     // absolute: the shim runs in the bundle directory
  std::string runtime;  // absolute, and the binary the shim is told to run
  json config;          // --bundle's config.json, root.path made absolute
  std::string cgroup_parent;
  std::string namespace_name;
  std::string work;
  std::string runtime_root;     // LIMAN_RUNTIME_ROOT of the shims: WORK/state
  std::string state;            // the runtime's --root, the shims' and ours: WORK/state/NS
  std::string manager_address;  // the shims' -address
  std::vector<std::string> shim_env;
  int rounds = 20;
  int warmup = 1;
  absl::Duration settle;
  absl::Duration timeout;
  std::vector<cgroups::CgroupMount> cgroup_mounts;  // every hierarchy, v1 and v2
  std::string own_procs;  // cgroup.procs of our own cgroup in one hierarchy; empty: --no-prime
};

double Milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// --- child processes -------------------------------------------------------------------------------

// A child whose stderr goes to a memfd (memfd_create(2)), read back to explain a failure: unlike
// a pipe it needs no reader while the child runs.
struct Child {
  pid_t pid = -1;
  UniqueFd stderr_file;
};

absl::StatusOr<Child> SpawnCaptured(shim::SpawnOptions options) {
  Child child;
  child.stderr_file.reset(memfd_create("startup-bench-stderr", MFD_CLOEXEC));
  if (!child.stderr_file) return ErrnoError("memfd_create");
  options.stderr_fd = child.stderr_file.get();
  LIMAN_ASSIGN_OR_RETURN(child.pid, shim::Spawn(options));
  return child;
}

// Waits for the child `pid` to exit, at most `timeout`; one that takes longer is killed. The wait
// is a poll on a pidfd, which becomes readable when the process exits (pidfd_open(2), Linux 5.3).
absl::StatusOr<int> WaitExit(pid_t pid, absl::Duration timeout, std::string_view what) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd && timeout != absl::InfiniteDuration()) {
    pollfd fd = {pidfd.get(), POLLIN, 0};
    int ready;
    do {
      ready = poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      kill(pid, SIGKILL);
      (void)shim::WaitForChild(pid);
      return absl::DeadlineExceededError(fmt::format("{} (pid {}): still running after {}, killed", what, pid,
                                                     absl::FormatDuration(timeout)));
    }
  }
  return shim::WaitForChild(pid);
}

std::string Trim(std::string_view text) {
  const char* space = " \t\r\n";
  size_t begin = text.find_first_not_of(space);
  if (begin == std::string_view::npos) return "";
  return std::string(text.substr(begin, text.find_last_not_of(space) + 1 - begin));
}

// A child's failure in os/exec's words, with what it wrote to stderr:
// `liman-runtime create: container "x" already exists: exit status 1`.
absl::Status CheckExit(std::string_view what, int wait_status, int stderr_fd) {
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return absl::OkStatus();
  std::string how = WIFSIGNALED(wait_status) ? fmt::format("signal: {}", strsignal(WTERMSIG(wait_status)))
                                             : fmt::format("exit status {}", WEXITSTATUS(wait_status));
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = pread(stderr_fd, buf, sizeof buf, static_cast<off_t>(err.size()))) > 0)
    err.append(buf, static_cast<size_t>(n));
  err = Trim(err);
  return absl::UnknownError(err.empty() ? fmt::format("{}: {}", what, how) : fmt::format("{}: {}: {}", what, err, how));
}

absl::Status RunToCompletion(const shim::SpawnOptions& options, std::string_view what, absl::Duration timeout) {
  LIMAN_ASSIGN_OR_RETURN(Child child, SpawnCaptured(options));
  LIMAN_ASSIGN_OR_RETURN(int wait_status, WaitExit(child.pid, timeout, what));
  return CheckExit(what, wait_status, child.stderr_file.get());
}

// `liman-runtime --root STATE ARGS...`
shim::SpawnOptions RuntimeCommand(const Settings& s, std::vector<std::string> args) {
  shim::SpawnOptions options;
  options.path = s.runtime;
  options.argv = {s.runtime, "--root", s.state};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  return options;
}

absl::StatusOr<std::string> ReadToEnd(int fd, std::string_view what) {
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return out;
    } else if (errno != EINTR) {
      return ErrnoError(fmt::format("read {}", what));
    }
  }
}

absl::StatusOr<pid_t> ReadPidFile(const std::string& path) {
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  int pid = 0;
  if (!absl::SimpleAtoi(Trim(text), &pid) || pid <= 0)
    return absl::DataLossError(fmt::format("{}: not a pid: {}", Quote(path), Quote(text)));
  return pid;
}

// Reaps children that have already exited: container inits whose shim was killed (they are
// reparented to us, see BecomeSubreaper) must not linger as zombies in their cgroups.
void ReapExited() {
  int status;
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
}

// --- containers ----------------------------------------------------------------------------------

// One container of a round: its bundle, and whether its shim is still ours to reap.
struct Container {
  std::string id;
  std::string bundle;
  bool shim_reaped = false;
};

absl::StatusOr<Container> PrepareContainer(const Settings& s, const std::string& id) {
  Container c{id, JoinPath(s.work, id)};
  LIMAN_RETURN_IF_ERROR(MkdirAll(c.bundle, 0711));
  json config = s.config;
  config["linux"]["cgroupsPath"] = JoinPath(s.cgroup_parent, id);
  LIMAN_RETURN_IF_ERROR(ReplaceFile(JoinPath(c.bundle, "config.json"), config.dump()));
  return c;
}

// rmdir of the cgroup `path` in every hierarchy; one that is not there is fine.
absl::Status RemoveCgroup(const Settings& s, const std::string& path) {
  absl::Status result;
  for (const cgroups::CgroupMount& mount : s.cgroup_mounts) {
    absl::StatusOr<std::string> dir = cgroups::ContainerDir(mount, path, "");
    if (!dir.ok()) {
      result.Update(dir.status());
      continue;
    }
    if (rmdir(dir->c_str()) != 0 && errno != ENOENT) result.Update(ErrnoError(fmt::format("rmdir {}", Quote(*dir))));
  }
  return result;
}

// Undoes whatever part of a container's life happened: after a success only its bundle
// directory is left; after a failure possibly a shim, a container, a cgroup. Problems here are
// warnings (the round's own error is what gets reported).
void Discard(const Settings& s, const Container& c) {
  if (!c.shim_reaped) {
    // The shim server, once `start` exited, is our child (we are a subreaper), so its pid cannot
    // have been reused while it is unreaped.
    absl::StatusOr<pid_t> pid = ReadPidFile(JoinPath(c.bundle, "shim.pid"));
    if (pid.ok() && kill(*pid, SIGKILL) == 0) (void)WaitExit(*pid, s.timeout, "liman-shim");
  }
  if (PathExists(JoinPath(s.state, c.id))) {
    absl::Status status =
        RunToCompletion(RuntimeCommand(s, {"delete", "--force", c.id}), "liman-runtime delete --force", s.timeout);
    if (!status.ok()) LogWarn("{}", status);
  }
  ReapExited();
  if (absl::Status status = RemoveCgroup(s, JoinPath(s.cgroup_parent, c.id)); !status.ok()) LogWarn("{}", status);
  if (absl::Status status = RemoveAll(c.bundle); !status.ok()) LogWarn("{}", status);
}

// --- the two ways --------------------------------------------------------------------------------

// The runtime moves the container's init into its cgroup by writing cgroup.procs, which takes the
// kernel's cgroup_threadgroup_rwsem for writing: percpu_down_write -> rcu_sync_enter, which waits
// for a whole RCU grace period (5 to 20 ms on this kind of VM) unless another writer went through
// within about the last grace period (kernel/rcu/sync.c; cgroup v2's favordynmods avoids it).
// Whether a start pays that wait thus depends on how long ago the previous container's start
// was, and that differs between the two ways for reasons that have nothing to do with the shim
// (the shim's teardown takes longer). Moving ourselves into our own cgroup, a no-op migration,
// puts both in the same, fast, state: right before the runtime is asked to create, so that its
// write follows about as soon in both ways. For (a) that is between `start` and Create, a pause
// left out of the timing (it waits for a grace period itself).
absl::Status PrimeCgroupSync(const Settings& s) {
  if (s.own_procs.empty()) return absl::OkStatus();
  return WriteFile(s.own_procs, std::to_string(getpid()));
}

// Milliseconds of each timed part, by name.
using Times = std::map<std::string, double>;

// (a): `liman-shim start`, connect, Create, Start; then Wait, Delete, Shutdown and the shim's exit.
absl::StatusOr<Times> ThroughShim(const Settings& s, Container& c) {
  shim::SpawnOptions spawn;
  spawn.path = s.shim;
  spawn.argv = {s.shim, "-namespace", s.namespace_name, "-address", s.manager_address, "-id", c.id, "start"};
  spawn.env = s.shim_env;
  spawn.cwd = c.bundle;
  LIMAN_ASSIGN_OR_RETURN(Pipe out, MakePipe("liman-shim start stdout"));
  spawn.stdout_fd = out.write.get();
  task::CreateTaskRequest create;
  create.set_id(c.id);
  create.set_bundle(c.bundle);
  containerd::runc::v1::Options options;
  options.set_binary_name(s.runtime);
  create.mutable_options()->set_type_url(kRuncOptionsTypeUrl);
  create.mutable_options()->set_value(options.SerializeAsString());
  task::StartRequest start;
  start.set_id(c.id);

  const Clock::time_point began = Clock::now();
  LIMAN_ASSIGN_OR_RETURN(Child start_cmd, SpawnCaptured(spawn));
  out.write.reset();
  // containerd reads the address from `start`'s output once it has exited (cmd.CombinedOutput).
  absl::StatusOr<std::string> output = ReadToEnd(out.read.get(), "liman-shim start stdout");
  LIMAN_ASSIGN_OR_RETURN(int start_status, WaitExit(start_cmd.pid, s.timeout, "liman-shim start"));
  LIMAN_RETURN_IF_ERROR(CheckExit("liman-shim start", start_status, start_cmd.stderr_file.get()));
  LIMAN_RETURN_IF_ERROR(output.status());
  const std::string address = Trim(*output);
  if (address.empty()) return absl::UnknownError("liman-shim start printed no address");
  const Clock::time_point shim_started = Clock::now();
  LIMAN_RETURN_IF_ERROR(PrimeCgroupSync(s));
  const Clock::time_point resumed = Clock::now();
  absl::StatusOr<ttrpc::Client> client = ttrpc::Client::Connect(address);
  if (!client.ok()) return Annotate(client.status(), fmt::format("connect to the shim at {}", Quote(address)));
  const Clock::time_point connected = Clock::now();
  task::CreateTaskResponse created;
  LIMAN_RETURN_IF_ERROR(Annotate(client->Call(kTaskService, "Create", create, &created, s.timeout), "Create"));
  const Clock::time_point create_done = Clock::now();
  task::StartResponse started;
  LIMAN_RETURN_IF_ERROR(Annotate(client->Call(kTaskService, "Start", start, &started, s.timeout), "Start"));
  const Clock::time_point start_done = Clock::now();

  LIMAN_ASSIGN_OR_RETURN(pid_t shim_pid, ReadPidFile(JoinPath(c.bundle, "shim.pid")));
  task::WaitRequest wait;
  wait.set_id(c.id);
  task::WaitResponse waited;
  LIMAN_RETURN_IF_ERROR(Annotate(client->Call(kTaskService, "Wait", wait, &waited, s.timeout), "Wait"));
  task::DeleteRequest del;
  del.set_id(c.id);
  task::DeleteResponse deleted;
  LIMAN_RETURN_IF_ERROR(Annotate(client->Call(kTaskService, "Delete", del, &deleted, s.timeout), "Delete"));
  task::ShutdownRequest shutdown;
  shutdown.set_id(c.id);
  google::protobuf::Empty empty;
  absl::Status shut = client->Call(kTaskService, "Shutdown", shutdown, &empty, s.timeout);
  // The shim may exit before its answer is read: the connection closing is the shutdown working.
  if (!shut.ok() && shut.code() != absl::StatusCode::kUnavailable) return Annotate(shut, "Shutdown");
  absl::StatusOr<int> shim_status = WaitExit(shim_pid, s.timeout, "liman-shim after Shutdown");
  c.shim_reaped = true;  // by WaitExit, also when it had to kill it
  LIMAN_RETURN_IF_ERROR(shim_status.status());
  if (!WIFEXITED(*shim_status) || WEXITSTATUS(*shim_status) != 0)
    return absl::UnknownError(
        fmt::format("liman-shim (pid {}) exited with status {}", shim_pid, shim::ExitStatusCode(*shim_status)));
  if (waited.exit_status() != 0)
    return absl::UnknownError(fmt::format("container {} exited with status {}", Quote(c.id), waited.exit_status()));

  return Times{{"shim", Milliseconds((shim_started - began) + (start_done - resumed))},
               {"shim_start", Milliseconds(shim_started - began)},
               {"connect", Milliseconds(connected - resumed)},
               {"create", Milliseconds(create_done - connected)},
               {"start", Milliseconds(start_done - create_done)}};
}

// (b): `liman-runtime create`, `liman-runtime start`; then the container's exit and delete.
absl::StatusOr<Times> Direct(const Settings& s, Container& c) {
  const std::string pid_file = JoinPath(c.bundle, "init.pid");
  const shim::SpawnOptions create = RuntimeCommand(s, {"create", "--bundle", c.bundle, "--pid-file", pid_file, c.id});
  const shim::SpawnOptions start = RuntimeCommand(s, {"start", c.id});

  LIMAN_RETURN_IF_ERROR(PrimeCgroupSync(s));
  const Clock::time_point began = Clock::now();
  LIMAN_RETURN_IF_ERROR(RunToCompletion(create, "liman-runtime create", s.timeout));
  const Clock::time_point created = Clock::now();
  LIMAN_RETURN_IF_ERROR(RunToCompletion(start, "liman-runtime start", s.timeout));
  const Clock::time_point started = Clock::now();

  // The runtime has exited since `create`: the container's init is our child now.
  LIMAN_ASSIGN_OR_RETURN(pid_t init, ReadPidFile(pid_file));
  LIMAN_ASSIGN_OR_RETURN(int init_status, WaitExit(init, s.timeout, fmt::format("container {}", Quote(c.id))));
  LIMAN_RETURN_IF_ERROR(RunToCompletion(RuntimeCommand(s, {"delete", c.id}), "liman-runtime delete", s.timeout));
  if (!WIFEXITED(init_status) || WEXITSTATUS(init_status) != 0)
    return absl::UnknownError(
        fmt::format("container {} exited with status {}", Quote(c.id), shim::ExitStatusCode(init_status)));

  return Times{{"direct", Milliseconds(started - began)},
               {"runtime_create", Milliseconds(created - began)},
               {"runtime_start", Milliseconds(started - created)}};
}

enum class Way { kShim, kDirect };

absl::StatusOr<Times> RunOne(const Settings& s, Way way, const std::string& label) {
  std::string id = fmt::format("startup-{}-{}-{}", getpid(), label, way == Way::kShim ? "shim" : "direct");
  LIMAN_ASSIGN_OR_RETURN(Container c, PrepareContainer(s, id));
  absl::SleepFor(s.settle);
  absl::StatusOr<Times> times = way == Way::kShim ? ThroughShim(s, c) : Direct(s, c);
  Discard(s, c);
  if (!times.ok()) return Annotate(times.status(), fmt::format("container {}", Quote(id)));
  return times;
}

// Every sample by name, in round order.
using Samples = std::map<std::string, std::vector<double>>;

absl::Status RunRounds(const Settings& s, Samples& samples) {
  for (int round = -s.warmup; round < s.rounds; ++round) {
    const bool warm_up = round < 0;
    const std::string label = warm_up ? fmt::format("w{}", round + s.warmup) : fmt::format("r{}", round);
    // Odd rounds go the other way round.
    const Way order[2] = {round % 2 == 0 ? Way::kShim : Way::kDirect, round % 2 == 0 ? Way::kDirect : Way::kShim};
    Times all;
    for (Way way : order) {
      LIMAN_ASSIGN_OR_RETURN(Times times, RunOne(s, way, label));
      all.insert(times.begin(), times.end());
    }
    if (warm_up) continue;
    all["added"] = all["shim"] - all["direct"];
    for (const auto& [name, ms] : all) samples[name].push_back(ms);
  }
  return absl::OkStatus();
}

// --- statistics and output -----------------------------------------------------------------------

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Nearest-rank 90th percentile: the smallest sample with at least 90 % of them at or below it.
double Percentile90(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(values.size())));
  return values[std::max<size_t>(rank, 1) - 1];
}

double Rounded(double ms) { return std::round(ms * 1000) / 1000; }

absl::Status Report(const Settings& s, const Samples& samples, const Invocation& inv) {
  std::string process = absl::StrJoin(s.config["process"]["args"].get<std::vector<std::string>>(), " ");
  json out = {{"rounds", s.rounds}, {"warmup", s.warmup}, {"process", process}};
  std::string text = fmt::format("startup-bench: {} rounds (after {} warm-up), `{}` started through {} and by {} directly\n",
                                 s.rounds, s.warmup, process, s.shim, s.runtime);
  text += fmt::format("{:<40} {:>10} {:>10}\n", "", "median", "p90");
  const std::pair<const char*, const char*> rows[] = {
      {"shim", "(a) through the shim, spawn to Start reply"},
      {"shim_start", "      liman-shim start (until it exited)"},
      {"connect", "      connect"},
      {"create", "      Create"},
      {"start", "      Start"},
      {"direct", "(b) runtime create + start"},
      {"runtime_create", "      liman-runtime create"},
      {"runtime_start", "      liman-runtime start"},
      {"added", "shim adds: (a) - (b) per round"},
  };
  for (const auto& [name, label] : rows) {
    const std::vector<double>& values = samples.at(name);
    double median = Median(values), p90 = Percentile90(values);
    text += fmt::format("{:<40} {:>7.2f} ms {:>7.2f} ms\n", label, median, p90);
    std::vector<double> rounded;
    for (double v : values) rounded.push_back(Rounded(v));
    out[name] = {{"median_ms", Rounded(median)}, {"p90_ms", Rounded(p90)}, {"rounds_ms", rounded}};
  }
  double of_medians = Median(samples.at("shim")) - Median(samples.at("direct"));
  text += fmt::format("{:<40} {:>7.2f} ms\n", "median (a) - median (b)", of_medians);
  out["added_of_medians_ms"] = Rounded(of_medians);
  std::fputs(text.c_str(), stdout);
  return PrintJson(out, inv.Value("field"));
}

// --- setup ---------------------------------------------------------------------------------------

absl::StatusOr<std::string> AbsolutePath(const std::string& flag, const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return ErrnoError(fmt::format("--{} {}", flag, Quote(path)));
  return std::string(resolved);
}

absl::StatusOr<int> CountFlag(const Invocation& inv, const std::string& flag, int fallback, int minimum) {
  if (!inv.Has(flag)) return fallback;
  int value = 0;
  std::string text = inv.Value(flag);
  if (!absl::SimpleAtoi(text, &value) || value < minimum)
    return absl::InvalidArgumentError(fmt::format("--{} {}: not a number >= {}", flag, Quote(text), minimum));
  return value;
}

// The template config: terminal off (no console is given), root.path absolute (every container's
// bundle is elsewhere).
absl::StatusOr<json> TemplateConfig(const std::string& bundle) {
  const std::string path = JoinPath(bundle, "config.json");
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json config = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!config.is_object()) return absl::InvalidArgumentError(fmt::format("{}: not a JSON object", Quote(path)));
  const json* args = config.contains("process") ? &config["process"]["args"] : nullptr;
  if (args == nullptr || !args->is_array() || args->empty() ||
      !std::all_of(args->begin(), args->end(), [](const json& a) { return a.is_string(); }))
    return absl::InvalidArgumentError(fmt::format("{}: process.args is not a list of strings", Quote(path)));
  if (config["process"].value("terminal", false))
    return absl::InvalidArgumentError(
        fmt::format("{}: process.terminal is true; the benchmark gives no console", Quote(path)));
  if (!config.contains("root") || !config["root"].contains("path") || !config["root"]["path"].is_string())
    return absl::InvalidArgumentError(fmt::format("{}: root.path is not set", Quote(path)));
  std::string root = config["root"]["path"].get<std::string>();
  if (!root.starts_with('/')) config["root"]["path"] = JoinPath(bundle, root);
  return config;
}

std::vector<std::string> ShimEnvironment(const std::string& runtime_root) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view e = *entry;
    if (e.starts_with("LIMAN_RUNTIME_ROOT=") || e.starts_with("TTRPC_ADDRESS=")) continue;
    env.emplace_back(e);
  }
  env.push_back("LIMAN_RUNTIME_ROOT=" + runtime_root);
  return env;
}

// The work directory: --work (which must not exist: all of it is removed afterwards) or a new one
// in $TMPDIR.
absl::StatusOr<std::string> MakeWorkDir(const Invocation& inv) {
  if (inv.Has("work")) {
    LIMAN_ASSIGN_OR_RETURN(std::string work, inv.Required("work"));
    if (mkdir(work.c_str(), 0711) != 0)
      return ErrnoError(fmt::format("--work: mkdir {} (it must not exist: it is removed afterwards)", Quote(work)));
    return AbsolutePath("work", work);
  }
  const char* tmpdir = getenv("TMPDIR");
  std::string pattern = JoinPath(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp", "liman-startup.XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return ErrnoError(fmt::format("mkdtemp {}", Quote(pattern)));
  if (chmod(pattern.c_str(), 0711) != 0) return ErrnoError(fmt::format("chmod {}", Quote(pattern)));
  return pattern;
}

// Everything but the work directory, which is made last (nothing to remove on a usage error).
absl::StatusOr<Settings> ParseSettings(const Invocation& inv) {
  Settings s;
  LIMAN_ASSIGN_OR_RETURN(std::string shim, inv.Required("shim"));
  LIMAN_ASSIGN_OR_RETURN(s.shim, AbsolutePath("shim", shim));
  LIMAN_ASSIGN_OR_RETURN(std::string runtime, inv.Required("runtime"));
  LIMAN_ASSIGN_OR_RETURN(s.runtime, AbsolutePath("runtime", runtime));
  LIMAN_ASSIGN_OR_RETURN(std::string bundle_flag, inv.Required("bundle"));
  LIMAN_ASSIGN_OR_RETURN(std::string bundle, AbsolutePath("bundle", bundle_flag));
  LIMAN_ASSIGN_OR_RETURN(s.config, TemplateConfig(bundle));
  LIMAN_ASSIGN_OR_RETURN(s.cgroup_parent, inv.Required("cgroup-parent"));
  if (!s.cgroup_parent.starts_with('/') || s.cgroup_parent == "/")
    return absl::InvalidArgumentError(
        fmt::format("--cgroup-parent {}: must be an absolute cgroup path below the root", Quote(s.cgroup_parent)));
  s.namespace_name = inv.Value("namespace", "liman-startup-bench");
  LIMAN_ASSIGN_OR_RETURN(s.rounds, CountFlag(inv, "rounds", 20, 1));
  LIMAN_ASSIGN_OR_RETURN(s.warmup, CountFlag(inv, "warmup", 1, 0));
  LIMAN_ASSIGN_OR_RETURN(s.timeout, inv.Timeout());
  std::string settle = inv.Value("settle", "0");
  if (!absl::ParseDuration(settle, &s.settle) || s.settle < absl::ZeroDuration())
    return absl::InvalidArgumentError(fmt::format("--settle {}: not a duration (100ms, 1s)", Quote(settle)));
  LIMAN_ASSIGN_OR_RETURN(cgroups::CgroupMounts mounts, cgroups::FindCgroupMounts("/sys/fs/cgroup", "/proc"));
  s.cgroup_mounts = mounts.v1;
  if (mounts.v2) s.cgroup_mounts.push_back(*mounts.v2);
  if (!inv.Bool("no-prime")) {
    // The rwsem is one for all hierarchies: any of them will do.
    const cgroups::CgroupMount& mount = s.cgroup_mounts.front();
    LIMAN_ASSIGN_OR_RETURN(std::string self, ReadFile("/proc/self/cgroup"));
    LIMAN_ASSIGN_OR_RETURN(std::vector<cgroups::ProcCgroupEntry> entries, cgroups::ParseProcCgroup(self));
    LIMAN_ASSIGN_OR_RETURN(std::string own, cgroups::OwnCgroup(mount, entries));
    LIMAN_ASSIGN_OR_RETURN(std::string dir, cgroups::ContainerDir(mount, "", own));
    s.own_procs = JoinPath(dir, "cgroup.procs");
  }
  return s;
}

absl::Status StartupBench(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(Settings s, ParseSettings(inv));
  // Container inits whose runtime has exited, and shim servers whose `start` has, come to us (as
  // inits come to the shim): (b) waits for its container like (a)'s shim does, and every shim's
  // exit is checked.
  LIMAN_RETURN_IF_ERROR(shim::BecomeSubreaper());
  LIMAN_ASSIGN_OR_RETURN(s.work, MakeWorkDir(inv));
  s.runtime_root = JoinPath(s.work, "state");
  s.state = JoinPath(s.runtime_root, s.namespace_name);
  s.manager_address = inv.Value("manager-address", JoinPath(s.work, "manager.sock"));
  s.shim_env = ShimEnvironment(s.runtime_root);

  absl::Status status;
  size_t socket_dir_length = s.manager_address.rfind('/') + std::string_view("/s/").size();
  if (!s.manager_address.starts_with('/')) {
    status = absl::InvalidArgumentError(fmt::format("--manager-address {}: not an absolute path", Quote(s.manager_address)));
  } else if (socket_dir_length + kSocketNameLength > kSunPathMax) {
    status = absl::InvalidArgumentError(fmt::format(
        "shim sockets in {}/s would be longer than a unix socket path can be: use a shorter --work or --manager-address",
        s.manager_address.substr(0, s.manager_address.rfind('/'))));
  }
  Samples samples;
  if (status.ok()) status = RunRounds(s, samples);
  // The runtime made /PARENT in every hierarchy; each container's own cgroup went with Discard.
  absl::Status cleanup = RemoveCgroup(s, s.cgroup_parent);
  cleanup.Update(RemoveAll(s.work));
  LIMAN_RETURN_IF_ERROR(status);
  LIMAN_RETURN_IF_ERROR(cleanup);
  return Report(s, samples, inv);
}

}  // namespace

std::vector<Command> StartupBenchCommands() {
  return {{{"startup-bench",
            {"shim", "runtime", "bundle", "cgroup-parent", "rounds", "warmup", "settle", "work", "manager-address",
             "namespace"},
            {"no-prime"},
            0,
            0,
            "--shim BIN --runtime BIN --bundle DIR --cgroup-parent /PARENT [--rounds 20] [--warmup 1] [--settle 0] "
            "[--work DIR] [--manager-address SOCKET] [--namespace NS] [--no-prime]"},
           StartupBench}};
}

}  // namespace liman::shimctl
