// `tasks ls|start|kill|exec|ps|rm|pause|resume|metrics` (aliases as ctr: t, task; list;
// delete, del, remove).
#include <signal.h>

#include "cgroups/v1/metrics.pb.h"
#include "cgroups/v2/metrics.pb.h"
#include "common/status.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/process.h"
#include "ctl/liman-ctr/run.h"
#include "ctl/liman-ctr/signals.h"
#include "ctl/liman-ctr/spec.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::ctr {
namespace {

namespace tasks = ::containerd::services::tasks::v1;
using ::containerd::v1::types::Status_Name;

constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";

absl::StatusOr<int> ListTasks(Client& client, bool quiet) {
  tasks::ListTasksRequest request;
  tasks::ListTasksResponse response;
  auto context = client.Context();
  grpc::Status status = client.Tasks().List(context.get(), request, &response);
  if (!status.ok()) return CallError(status, "list tasks");
  if (quiet) {
    std::string out;
    for (const auto& task : response.tasks()) out += task.id() + "\n";
    WriteOut(out);
    return 0;
  }
  TabWriter table(4, 8, 4, ' ');
  table.Write("TASK\tPID\tSTATUS\t\n");
  for (const auto& task : response.tasks())
    table.Write(fmt::format("{}\t{}\t{}\n", task.id(), task.pid(), Status_Name(task.status())));
  WriteOut(table.Flush());
  return 0;
}

// The container's stop signal label, as ctr's GetStopSignal (default SIGTERM).
absl::StatusOr<int> StopSignal(Client& client, const std::string& id) {
  LIMAN_ASSIGN_OR_RETURN(auto container, GetContainer(client, id));
  auto it = container.labels().find("io.containerd.image.config.stop-signal");
  if (it == container.labels().end()) return SIGTERM;
  return ParseSignal(it->second);
}

absl::StatusOr<int> Exec(Client& client, const std::string& id, const std::string& exec_id,
                         const std::vector<std::string>& args, bool tty, bool detach, const std::string& cwd,
                         const std::string& fifo_dir) {
  if (args.empty()) return absl::InvalidArgumentError("exec: no command given");
  LIMAN_ASSIGN_OR_RETURN(auto container, GetContainer(client, id));
  nlohmann::ordered_json spec = nlohmann::ordered_json::parse(container.spec().value(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object() || !spec.contains("process") || !spec["process"].is_object())
    return absl::FailedPreconditionError(fmt::format("container {}: its spec has no process", Quote(id)));
  nlohmann::ordered_json process = spec["process"];
  process["terminal"] = tty;
  process["args"] = args;
  if (!cwd.empty()) process["cwd"] = cwd;

  tasks::ExecProcessRequest request;
  request.set_container_id(id);
  request.set_exec_id(exec_id);
  request.set_terminal(tty && !detach);
  request.mutable_spec()->set_type_url(kProcessTypeUrl);
  request.mutable_spec()->set_value(process.dump());
  std::unique_ptr<FifoSet> fifos;
  std::unique_ptr<AttachedIo> io;
  if (!detach) {
    LIMAN_ASSIGN_OR_RETURN(fifos, FifoSet::Create(fifo_dir.empty() ? kDefaultFifoDir : fifo_dir, exec_id, tty));
    LIMAN_ASSIGN_OR_RETURN(io, AttachedIo::OpenOutputs(*fifos));
    request.set_stdin(fifos->stdin_path());
    request.set_stdout(fifos->stdout_path());
    request.set_stderr(fifos->stderr_path());
  }
  google::protobuf::Empty response;
  auto context = client.Context();
  grpc::Status status = client.Tasks().Exec(context.get(), request, &response);
  if (!status.ok()) return CallError(status, fmt::format("exec {} in {}", Quote(exec_id), Quote(id)));
  if (detach) {
    absl::Status started = StartProcess(client, id, exec_id);
    if (!started.ok()) (void)DeleteProcess(client, id, exec_id);
    LIMAN_RETURN_IF_ERROR(started);
    return 0;
  }
  AttachedProcess attached{id, exec_id, tty};
  absl::StatusOr<uint32_t> code = RunAttached(
      client, attached, *fifos, *io, [&] { return StartProcess(client, id, exec_id); },
      [&] { return DeleteProcess(client, id, exec_id).status(); });
  if (!code.ok()) {
    (void)KillProcess(client, id, exec_id, SIGKILL, false);
    (void)DeleteProcess(client, id, exec_id);
    return code.status();
  }
  return static_cast<int>(*code);
}

absl::StatusOr<int> ListPids(Client& client, const std::string& id) {
  tasks::ListPidsRequest request;
  request.set_container_id(id);
  tasks::ListPidsResponse response;
  auto context = client.Context();
  grpc::Status status = client.Tasks().ListPids(context.get(), request, &response);
  if (!status.ok()) return CallError(status, fmt::format("list pids of {}", Quote(id)));
  TabWriter table(1, 8, 4, ' ');
  table.Write("PID\tINFO\n");
  for (const auto& process : response.processes()) {
    std::string info = "-";
    ::containerd::runc::v1::ProcessDetails details;
    if (process.has_info() && UnpackAny(process.info(), &details))
      info = fmt::format("&ProcessDetails{{ExecID:{},XXX_unrecognized:[],}}", details.exec_id());
    table.Write(fmt::format("{}\t{}\n", process.pid(), info));
  }
  WriteOut(table.Flush());
  return 0;
}

// ctr tasks delete: a non-zero exit status of a deleted process is a warning on stderr, as
// ctr 1.6 prints it; the command itself succeeds.
absl::StatusOr<int> DeleteTasks(Client& client, const std::vector<std::string>& ids, const std::string& exec_id,
                                bool force) {
  absl::Status first;
  for (const std::string& id : ids) {
    if (force && exec_id.empty()) {
      tasks::GetRequest get;
      get.set_container_id(id);
      tasks::GetResponse task;
      auto context = client.Context();
      grpc::Status status = client.Tasks().Get(context.get(), get, &task);
      if (status.ok() && task.process().status() != ::containerd::v1::types::STOPPED &&
          task.process().status() != ::containerd::v1::types::CREATED) {
        (void)KillProcess(client, id, "", SIGKILL, true);
        tasks::WaitRequest wait;
        wait.set_container_id(id);
        tasks::WaitResponse waited;
        auto wait_context = client.Context();
        client.Tasks().Wait(wait_context.get(), wait, &waited);
      }
    }
    absl::StatusOr<uint32_t> status = DeleteProcess(client, id, exec_id);
    if (!status.ok()) {
      fmt::print(stderr, "liman-ctr: {}\n", status.status().message());
      if (first.ok()) first = status.status();
      continue;
    }
    if (*status != 0) fmt::print(stderr, "liman-ctr: task {} exit with non-zero exit code {}\n", id, *status);
  }
  if (!first.ok()) return absl::Status(first.code(), "unable to delete one or more tasks");
  return 0;
}

absl::StatusOr<int> Metrics(Client& client, const std::string& id) {
  tasks::MetricsRequest request;
  request.add_filters("id==" + id);
  tasks::MetricsResponse response;
  auto context = client.Context();
  grpc::Status status = client.Tasks().Metrics(context.get(), request, &response);
  if (!status.ok()) return CallError(status, fmt::format("metrics of {}", Quote(id)));
  if (response.metrics().empty()) return absl::NotFoundError(fmt::format("no metrics received for {}", id));
  const auto& metric = response.metrics(0);
  TabWriter table(1, 8, 4, ' ');
  table.Write("ID\tTIMESTAMP\t\n");
  table.Write(fmt::format("{}\t{}\t\n\n", metric.id(),
                          GoTimeString(metric.timestamp().seconds(), metric.timestamp().nanos())));
  ::io::containerd::cgroups::v1::Metrics v1;
  ::io::containerd::cgroups::v2::Metrics v2;
  table.Write("METRIC\tVALUE\t\n");
  if (UnpackAny(metric.data(), &v1)) {
    if (v1.has_memory()) {
      table.Write(fmt::format("memory.usage_in_bytes\t{}\t\n", v1.memory().usage().usage()));
      table.Write(fmt::format("memory.limit_in_bytes\t{}\t\n", v1.memory().usage().limit()));
      table.Write(fmt::format("memory.stat.cache\t{}\t\n", v1.memory().total_cache()));
    }
    if (v1.has_cpu()) {
      table.Write(fmt::format("cpuacct.usage\t{}\t\n", v1.cpu().usage().total()));
      std::string per_cpu;
      for (uint64_t v : v1.cpu().usage().per_cpu()) per_cpu += (per_cpu.empty() ? "" : " ") + std::to_string(v);
      table.Write(fmt::format("cpuacct.usage_percpu\t[{}]\t\n", per_cpu));
    }
    if (v1.has_pids()) {
      table.Write(fmt::format("pids.current\t{}\t\n", v1.pids().current()));
      table.Write(fmt::format("pids.limit\t{}\t\n", v1.pids().limit()));
    }
  } else if (UnpackAny(metric.data(), &v2)) {
    if (v2.has_pids()) {
      table.Write(fmt::format("pids.current\t{}\t\n", v2.pids().current()));
      table.Write(fmt::format("pids.limit\t{}\t\n", v2.pids().limit()));
    }
    if (v2.has_cpu()) {
      table.Write(fmt::format("cpu.usage_usec\t{}\t\n", v2.cpu().usage_usec()));
      table.Write(fmt::format("cpu.user_usec\t{}\t\n", v2.cpu().user_usec()));
      table.Write(fmt::format("cpu.system_usec\t{}\t\n", v2.cpu().system_usec()));
      table.Write(fmt::format("cpu.nr_periods\t{}\t\n", v2.cpu().nr_periods()));
      table.Write(fmt::format("cpu.nr_throttled\t{}\t\n", v2.cpu().nr_throttled()));
      table.Write(fmt::format("cpu.throttled_usec\t{}\t\n", v2.cpu().throttled_usec()));
    }
    if (v2.has_memory()) {
      table.Write(fmt::format("memory.usage\t{}\t\n", v2.memory().usage()));
      table.Write(fmt::format("memory.usage_limit\t{}\t\n", v2.memory().usage_limit()));
      table.Write(fmt::format("memory.swap_usage\t{}\t\n", v2.memory().swap_usage()));
      table.Write(fmt::format("memory.swap_limit\t{}\t\n", v2.memory().swap_limit()));
    }
  } else {
    return absl::InvalidArgumentError(
        fmt::format("cannot convert metric data of type {} to cgroups metrics", metric.data().type_url()));
  }
  WriteOut(table.Flush());
  return 0;
}

// A command taking one container id and calling one unary task RPC.
template <typename Request, typename Method>
void AddSimpleTaskCommand(CLI::App* group, CommandLine& line, const char* name, const char* help, const char* verb,
                          Method method) {
  auto id = std::make_shared<std::string>();
  CLI::App* command = group->add_subcommand(name, help);
  command->add_option("id", *id, "container id")->required();
  OnRun(command, line, [id, verb, method](Client& client) -> absl::StatusOr<int> {
    Request request;
    request.set_container_id(*id);
    google::protobuf::Empty empty;
    auto context = client.Context();
    grpc::Status status = (client.Tasks().*method)(context.get(), request, &empty);
    if (!status.ok()) return CallError(status, fmt::format("{} {}", verb, Quote(*id)));
    return 0;
  });
}

}  // namespace

void AddTasksCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("tasks", "manage tasks");
  group->alias("task")->alias("t")->require_subcommand(1);

