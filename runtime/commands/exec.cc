#include <sys/prctl.h>

#include <set>

#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/commands/commands.h"
#include "runtime/launcher.h"

namespace liman::runtime {
namespace {

struct ExecFlags {
  std::string process_file;
  std::string console_socket;
  std::string pid_file;
  std::string cwd;
  std::string user;
  std::vector<std::string> env;
  std::vector<std::string> caps;
  std::vector<uint32_t> additional_gids;
  std::string apparmor;
  std::string process_label;
  bool tty = false;
  bool detach = false;
  bool no_new_privs = false;
  int preserve_fds = 0;
};

// The process to run: --process FILE, or the init's process with args and flags applied (as
// runc builds it).
absl::StatusOr<oci::Process> BuildProcess(const ExecFlags& flags, const ContainerState& state,
                                         const std::vector<std::string>& args) {
  if (!flags.process_file.empty()) {
    LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(flags.process_file));
    auto process = oci::ParseProcess(text);
    if (!process.ok()) return Annotate(process.status(), Quote(flags.process_file));
    return *process;
  }
  if (args.empty()) return absl::InvalidArgumentError("exec: no command given (args or --process)");
  oci::Process process = state.config.process.value_or(oci::Process{});
  process.args = args;
  process.terminal = flags.tty;
  process.env.insert(process.env.end(), flags.env.begin(), flags.env.end());
  if (!flags.cwd.empty()) process.cwd = flags.cwd;
  if (process.cwd.empty()) process.cwd = "/";
  if (!flags.user.empty()) {
    size_t colon = flags.user.find(':');
    char* end = nullptr;
    std::string uid = flags.user.substr(0, colon);
    process.user.uid = static_cast<uint32_t>(strtoul(uid.c_str(), &end, 10));
    if (*end != '\0' || uid.empty()) return absl::InvalidArgumentError(fmt::format("--user {}: expected UID[:GID]", Quote(flags.user)));
    if (colon != std::string::npos) {
      std::string gid = flags.user.substr(colon + 1);
      process.user.gid = static_cast<uint32_t>(strtoul(gid.c_str(), &end, 10));
      if (*end != '\0' || gid.empty()) return absl::InvalidArgumentError(fmt::format("--user {}: expected UID[:GID]", Quote(flags.user)));
    }
  }
  if (!flags.additional_gids.empty()) process.user.additional_gids = flags.additional_gids;
  if (!flags.caps.empty()) {
    if (!process.capabilities) process.capabilities = oci::Capabilities{};
    for (auto* set : {&process.capabilities->bounding, &process.capabilities->effective,
                      &process.capabilities->permitted, &process.capabilities->ambient}) {
      if (!*set) *set = std::vector<std::string>{};
      for (const std::string& cap : flags.caps) (*set)->push_back(cap);
    }
  }
  if (flags.no_new_privs) process.no_new_privileges = true;
  if (!flags.apparmor.empty()) process.apparmor_profile = flags.apparmor;
  if (!flags.process_label.empty()) process.selinux_label = flags.process_label;
  return process;
}

}  // namespace

void AddExecCommand(CLI::App& app, CommandContext& context) {
  auto flags = std::make_shared<ExecFlags>();
  CLI::App* command = app.add_subcommand("exec", "run a process inside a running container");
  command->add_option("-p,--process", flags->process_file, "process.json to run");
  command->add_option("--console-socket", flags->console_socket);
  command->add_option("--pid-file", flags->pid_file);
  command->add_option("--cwd", flags->cwd);
  command->add_option("-u,--user", flags->user, "UID[:GID]");
  command->add_option("-e,--env", flags->env)->allow_extra_args(false);
  command->add_option("-c,--cap", flags->caps)->allow_extra_args(false);
  command->add_option("-g,--additional-gids", flags->additional_gids)->allow_extra_args(false);
  command->add_option("-a,--apparmor", flags->apparmor);
  command->add_option("--process-label", flags->process_label);
  command->add_option("--preserve-fds", flags->preserve_fds);
  command->add_flag("-t,--tty", flags->tty);
  command->add_flag("-d,--detach", flags->detach);
  command->add_flag("--no-new-privs", flags->no_new_privs);
  auto id_holder = std::make_shared<std::string>();
  command->add_option("container-id", *id_holder)->required();
  command->callback([&context, flags, id_holder] {
    if (absl::Status sealed = context.EnsureSealed(); !sealed.ok()) return context.Report(sealed);
    const std::string& id = *id_holder;
    std::vector<std::string> args = context.exec_args;
    if (!args.empty() && args[0] == "--") args.erase(args.begin());
    StateStore store = context.store();
    auto state = store.Load(id);
    if (!state.ok()) return context.Report(state.status());
    auto process = BuildProcess(*flags, *state, args);
    if (!process.ok()) return context.Report(process.status());
    if (!flags->detach) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    ExecOptions options{flags->pid_file, flags->console_socket, -1, flags->preserve_fds};
    auto pid = ExecInContainer(store, *state, *process, options);
    if (!pid.ok()) return context.Report(pid.status());
    if (!flags->detach) context.exit_code = WaitForwardingSignals(*pid);
  });
}

}  // namespace liman::runtime

namespace liman::runtime {

namespace {
const std::set<std::string>& GlobalValuedOptions() {
  static const std::set<std::string> kGlobalValued = {"--root", "--log", "--log-format", "--rootless", "--criu"};
  return kGlobalValued;
}

// The index of the first word after the global options (argc if none).
int VerbIndex(int argc, char** argv) {
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind('-', 0) != 0) break;
    if (GlobalValuedOptions().count(arg)) ++i;
  }
  return i;
}
}  // namespace

std::string FindVerb(int argc, char** argv) {
  int i = VerbIndex(argc, argv);
  return i < argc ? argv[i] : "";
}

std::vector<char*> SplitExecCommand(int argc, char** argv, std::vector<std::string>* command) {
  static const std::set<std::string> kExecValued = {"-p", "--process", "--console-socket", "--pid-file", "--cwd",
                                                    "-u", "--user", "-e", "--env", "-c", "--cap", "-g",
                                                    "--additional-gids", "-a", "--apparmor", "--process-label",
                                                    "--preserve-fds"};
  std::vector<char*> kept(argv, argv + argc);
  int i = VerbIndex(argc, argv);
  if (i >= argc || std::string(argv[i]) != "exec") return kept;
  for (++i; i < argc; ++i) {  // exec's own options, up to the container id
    std::string arg = argv[i];
    if (arg == "--") continue;
    if (arg.rfind('-', 0) != 0) break;
    if (kExecValued.count(arg)) ++i;
  }
  if (i >= argc) return kept;
  command->assign(argv + i + 1, argv + argc);
  kept.assign(argv, argv + i + 1);
  return kept;
}

}  // namespace liman::runtime
