#include "common/file_util.h"
#include "common/status.h"
#include "fmt/format.h"
#include "runtime/commands/commands.h"
#include "runtime/default_spec.h"

namespace liman::runtime {

void AddSpecCommand(CLI::App& app, CommandContext& context) {
  auto bundle = std::make_shared<std::string>();
  auto rootless = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("spec", "write a default config.json");
  command->add_option("-b,--bundle", *bundle, "directory to write config.json in (default: current)");
  command->add_flag("--rootless", *rootless, "a spec for a rootless container");
  command->callback([&context, bundle, rootless] {
    std::string path = JoinPath(bundle->empty() ? "." : *bundle, "config.json");
    if (PathExists(path))
      return context.Report(absl::AlreadyExistsError(fmt::format("File {} exists. Remove it first", path)));
    context.Report(WriteFileAtomic(path, oci::ToJson(DefaultSpec(*rootless)).dump(4) + "\n", 0644));
  });
}

}  // namespace liman::runtime
