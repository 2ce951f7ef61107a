#include "runtime/commands/commands.h"
#include "runtime/launcher.h"

namespace liman::runtime {

void AddCreateCommand(CLI::App& app, CommandContext& context) {
  auto options = std::make_shared<CreateOptions>();
  CLI::App* command = app.add_subcommand("create", "create a container");
  command->add_option("container-id", options->id, "container id")->required();
  command->add_option("-b,--bundle", options->bundle, "path to the bundle (default: current directory)");
  command->add_option("--pid-file", options->pid_file, "file to write the init's pid to");
  command->add_option("--console-socket", options->console_socket, "unix socket that receives the pty master");
  command->add_option("--preserve-fds", options->preserve_fds, "pass N extra fds (3…) to the container");
  command->add_flag("--no-pivot", options->no_pivot, "use MS_MOVE + chroot instead of pivot_root");
  command->add_flag("--no-new-keyring", options->no_new_keyring, "keep the caller's session keyring");
  command->callback([&context, options] {
    if (absl::Status sealed = context.EnsureSealed(); !sealed.ok()) return context.Report(sealed);
    auto bundle = ResolveBundle(options->bundle);
    if (!bundle.ok()) return context.Report(bundle.status());
    options->bundle = *bundle;
    context.Report(CreateContainer(context.store(), *options).status());
  });
}

}  // namespace liman::runtime
