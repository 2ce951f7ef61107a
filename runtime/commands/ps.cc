#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <sstream>

#include "common/status.h"
#include "fmt/format.h"
#include "runtime/cgroups/manager.h"
#include "runtime/commands/commands.h"

namespace liman::runtime {
namespace {

// Runs ps(1) with `args` and keeps the header plus the lines whose PID column is in `pids`,
// which is what `runc ps` prints.
absl::Status PrintPsTable(const std::vector<std::string>& args, const std::vector<pid_t>& pids) {
  int out[2];
  if (pipe(out) != 0) return ErrnoError("pipe");
  pid_t child = fork();
  if (child < 0) return ErrnoError("fork");
  if (child == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv = {const_cast<char*>("ps")};
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execvp("ps", argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return absl::InternalError(fmt::format("ps {} failed", fmt::join(args, " ")));
  std::istringstream lines(text);
  std::string header;
  std::getline(lines, header);
  std::istringstream header_fields(header);
  std::string field;
  int pid_column = -1;
  for (int i = 0; header_fields >> field; ++i)
    if (field == "PID") pid_column = i;
  if (pid_column < 0) return absl::InvalidArgumentError("ps output has no PID column");
  std::set<pid_t> wanted(pids.begin(), pids.end());
  fmt::print("{}\n", header);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    for (int i = 0; fields >> field; ++i) {
      if (i == pid_column) {
        if (wanted.count(static_cast<pid_t>(atoi(field.c_str())))) fmt::print("{}\n", line);
        break;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

void AddPsCommand(CLI::App& app, CommandContext& context) {
  auto id = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("table");
  auto ps_args = std::make_shared<std::vector<std::string>>();
  CLI::App* command = app.add_subcommand("ps", "list the processes of a container");
  command->add_option("container-id", *id)->required();
  command->add_option("ps-args", *ps_args, "arguments for ps(1) (default -ef)");
  command->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  command->callback([&context, id, format, ps_args] {
    auto state = context.store().Load(*id);
    if (!state.ok()) return context.Report(state.status());
    auto manager = cgroups::LoadManager(state->cgroup);
    if (!manager.ok()) return context.Report(manager.status());
    auto pids = (*manager)->Pids();
    if (!pids.ok()) return context.Report(pids.status());
    if (*format == "json") {
      fmt::print("{}\n", nlohmann::json(*pids).dump());
      return;
    }
    context.Report(PrintPsTable(ps_args->empty() ? std::vector<std::string>{"-ef"} : *ps_args, *pids));
  });
}

}  // namespace liman::runtime
