#include "fmt/format.h"
#include "runtime/commands/commands.h"

namespace liman::runtime {

void AddListCommand(CLI::App& app, CommandContext& context) {
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand("list", "list containers");
  command->alias("ls");
  command->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  command->add_flag("-q,--quiet", *quiet, "print ids only");
  command->callback([&context, format, quiet] {
    StateStore store = context.store();
    auto ids = store.List();
    if (!ids.ok()) return context.Report(ids.status());
    nlohmann::json all = nlohmann::json::array();
    for (const std::string& id : *ids) {
      auto state = store.Load(id);
      if (state.ok()) all.push_back(OciState(*state, CurrentStatus(store, *state)));
    }
    if (*quiet) {
      for (const auto& entry : all) fmt::print("{}\n", entry["id"].get<std::string>());
    } else if (*format == "json") {
      fmt::print("{}\n", all.dump());
    } else {
      // The layout of runc's tabwriter: columns padded to the widest cell plus three spaces.
      std::vector<std::array<std::string, 6>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
      for (const auto& entry : all)
        rows.push_back({entry["id"], std::to_string(entry["pid"].get<int>()), entry["status"], entry["bundle"],
                        entry["created"], entry["owner"]});
      std::array<size_t, 6> widths{};
      for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
      for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i)
          line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}", row[i], widths[i] + 3);
        fmt::print("{}\n", line);
      }
    }
  });
}

}  // namespace liman::runtime
