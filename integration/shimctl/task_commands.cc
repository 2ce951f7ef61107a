#include "integration/shimctl/task_commands.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/ttrpc/client.h"
#include "containerd/runtime/v2/runc/options/oci.pb.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "fmt/format.h"
#include "google/protobuf/empty.pb.h"
#include "integration/shimctl/connect.h"
#include "integration/shimctl/json_output.h"
#include "integration/shimctl/process_spec.h"
#include "integration/shimctl/signal_names.h"
#include "integration/shimctl/task_api.h"

namespace liman::shimctl {
namespace {

namespace task = containerd::task::v2;
using google::protobuf::Message;

constexpr size_t kAny = SIZE_MAX;

// One call within --timeout on a new connection.
absl::Status CallTask(const Invocation& inv, const std::string& method, const Message& request, Message* response) {
  LIMAN_ASSIGN_OR_RETURN(absl::Duration timeout, inv.Timeout());
  LIMAN_ASSIGN_OR_RETURN(ttrpc::Client client, ConnectShim(inv));
  return client.Call(kTaskService, method, request, response, timeout);
}

// Calls `method` and prints its response.
absl::Status CallAndPrint(const Invocation& inv, const std::string& method, const Message& request,
                          Message* response) {
  LIMAN_RETURN_IF_ERROR(CallTask(inv, method, request, response));
  return PrintMessage(*response, inv.Value("field"));
}

absl::StatusOr<uint32_t> ParseUint(const std::string& what, const std::string& text) {
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return absl::InvalidArgumentError(fmt::format("{} {}: not a number", what, Quote(text)));
  return value;
}

// Most requests are {id, exec_id}: fills them from --id and --exec-id.
template <typename Request>
absl::StatusOr<Request> IdRequest(const Invocation& inv) {
  Request request;
  LIMAN_ASSIGN_OR_RETURN(std::string id, inv.Required("id"));
  request.set_id(id);
  if constexpr (requires(Request r) { r.set_exec_id(std::string()); }) request.set_exec_id(inv.Value("exec-id"));
  return request;
}

template <typename Request, typename Response>
Command Simple(std::string name, std::string method, std::set<std::string> flags = {}) {
  std::string usage = flags.count("exec-id") ? "[--exec-id ID]" : "";
  return Command{CommandSpec{std::move(name), std::move(flags), {}, 0, 0, usage},
                 [method](const Invocation& inv) -> absl::Status {
                   LIMAN_ASSIGN_OR_RETURN(Request request, IdRequest<Request>(inv));
                   Response response;
                   return CallAndPrint(inv, method, request, &response);
                 }};
}

absl::Status Create(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::CreateTaskRequest request, IdRequest<task::CreateTaskRequest>(inv));
  LIMAN_ASSIGN_OR_RETURN(std::string bundle, inv.Required("bundle"));
  request.set_bundle(bundle);
  request.set_stdin(inv.Value("stdin"));
  request.set_stdout(inv.Value("stdout"));
  request.set_stderr(inv.Value("stderr"));
  request.set_terminal(inv.Bool("terminal"));
  if (inv.Has("runtime-binary") || inv.Has("runtime-root")) {
    containerd::runc::v1::Options options;
    options.set_binary_name(inv.Value("runtime-binary"));
    options.set_root(inv.Value("runtime-root"));
    request.mutable_options()->set_type_url(kRuncOptionsTypeUrl);
    request.mutable_options()->set_value(options.SerializeAsString());
  }
  task::CreateTaskResponse response;
  return CallAndPrint(inv, "Create", request, &response);
}

absl::Status Kill(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::KillRequest request, IdRequest<task::KillRequest>(inv));
  LIMAN_ASSIGN_OR_RETURN(int signal, ParseSignal(inv.args()[0]));
  request.set_signal(signal);
  request.set_all(inv.Bool("all"));
  google::protobuf::Empty response;
  return CallAndPrint(inv, "Kill", request, &response);
}

absl::Status CloseIO(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::CloseIORequest request, IdRequest<task::CloseIORequest>(inv));
  request.set_stdin(true);
  google::protobuf::Empty response;
  return CallAndPrint(inv, "CloseIO", request, &response);
}

absl::Status Resize(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::ResizePtyRequest request, IdRequest<task::ResizePtyRequest>(inv));
  LIMAN_ASSIGN_OR_RETURN(uint32_t width, ParseUint("width", inv.args()[0]));
  LIMAN_ASSIGN_OR_RETURN(uint32_t height, ParseUint("height", inv.args()[1]));
  request.set_width(width);
  request.set_height(height);
  google::protobuf::Empty response;
  return CallAndPrint(inv, "ResizePty", request, &response);
}

// The bundle whose config.json an exec starts from: --bundle, else the one the shim reports.
absl::StatusOr<std::string> ContainerBundle(const Invocation& inv) {
  if (inv.Has("bundle")) return inv.Required("bundle");
  LIMAN_ASSIGN_OR_RETURN(task::StateRequest request, IdRequest<task::StateRequest>(inv));
  request.clear_exec_id();
  task::StateResponse state;
  LIMAN_RETURN_IF_ERROR(CallTask(inv, "State", request, &state));
  return state.bundle();
}

