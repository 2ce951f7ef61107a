// The files limand bind-mounts over a container's /etc/hosts and /etc/resolv.conf, as moby
// writes them: Docker's default hosts plus --add-host entries, and the host's resolv.conf with
// --dns, --dns-search and --dns-option replacing the lines of their kind.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace liman::engine {

// /etc/hosts: localhost and the IPv6 names, the container's own line when `address` is set,
// then each --add-host entry ("name:ip", or "name=ip" as docker 25+ writes it; the ip
// "host-gateway" is `host_gateway`, the default bridge's address). kInvalidArgument names a bad
// entry in Docker's words.
absl::StatusOr<std::string> HostsFile(const std::string& address, const std::string& hostname,
                                      const std::vector<std::string>& extra_hosts, const std::string& host_gateway);

struct DnsSettings {
  std::vector<std::string> servers;  // --dns
  std::vector<std::string> search;   // --dns-search ("." alone: no search domains)
  std::vector<std::string> options;  // --dns-option
};

// resolv.conf for a container with its own network: the host's (`host_resolv_conf`) without
// loopback name servers (moby's FilterResolvDNS; Google's servers when none is left), each kind
// of line replaced by the settings that name it. kInvalidArgument for a server that is not an
// IP address.
absl::StatusOr<std::string> ContainerResolvConf(const std::string& host_resolv_conf, const DnsSettings& dns);

// resolv.conf on a user-defined network: the embedded DNS server at `embedded_server`, search
// domains as above, and "options ndots:0" unless --dns-option sets ndots.
std::string EmbeddedDnsResolvConf(const std::string& host_resolv_conf, const DnsSettings& dns,
                                  const std::string& embedded_server);

// The servers the embedded DNS server forwards unknown names to (moby's ExtServers): --dns if
// given, else the host's name servers, loopback ones included (limand forwards from the host's
// namespace, where they answer).
std::vector<std::string> UpstreamNameservers(const std::string& host_resolv_conf, const DnsSettings& dns);

}  // namespace liman::engine