  auto quiet = std::make_shared<bool>(false);
  CLI::App* list = group->add_subcommand("ls", "list tasks")->alias("list");
  list->add_flag("--quiet,-q", *quiet, "print only the task id");
  OnRun(list, line, [quiet](Client& client) { return ListTasks(client, *quiet); });

  struct StartOptions {
    std::string id;
    bool detach = false;
    bool null_io = false;
    std::string fifo_dir;
  };
  auto start_options = Options<StartOptions>();
  CLI::App* start = group->add_subcommand("start", "start a container that has been created");
  start->add_option("id", start_options->id, "container id")->required();
  start->add_flag("--detach,-d", start_options->detach, "detach from the task after it has started execution");
  start->add_flag("--null-io", start_options->null_io, "send all IO to /dev/null");
  start->add_option("--fifo-dir", start_options->fifo_dir, "directory for the stdio FIFOs");
  OnRun(start, line, [start_options](Client& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(auto container, GetContainer(client, start_options->id));
    TaskRunOptions options;
    options.detach = start_options->detach;
    options.null_io = start_options->null_io;
    options.terminal = SpecWantsTerminal(container);
    options.fifo_dir = start_options->fifo_dir;
    return CreateAndRunTask(client, container, options);
  }, /*attaches=*/true);

  struct KillOptions {
    std::string id;
    std::string signal;
    std::string exec_id;
    bool all = false;
  };
  auto kill_options = Options<KillOptions>();
  CLI::App* kill = group->add_subcommand("kill", "signal a container (default: SIGTERM)");
  kill->add_option("id", kill_options->id, "container id")->required();
  kill->add_option("--signal,-s", kill_options->signal, "signal to send (default: the container's stop signal)");
  kill->add_option("--exec-id", kill_options->exec_id, "process id to kill");
  kill->add_flag("--all,-a", kill_options->all, "send signal to all processes inside the container");
  OnRun(kill, line, [kill_options](Client& client) -> absl::StatusOr<int> {
    if (kill_options->all && !kill_options->exec_id.empty())
      return absl::InvalidArgumentError("specify an exec-id or all; not both");
    int signal = 0;
    if (kill_options->signal.empty()) {
      LIMAN_ASSIGN_OR_RETURN(signal, StopSignal(client, kill_options->id));
    } else {
      LIMAN_ASSIGN_OR_RETURN(signal, ParseSignal(kill_options->signal));
    }
    LIMAN_RETURN_IF_ERROR(KillProcess(client, kill_options->id, kill_options->exec_id, signal, kill_options->all));
    return 0;
  });

