// Docker's legacy container links (`--link NAME[:ALIAS]`, moby's daemon/links and
// links/links.go), on the default bridge network: the linked container must run when this one
// starts; its address goes into this one's /etc/hosts under the alias, its hostname and name,
// and its exposed ports, name and environment into this one's environment (ALIAS_PORT…,
// ALIAS_NAME, ALIAS_ENV_…), where the container's own environment wins.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace liman::engine {

struct LinkSpec {
  std::string name;   // the linked container ("db")
  std::string alias;  // what this one calls it ("db" when not given)
};

// "db", "db:alias", or the form inspect shows and a re-created HostConfig carries,
// "/db:/web/alias" (opts.ParseLink).
absl::StatusOr<LinkSpec> ParseLink(const std::string& text);

// What a linked container gives: its address, exposed ports ("80/tcp"), Config.Env.
struct LinkedContainer {
  std::string link_name;  // "/web/db": this container's name and the alias
  std::string alias;
  std::string address;
  std::vector<std::string> exposed_ports;
  std::vector<std::string> env;
};

// The variables of one link, in moby's order: ALIAS_PORT (the lowest port, tcp first), then for
// each port ALIAS_PORT_80_TCP, _ADDR, _PORT, _PROTO, then ALIAS_NAME and ALIAS_ENV_<each
// variable but HOME and PATH>. ALIAS is upper case with "-" as "_". (moby also names runs of
// consecutive ports with _START and _END variables; those are left out.)
std::vector<std::string> LinkEnvironment(const LinkedContainer& link);

// `env` (the spec's process environment) with the variables of earlier starts' links taken out
// and those of `links` added, except where `own_env` (Config.Env) sets the same name.
std::vector<std::string> WithLinkEnvironment(const std::vector<std::string>& env, const std::vector<std::string>& own_env,
                                             const std::vector<std::string>& aliases,
                                             const std::vector<std::string>& link_env);

}  // namespace liman::engine
