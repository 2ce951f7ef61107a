// Healthchecks of running containers (moby's daemon/health.go): a thread per running container
// with a Healthcheck runs its probe as an exec every interval, within its timeout, and records
// each result in State.Health, with a health_status event when the status changes. The thread
// ends with the container's run (a new start, or limand's restart, begins another).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/stdio.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/health_check.h"
#include "engine/daemon/json_log_reader.h"
#include "engine/daemon/random_id.h"
#include "fmt/format.h"

namespace liman::engine {

using nlohmann::json;

namespace {

// Go's time.Duration.String for the whole seconds and milliseconds a healthcheck takes: "30s",
// "1m30s", "500ms".
std::string GoDuration(absl::Duration duration) {
  if (duration < absl::Seconds(1)) return fmt::format("{}ms", absl::ToInt64Milliseconds(duration));
  int64_t seconds = absl::ToInt64Seconds(duration);
  std::string text;
  if (seconds >= 3600) text += fmt::format("{}h", seconds / 3600);
  if (seconds >= 60) text += fmt::format("{}m", seconds % 3600 / 60);
  return text + fmt::format("{}s", seconds % 60);
}

// Reads `fds` (stdout and stderr of the probe) into `output`, at most kMaxProbeOutput bytes kept
// but everything drained, until both end or `deadline`. False when the deadline came first.
bool ReadProbeOutput(ctr::AttachedIo& io, absl::Time deadline, std::string& output) {
  struct pollfd fds[2] = {{io.stdout_fd(), POLLIN, 0}, {io.stderr_fd(), POLLIN, 0}};
  int open_outputs = 2;
  char buffer[4096];
  while (open_outputs > 0) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    int ready = ::poll(fds, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return true;
    for (struct pollfd& entry : fds) {
      if (entry.fd < 0 || entry.revents == 0) continue;
      ssize_t n = ::read(entry.fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        entry.fd = -1;
        --open_outputs;
        continue;
      }
      size_t room = kMaxProbeOutput - std::min(kMaxProbeOutput, output.size());
      output.append(buffer, std::min(room, static_cast<size_t>(n)));
    }
  }
  return true;
}

}  // namespace

ProbeResult Daemon::RunProbe(const std::string& container_id, const HealthConfig& config) {
  ProbeResult result{.start = absl::Now()};
  auto failed = [&](const absl::Status& status) {
    result.end = absl::Now();
    result.exit_code = -1;
    result.output = std::string(status.message());
    return result;
  };
  auto exec = std::make_shared<ExecInstance>();
  exec->id = RandomHexId();
  exec->container_id = container_id;
  exec->config = json{{"Cmd", config.command}, {"Tty", false}, {"AttachStdout", true}, {"AttachStderr", true}};
  exec->started = true;
  {
    std::lock_guard lock(mu_);
    auto found = containers_.find(container_id);
    if (found == containers_.end()) return failed(absl::NotFoundError("the container is gone"));
    ContainerEventLocked(*found->second, "exec_create: " + absl::StrJoin(config.command, " "), {{"execID", exec->id}});
  }
  absl::StatusOr<std::unique_ptr<ctr::FifoSet>> fifos =
      ctr::FifoSet::Create(options_.exec_root + "/execs", exec->id.substr(0, 24), /*tty=*/false);
  if (!fifos.ok()) return failed(fifos.status());
  absl::StatusOr<std::unique_ptr<ctr::AttachedIo>> io = ctr::AttachedIo::OpenOutputs(**fifos);
  if (!io.ok()) return failed(io.status());
  absl::StatusOr<std::shared_ptr<ExecWait>> wait = LaunchExec(exec, fifos->get(), /*with_stdin=*/false);
  if (!wait.ok()) {
    RecordExecExit(exec, 126);
    return failed(wait.status());
  }
  bool finished = ReadProbeOutput(**io, result.start + config.timeout, result.output);
  if (!finished) {
    // As moby: the probe is killed, and its result is the timeout, whatever it printed.
    (void)ctr::KillProcess(*client_, container_id, exec->id, SIGKILL, false);
    result.output = fmt::format("Health check exceeded timeout ({})", GoDuration(config.timeout));
  }
  int64_t exit_code = (*wait)->Get();
  result.end = absl::Now();
  result.exit_code = finished ? exit_code : -1;
  (void)ctr::DeleteProcess(*client_, container_id, exec->id);
  RecordExecExit(exec, exit_code);
  return result;
}

void Daemon::StartHealthMonitorLocked(const std::shared_ptr<Container>& container) {
  std::optional<HealthConfig> config = ParseHealthConfig(container->record["Config"]);
  if (!config) return;
  uint64_t generation = ++container->health_generation;
  std::thread([this, container, generation, config = *std::move(config)] {
    std::unique_lock lock(mu_);
    auto live = [&] {
      return !stopping_ && !container->removed && container->health_generation == generation && container->Running();
    };
    for (;;) {
      absl::Time next = absl::Now() + config.interval;
      while (live() && absl::Now() < next)
        changed_.wait_for(lock, absl::ToChronoMilliseconds(next - absl::Now()) + std::chrono::milliseconds(1));
      if (!live()) return;
      json& state = container->record["State"];
      if (state.value("Paused", false)) continue;  // an exec cannot run in a frozen container
      absl::Time started_at = ParseLogTime(state.value("StartedAt", ""), absl::Now()).value_or(absl::Now());
      lock.unlock();
      ProbeResult result = RunProbe(container->id, config);
      lock.lock();
      if (!live()) return;  // it stopped meanwhile: the probe's failure says nothing
      json& health = container->record["State"]["Health"];
      if (std::optional<std::string> changed = RecordProbe(health, config, result, started_at))
        ContainerEventLocked(*container, "health_status: " + *changed);
      if (absl::Status saved = SaveLocked(*container); !saved.ok())
        LogWarn("container {}: record its health: {}", container->id, saved);
      changed_.notify_all();
    }
  }).detach();
}

}  // namespace liman::engine