  struct ExecOptions {
    std::string id;
    std::vector<std::string> args;
    std::string exec_id;
    bool tty = false;
    bool detach = false;
    std::string cwd;
    std::string fifo_dir;
  };
  auto exec_options = Options<ExecOptions>();
  CLI::App* exec = group->add_subcommand("exec", "execute additional processes in an existing container");
  exec->add_option("id", exec_options->id, "container id")->required();
  exec->add_option("command", exec_options->args, "command and arguments")->required();
  TakesCommandAfter(exec, 1);
  exec->add_option("--exec-id", exec_options->exec_id, "exec specific id for the process")->required();
  exec->add_flag("--tty,-t", exec_options->tty, "allocate a TTY for the process");
  exec->add_flag("--detach,-d", exec_options->detach, "detach from the process after it has started execution");
  exec->add_option("--cwd", exec_options->cwd, "working directory of the new process");
  exec->add_option("--fifo-dir", exec_options->fifo_dir, "directory for the stdio FIFOs");
  OnRun(exec, line, [exec_options](Client& client) {
    return Exec(client, exec_options->id, exec_options->exec_id, exec_options->args,
                exec_options->tty, exec_options->detach, exec_options->cwd, exec_options->fifo_dir);
  }, /*attaches=*/true);

  auto ps_id = std::make_shared<std::string>();
  CLI::App* ps = group->add_subcommand("ps", "list processes for container");
  ps->add_option("id", *ps_id, "container id")->required();
  OnRun(ps, line, [ps_id](Client& client) { return ListPids(client, *ps_id); });

