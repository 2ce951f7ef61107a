#include "ctl/liman-ctr/command_split.h"

#include <map>

namespace liman::ctr {

namespace {
std::map<const CLI::App*, int>& CommandTakers() {
  static std::map<const CLI::App*, int> takers;
  return takers;
}
}  // namespace

void TakesCommandAfter(CLI::App* command, int positionals) { CommandTakers()[command] = positionals; }

std::vector<std::string> SeparateCommand(const CLI::App& app, std::vector<std::string> args) {
  const CLI::App* current = &app;
  int positionals = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      std::string name = word.substr(0, word.find('='));
      // An option of this command or of one it is under (CLI11 looks upwards for those too).
      for (const CLI::App* owner = current; owner != nullptr; owner = owner->get_parent()) {
        const CLI::Option* option = owner->get_option_no_throw(name);
        if (option == nullptr) continue;
        if (option->get_expected_max() > 0 && name == word) ++i;  // its value is the next word (flags expect none)
        break;
      }
      continue;
    }
    auto subcommands = current->get_subcommands([&](const CLI::App* sub) { return sub->check_name(word); });
    if (positionals == 0 && !subcommands.empty()) {
      current = subcommands.front();
      continue;
    }
    ++positionals;
    auto taker = CommandTakers().find(current);
    if (taker != CommandTakers().end() && positionals == taker->second) {
      if (i + 1 < args.size() && args[i + 1] != "--") args.insert(args.begin() + i + 1, "--");
      break;
    }
  }
  return args;
}

}  // namespace liman::ctr