absl::Status Exec(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::ExecProcessRequest request, IdRequest<task::ExecProcessRequest>(inv));
  // The exec id is sent as given, even empty: refusing a bad one is the shim's job under test.
  request.set_terminal(inv.Bool("terminal"));
  request.set_stdin(inv.Value("stdin"));
  request.set_stdout(inv.Value("stdout"));
  request.set_stderr(inv.Value("stderr"));
  if (inv.Has("spec")) {
    if (!inv.args().empty()) return absl::InvalidArgumentError("exec: give either --spec FILE or ARGS, not both");
    LIMAN_ASSIGN_OR_RETURN(*request.mutable_spec(), JsonFileAny(inv.Value("spec"), kProcessTypeUrl));
  } else {
    if (inv.args().empty()) return absl::InvalidArgumentError("exec: give --spec FILE or the command to run");
    LIMAN_ASSIGN_OR_RETURN(std::string bundle, ContainerBundle(inv));
    LIMAN_ASSIGN_OR_RETURN(*request.mutable_spec(),
                           ProcessFromConfig(JoinPath(bundle, "config.json"), inv.args(), inv.Bool("terminal")));
  }
  google::protobuf::Empty response;
  return CallAndPrint(inv, "Exec", request, &response);
}

absl::Status Update(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::UpdateTaskRequest request, IdRequest<task::UpdateTaskRequest>(inv));
  LIMAN_ASSIGN_OR_RETURN(*request.mutable_resources(), JsonFileAny(inv.args()[0], kResourcesTypeUrl));
  google::protobuf::Empty response;
  return CallAndPrint(inv, "Update", request, &response);
}

absl::Status Shutdown(const Invocation& inv) {
  LIMAN_ASSIGN_OR_RETURN(task::ShutdownRequest request, IdRequest<task::ShutdownRequest>(inv));
  request.set_now(inv.Bool("now"));
  LIMAN_ASSIGN_OR_RETURN(absl::Duration timeout, inv.Timeout());
  LIMAN_ASSIGN_OR_RETURN(ttrpc::Client client, ConnectShim(inv));
  google::protobuf::Empty response;
  absl::Status status = client.Call(kTaskService, "Shutdown", request, &response, timeout);
  // With now=true the shim may exit before its answer is read: the connection closing is the
  // shutdown having worked, as containerd takes it (ttrpc.ErrClosed); the test then checks that
  // the process is gone.
  if (status.code() == absl::StatusCode::kUnavailable && request.now()) status = absl::OkStatus();
  LIMAN_RETURN_IF_ERROR(status);
  return PrintMessage(response, inv.Value("field"));
}

}  // namespace

std::vector<Command> TaskCommands() {
  const std::set<std::string> exec_id = {"exec-id"};
  const std::set<std::string> stdio = {"stdin", "stdout", "stderr"};
  std::set<std::string> create_flags = {"bundle", "runtime-binary", "runtime-root"};
  create_flags.insert(stdio.begin(), stdio.end());
  std::set<std::string> exec_flags = {"exec-id", "spec", "bundle"};
  exec_flags.insert(stdio.begin(), stdio.end());
  return {
      {{"create", create_flags, {"terminal"}, 0, 0,
        "--id ID --bundle DIR [--stdin P] [--stdout P] [--stderr P] [--terminal] [--runtime-binary B] [--runtime-root R]"},
       Create},
      Simple<task::StartRequest, task::StartResponse>("start", "Start", exec_id),
      Simple<task::WaitRequest, task::WaitResponse>("wait", "Wait", exec_id),
      Simple<task::StateRequest, task::StateResponse>("state", "State", exec_id),
      Simple<task::DeleteRequest, task::DeleteResponse>("delete", "Delete", exec_id),
      {{"kill", exec_id, {"all"}, 1, 1, "[--exec-id ID] [--all] SIGNAL"}, Kill},
      {{"closeio", exec_id, {}, 0, 0, "[--exec-id ID]"}, CloseIO},
      {{"resize", exec_id, {}, 2, 2, "[--exec-id ID] WIDTH HEIGHT"}, Resize},
      {{"exec", exec_flags, {"terminal"}, 0, kAny,
        "--exec-id ID [--terminal] [--stdin P] [--stdout P] [--stderr P] (--spec PROCESS.json | [--bundle DIR] -- ARGS...)"},
       Exec},
      Simple<task::PidsRequest, task::PidsResponse>("pids", "Pids"),
      Simple<task::PauseRequest, google::protobuf::Empty>("pause", "Pause"),
      Simple<task::ResumeRequest, google::protobuf::Empty>("resume", "Resume"),
      {{"update", {}, {}, 1, 1, "RESOURCES.json"}, Update},
      Simple<task::StatsRequest, task::StatsResponse>("stats", "Stats"),
      Simple<task::ConnectRequest, task::ConnectResponse>("connect", "Connect"),
      {{"shutdown", {}, {"now"}, 0, 0, "[--now]"}, Shutdown},
  };
}

}  // namespace liman::shimctl