  struct DeleteOptions {
    std::vector<std::string> ids;
    std::string exec_id;
    bool force = false;
  };
  auto delete_options = Options<DeleteOptions>();
  CLI::App* remove = group->add_subcommand("rm", "delete one or more tasks")
                         ->alias("delete")->alias("del")->alias("remove");
  remove->add_option("ids", delete_options->ids, "container ids")->required();
  remove->add_option("--exec-id", delete_options->exec_id, "process id to delete");
  remove->add_flag("--force,-f", delete_options->force, "force delete task process");
  OnRun(remove, line, [delete_options](Client& client) {
    return DeleteTasks(client, delete_options->ids, delete_options->exec_id, delete_options->force);
  });

  AddSimpleTaskCommand<tasks::PauseTaskRequest>(group, line, "pause", "pause an existing container", "pause",
                                                &tasks::Tasks::Stub::Pause);
  AddSimpleTaskCommand<tasks::ResumeTaskRequest>(group, line, "resume", "resume a paused container", "resume",
                                                 &tasks::Tasks::Stub::Resume);

  auto metrics_id = std::make_shared<std::string>();
  CLI::App* metrics = group->add_subcommand("metrics", "get a single data point of metrics for a task")->alias("metric");
  metrics->add_option("id", *metrics_id, "container id")->required();
  OnRun(metrics, line, [metrics_id](Client& client) { return Metrics(client, *metrics_id); });
}

}  // namespace liman::ctr
