#include "engine/daemon/legacy_links.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"

namespace liman::engine {
namespace {

std::string EnvName(const std::string& entry) { return entry.substr(0, entry.find('=')); }

std::string EnvAlias(const std::string& alias) {
  std::string upper = absl::AsciiStrToUpper(alias);
  std::replace(upper.begin(), upper.end(), '-', '_');
  return upper;
}

struct Port {
  int number = 0;
  std::string proto;
};

}  // namespace

absl::StatusOr<LinkSpec> ParseLink(const std::string& text) {
  if (text.empty()) return absl::InvalidArgumentError("empty string specified for links");
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() > 2) return absl::InvalidArgumentError(fmt::format("bad format for links: {}", text));
  if (parts.size() == 1) return LinkSpec{text, text};
  if (parts[0].starts_with('/')) return LinkSpec{parts[0].substr(1), parts[1].substr(parts[1].rfind('/') + 1)};
  return LinkSpec{parts[0], parts[1]};
}

std::vector<std::string> LinkEnvironment(const LinkedContainer& link) {
  std::string alias = EnvAlias(link.alias);
  std::vector<Port> ports;
  for (const std::string& exposed : link.exposed_ports) {
    std::vector<std::string> parts = absl::StrSplit(exposed, '/');
    Port port{atoi(parts[0].c_str()), parts.size() > 1 ? absl::AsciiStrToLower(parts[1]) : "tcp"};
    if (port.number > 0) ports.push_back(port);
  }
  // moby's nat.Sort: by number, tcp before another protocol of the same number.
  std::sort(ports.begin(), ports.end(), [](const Port& a, const Port& b) {
    return a.number != b.number ? a.number < b.number : (a.proto == "tcp" && b.proto != "tcp");
  });
  std::vector<std::string> env;
  if (!ports.empty())
    env.push_back(fmt::format("{}_PORT={}://{}:{}", alias, ports[0].proto, link.address, ports[0].number));
  for (const Port& port : ports) {
    std::string prefix = fmt::format("{}_PORT_{}_{}", alias, port.number, absl::AsciiStrToUpper(port.proto));
    env.push_back(fmt::format("{}={}://{}:{}", prefix, port.proto, link.address, port.number));
    env.push_back(fmt::format("{}_ADDR={}", prefix, link.address));
    env.push_back(fmt::format("{}_PORT={}", prefix, port.number));
    env.push_back(fmt::format("{}_PROTO={}", prefix, port.proto));
  }
  env.push_back(fmt::format("{}_NAME={}", alias, link.link_name));
  for (const std::string& entry : link.env) {
    size_t equals = entry.find('=');
    if (equals == std::string::npos) continue;
    std::string name = entry.substr(0, equals);
    if (name == "HOME" || name == "PATH") continue;
    env.push_back(fmt::format("{}_ENV_{}", alias, entry));
  }
  return env;
}

std::vector<std::string> WithLinkEnvironment(const std::vector<std::string>& env, const std::vector<std::string>& own_env,
                                             const std::vector<std::string>& aliases,
                                             const std::vector<std::string>& link_env) {
  std::set<std::string> own;
  for (const std::string& entry : own_env) own.insert(EnvName(entry));
  auto from_a_link = [&](const std::string& name) {
    for (const std::string& alias : aliases) {
      std::string prefix = EnvAlias(alias) + "_";
      if (!name.starts_with(prefix)) continue;
      std::string rest = name.substr(prefix.size());
      if (rest == "NAME" || rest.starts_with("PORT") || rest.starts_with("ENV_")) return true;
    }
    return false;
  };
  std::vector<std::string> out;
  for (const std::string& entry : env)
    if (own.count(EnvName(entry)) || !from_a_link(EnvName(entry))) out.push_back(entry);
  for (const std::string& entry : link_env)
    if (!own.count(EnvName(entry))) out.push_back(entry);
  return out;
}

}  // namespace liman::engine
