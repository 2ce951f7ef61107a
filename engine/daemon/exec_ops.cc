// `docker exec`: a process added to a running container's task (Tasks.Exec with the container's
// own process spec, the command, environment, user and terminal changed), its output streamed
// from FIFOs to the client and its exit code kept for /exec/{id}/json.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_join.h"
#include "common/status.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/run.h"
#include "ctl/liman-ctr/spec.h"
#include "ctl/liman-ctr/stdio.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/docker_spec.h"
#include "engine/daemon/process_root.h"
#include "engine/daemon/random_id.h"
#include "engine/daemon/stream_frame.h"
#include "fmt/format.h"

namespace liman::engine {

namespace tasks = ::containerd::services::tasks::v1;
using nlohmann::json;

namespace {

constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";

// "sh -c true": the command as exec events name it.
std::string ExecCommandLine(const ExecInstance& exec) {
  std::vector<std::string> words;
  for (const json& word : exec.config["Cmd"])
    if (word.is_string()) words.push_back(word.get<std::string>());
  return absl::StrJoin(words, " ");
}

}  // namespace

absl::StatusOr<std::string> Daemon::CreateExec(const std::string& container_ref, const json& body) {
  if (!body.is_object()) return absl::InvalidArgumentError("exec config cannot be empty");
  if (!body.contains("Cmd") || !body["Cmd"].is_array() || body["Cmd"].empty())
    return absl::InvalidArgumentError("No exec command specified");
  for (const json& word : body["Cmd"])
    if (!word.is_string()) return absl::InvalidArgumentError("json: cannot unmarshal Cmd: not a list of strings");
  std::lock_guard lock(mu_);
  LIMAN_ASSIGN_OR_RETURN(std::shared_ptr<Container> container, FindLocked(container_ref));
  if (container->Restarting())
    return absl::FailedPreconditionError(
        fmt::format("Container {} is restarting, wait until the container is running", container->id));
  if (!container->Running())
    return absl::FailedPreconditionError(fmt::format("Container {} is not running", container->id));
  if (container->record["State"].value("Paused", false))
    return absl::FailedPreconditionError(fmt::format("Container {} is paused, unpause the container before exec", container->id));
  auto exec = std::make_shared<ExecInstance>();
  exec->id = RandomHexId();
  exec->container_id = container->id;
  exec->config = body;
  execs_[exec->id] = exec;
  ContainerEventLocked(*container, "exec_create: " + ExecCommandLine(*exec), {{"execID", exec->id}});
  return exec->id;
}

absl::StatusOr<nlohmann::ordered_json> Daemon::SpecProcess(const std::string& container_id) {
  {
    std::lock_guard lock(mu_);
    auto found = containers_.find(container_id);
    if (found != containers_.end() && found->second->spec_process) return *found->second->spec_process;
  }
  LIMAN_ASSIGN_OR_RETURN(::containerd::services::containers::v1::Container container,
                         ctr::GetContainer(*client_, container_id));
  nlohmann::ordered_json spec = nlohmann::ordered_json::parse(container.spec().value(), nullptr, false);
  if (spec.is_discarded() || !spec.contains("process") || !spec["process"].is_object())
    return absl::InternalError(fmt::format("container {}: its spec has no process", container_id));
  std::lock_guard lock(mu_);
  if (auto found = containers_.find(container_id); found != containers_.end()) found->second->spec_process = spec["process"];
  return std::move(spec["process"]);
}

absl::StatusOr<json> Daemon::InspectExec(const std::string& id) {
  std::lock_guard lock(mu_);
  auto found = execs_.find(id);
  if (found == execs_.end()) return absl::NotFoundError(fmt::format("No such exec instance: {}", id));
  const ExecInstance& exec = *found->second;
  const json& config = exec.config;
  std::vector<std::string> cmd = config["Cmd"].get<std::vector<std::string>>();
  return json{{"ID", exec.id},
              {"Running", exec.running},
              {"ExitCode", exec.exit_code ? json(*exec.exit_code) : json(nullptr)},
              {"ProcessConfig",
               {{"tty", config.value("Tty", false)},
                {"entrypoint", cmd.front()},
                {"arguments", std::vector<std::string>(cmd.begin() + 1, cmd.end())},
                {"privileged", config.value("Privileged", false)},
                {"user", config.value("User", "")}}},
              {"OpenStdin", config.value("AttachStdin", false)},
              {"OpenStderr", config.value("AttachStderr", false)},
              {"OpenStdout", config.value("AttachStdout", false)},
              {"CanRemove", false},
              {"ContainerID", exec.container_id},
              {"DetachKeys", ""},
              {"Pid", exec.pid}};
}

absl::StatusOr<bool> Daemon::ExecTty(const std::string& id) {
  std::lock_guard lock(mu_);
  auto found = execs_.find(id);
  if (found == execs_.end()) return absl::NotFoundError(fmt::format("No such exec instance: {}", id));
  if (found->second->started)
    return absl::FailedPreconditionError(fmt::format("Error: Exec command {} is already running", id));
  return found->second->config.value("Tty", false);
}

absl::Status Daemon::ResizeExec(const std::string& id, uint32_t width, uint32_t height) {
  std::string container_id;
  {
    std::lock_guard lock(mu_);
    auto found = execs_.find(id);
    if (found == execs_.end()) return absl::NotFoundError(fmt::format("No such exec instance: {}", id));
    container_id = found->second->container_id;
  }
  return ResizeContainer(container_id, id, width, height);
}

std::shared_ptr<ExecWait> Daemon::WaitExecExit(const std::shared_ptr<ExecInstance>& exec) {
  auto wait = std::make_shared<ExecWait>();
  wait->context = client_->Context(std::nullopt, /*no_deadline=*/true);
  // The thread holds the ExecWait by address: whoever drops the last reference joins it first.
  wait->thread = std::thread([this, exec, wait = wait.get()] {
    tasks::WaitRequest request;
    request.set_container_id(exec->container_id);
    request.set_exec_id(exec->id);
    tasks::WaitResponse waited;
    grpc::Status status = client_->Tasks().Wait(wait->context.get(), request, &waited);
    if (status.ok()) wait->exit_code = static_cast<int64_t>(waited.exit_status());
  });
  return wait;
}

void Daemon::RecordExecExit(const std::shared_ptr<ExecInstance>& exec, int64_t exit_code) {
  std::lock_guard lock(mu_);
  exec->running = false;
  exec->exit_code = exit_code;
  if (auto found = containers_.find(exec->container_id); found != containers_.end())
    ContainerEventLocked(*found->second, "exec_die", {{"execID", exec->id}, {"exitCode", std::to_string(exit_code)}});
  changed_.notify_all();
}

void Daemon::FinishExec(const std::shared_ptr<ExecInstance>& exec, std::shared_ptr<ExecWait> wait) {
  int64_t exit_code = wait->Get();
  (void)ctr::DeleteProcess(*client_, exec->container_id, exec->id);
  RecordExecExit(exec, exit_code);
}

absl::StatusOr<std::shared_ptr<ExecWait>> Daemon::LaunchExec(const std::shared_ptr<ExecInstance>& exec,
                                                              const ctr::FifoSet* fifos, bool with_stdin) {
  const json& config = exec->config;
  bool tty = config.value("Tty", false);
  // The container's own process, with the exec's command, environment, user and terminal.
  LIMAN_ASSIGN_OR_RETURN(nlohmann::ordered_json process, SpecProcess(exec->container_id));
  process["terminal"] = tty;
  process.erase("consoleSize");
  process["args"] = config["Cmd"];
  std::vector<std::string> exec_env = StringList(config.value("Env", json()));
  std::vector<std::string> env = ctr::MergeEnv(process.value("env", std::vector<std::string>()), exec_env);
  process["env"] = env;
  if (std::string cwd = config.value("WorkingDir", ""); !cwd.empty()) process["cwd"] = cwd;
  if (std::string user = config.value("User", ""); !user.empty()) {
    // Looked up in the running container's own files, through its init's root.
    int64_t pid = 0;
    std::vector<std::string> container_env;
    {
      std::lock_guard lock(mu_);
      if (auto found = containers_.find(exec->container_id); found != containers_.end()) {
        pid = found->second->record["State"].value("Pid", int64_t{0});
        container_env = StringList(found->second->record["Config"].value("Env", json()));
      }
    }
    if (pid <= 0) return absl::FailedPreconditionError(fmt::format("container {} is not running", exec->container_id));
    LIMAN_ASSIGN_OR_RETURN(UniqueFd root, OpenProcessRoot(static_cast<pid_t>(pid)));
    // HOME follows the exec's user unless the exec or the container set it explicitly.
    if (!EnvSets(exec_env, "HOME") && !EnvSets(container_env, "HOME")) {
      std::erase_if(env, [](const std::string& entry) { return entry.starts_with("HOME="); });
      process["env"] = env;
    }
    LIMAN_RETURN_IF_ERROR(CompleteProcessUser(root.get(), user, {}, process));
  }
  if (config.value("Privileged", false)) {
    std::vector<std::string> all = AllCapabilities();
    process["capabilities"] = {{"bounding", all}, {"effective", all}, {"permitted", all}};
  }

  tasks::ExecProcessRequest request;
  request.set_container_id(exec->container_id);
  request.set_exec_id(exec->id);
  request.set_terminal(tty);
  request.mutable_spec()->set_type_url(kProcessTypeUrl);
  request.mutable_spec()->set_value(process.dump());
  if (fifos != nullptr) {
    if (with_stdin) request.set_stdin(fifos->stdin_path());
    request.set_stdout(fifos->stdout_path());
    request.set_stderr(fifos->stderr_path());
  }
  {
    google::protobuf::Empty empty;
    auto context = client_->Context();
    grpc::Status status = client_->Tasks().Exec(context.get(), request, &empty);
    if (!status.ok()) return ctr::CallError(status, fmt::format("exec in container {}", exec->container_id));
  }
  std::shared_ptr<ExecWait> wait = WaitExecExit(exec);
  tasks::StartRequest start;
  start.set_container_id(exec->container_id);
  start.set_exec_id(exec->id);
  tasks::StartResponse started;
  auto start_context = client_->Context();
  grpc::Status status = client_->Tasks().Start(start_context.get(), start, &started);
  if (!status.ok()) {
    // A process that never started never exits: the wait is ended here.
    wait->context->TryCancel();
    wait->Get();
    (void)ctr::DeleteProcess(*client_, exec->container_id, exec->id);
    return ctr::CallError(status, fmt::format("start exec in container {}", exec->container_id));
  }
  std::lock_guard lock(mu_);
  exec->running = true;
  exec->pid = started.pid();
  if (auto found = containers_.find(exec->container_id); found != containers_.end())
    ContainerEventLocked(*found->second, "exec_start: " + ExecCommandLine(*exec), {{"execID", exec->id}});
  return wait;
}

absl::Status Daemon::RunExec(const std::string& id, int conn, std::string buffered) {
  std::shared_ptr<ExecInstance> exec;
  {
    std::lock_guard lock(mu_);
    auto found = execs_.find(id);
    if (found == execs_.end()) return absl::NotFoundError(fmt::format("No such exec instance: {}", id));
    exec = found->second;
    if (exec->started) return absl::FailedPreconditionError(fmt::format("Error: Exec command {} is already running", id));
    exec->started = true;
  }
  auto record_failure = [&](const absl::Status& failure) {
    RecordExecExit(exec, 126);
    return failure;
  };
  const json& config = exec->config;
  bool tty = config.value("Tty", false);
  bool attach = conn >= 0;
  bool with_stdin = attach && config.value("AttachStdin", false);

  std::unique_ptr<ctr::FifoSet> fifos;
  std::unique_ptr<ctr::AttachedIo> io;
  if (attach) {
    absl::StatusOr<std::unique_ptr<ctr::FifoSet>> made =
        ctr::FifoSet::Create(options_.exec_root + "/execs", exec->id.substr(0, 24), tty);
    if (!made.ok()) return record_failure(made.status());
    fifos = std::move(*made);
    absl::StatusOr<std::unique_ptr<ctr::AttachedIo>> opened = ctr::AttachedIo::OpenOutputs(*fifos);
    if (!opened.ok()) return record_failure(opened.status());
    io = std::move(*opened);
  }
  absl::StatusOr<std::shared_ptr<ExecWait>> launched = LaunchExec(exec, fifos.get(), with_stdin);
  if (!launched.ok()) return record_failure(launched.status());
  std::shared_ptr<ExecWait> wait = *std::move(launched);
  if (!attach) {
    std::thread([this, exec, wait = std::move(wait)] { FinishExec(exec, wait); }).detach();
    return absl::OkStatus();
  }

  // stdin: the client's bytes into the FIFO; its half-close ends the process's stdin (CloseIO).
  std::atomic<bool> output_done{false};
  std::thread stdin_copier;
  if (with_stdin) {
    stdin_copier = std::thread([this, &fifos, &output_done, &buffered, conn, exec] {
      int fd = ::open(fifos->stdin_path().c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0) return;
      bool ok = buffered.empty() || ::write(fd, buffered.data(), buffered.size()) == static_cast<ssize_t>(buffered.size());
      char buffer[32768];
      while (ok) {
        ssize_t n = ::read(conn, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        ok = ::write(fd, buffer, static_cast<size_t>(n)) == n;
      }
      ::close(fd);
      if (output_done) return;
      tasks::CloseIORequest close;
      close.set_container_id(exec->container_id);
      close.set_exec_id(exec->id);
      close.set_stdin(true);
      google::protobuf::Empty empty;
      auto context = client_->Context();
      (void)client_->Tasks().CloseIO(context.get(), close, &empty);
    });
  }

  // Output until the shim closes both FIFOs (the process and its children are done with them).
  struct pollfd fds[2] = {{io->stdout_fd(), POLLIN, 0}, {tty ? -1 : io->stderr_fd(), POLLIN, 0}};
  int open_outputs = tty ? 1 : 2;
  bool client_there = true;
  char buffer[32768];
  while (open_outputs > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open_outputs;
        continue;
      }
      if (!client_there) continue;  // keep draining so the process never blocks on a full FIFO
      std::string_view data(buffer, static_cast<size_t>(n));
      if (tty) {
        client_there = SendAll(conn, data);
      } else {
        client_there = SendAll(conn, StreamFrame(i == 0 ? StreamId::kStdout : StreamId::kStderr, data));
      }
    }
  }
  // The exit code is known before the stream ends: the CLI asks for it right after. The process
  // is deleted from the task once the client has its answer.
  RecordExecExit(exec, wait->Get());
  output_done = true;
  ::shutdown(conn, SHUT_RDWR);
  if (stdin_copier.joinable()) stdin_copier.join();
  (void)ctr::DeleteProcess(*client_, exec->container_id, exec->id);
  return absl::OkStatus();
}

}  // namespace liman::engine
