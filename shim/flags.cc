#include "shim/flags.h"

#include <unistd.h>

#include <string_view>

#include "common/file_util.h"
#include "common/sha256.h"
#include "common/status.h"
#include "fmt/format.h"

namespace liman::shim {

absl::StatusOr<ShimFlags> ParseShimFlags(const std::vector<std::string>& args) {
  ShimFlags flags;
  struct StringFlag {
    std::string_view name;
    std::string* value;
  };
  const StringFlag string_flags[] = {
      {"namespace", &flags.namespace_name}, {"id", &flags.id},
      {"address", &flags.address},          {"publish-binary", &flags.publish_binary},
      {"bundle", &flags.bundle},            {"socket-dir", &flags.socket_dir},
  };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (!arg.starts_with('-') || arg == "-") {
      if (!flags.action.empty()) return absl::InvalidArgumentError(fmt::format("unexpected argument {}", Quote(arg)));
      flags.action = std::string(arg);
      continue;
    }
    // Go's flag package: -name, --name, -name=value or -name value.
    arg.remove_prefix(arg.starts_with("--") ? 2 : 1);
    std::string_view name = arg.substr(0, arg.find('='));
    std::optional<std::string> inline_value;
    if (name.size() < arg.size()) inline_value = std::string(arg.substr(name.size() + 1));
    if (name == "debug" || name == "v" || name == "version") {
      bool value = !inline_value || *inline_value == "true" || *inline_value == "1";
      (name == "debug" ? flags.debug : flags.version) = value;
      continue;
    }
    const StringFlag* match = nullptr;
    for (const StringFlag& flag : string_flags)
      if (flag.name == name) match = &flag;
    if (match == nullptr)
      return absl::InvalidArgumentError(fmt::format("flag provided but not defined: -{}", name));
    if (inline_value) {
      *match->value = *inline_value;
    } else if (i + 1 < args.size()) {
      *match->value = args[++i];
    } else {
      return absl::InvalidArgumentError(fmt::format("flag needs an argument: -{}", name));
    }
  }
  if (flags.version) return flags;
  if (flags.namespace_name.empty()) return absl::InvalidArgumentError("shim namespace cannot be empty (-namespace)");
  if (flags.id.empty() && flags.action != "") return absl::InvalidArgumentError("shim id cannot be empty (-id)");
  if (flags.bundle.empty()) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) return ErrnoError("getcwd");
    flags.bundle = cwd;
  }
  if (flags.socket_dir.empty()) {
    std::string address = flags.address;
    if (address.starts_with("unix://")) address.erase(0, 7);
    size_t slash = address.rfind('/');
    std::string base = slash == std::string::npos || slash == 0 ? "/run/liman" : address.substr(0, slash);
    flags.socket_dir = JoinPath(base, "s");
  }
  return flags;
}

std::string ShimSocketPath(const ShimFlags& flags) {
  return JoinPath(flags.socket_dir,
                  Sha256Hex(fmt::format("{}/{}/{}", flags.address, flags.namespace_name, flags.id)));
}

}  // namespace liman::shim
