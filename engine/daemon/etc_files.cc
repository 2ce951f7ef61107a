#include "engine/daemon/etc_files.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"

namespace liman::engine {
namespace {

bool IsIpAddress(const std::string& text) {
  unsigned char buffer[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 || inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

// The host's resolv.conf by kind of line.
struct ResolvLines {
  std::vector<std::string> servers;  // addresses
  std::vector<std::string> search;   // whole "search"/"domain" lines
  std::vector<std::string> options;  // whole "options" lines
  std::vector<std::string> other;    // anything else but comments
};

ResolvLines SplitResolvConf(const std::string& text) {
  ResolvLines lines;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    std::string line(raw);
    std::vector<std::string> words = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.empty() || words[0][0] == '#' || words[0][0] == ';') continue;
    if (words[0] == "nameserver" && words.size() > 1) lines.servers.push_back(words[1]);
    else if (words[0] == "search" || words[0] == "domain") lines.search.push_back(line);
    else if (words[0] == "options") lines.options.push_back(line);
    else lines.other.push_back(line);
  }
  return lines;
}

// The search lines: --dns-search's (none for "."), else the host's.
std::vector<std::string> SearchLines(const ResolvLines& host, const DnsSettings& dns) {
  if (dns.search.empty()) return host.search;
  if (dns.search.size() == 1 && dns.search[0] == ".") return {};
  return {"search " + absl::StrJoin(dns.search, " ")};
}

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

}  // namespace

absl::StatusOr<std::string> HostsFile(const std::string& address, const std::string& hostname,
                                      const std::vector<std::string>& extra_hosts, const std::string& host_gateway) {
  std::string hosts =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  if (!address.empty()) hosts += address + "\t" + hostname + "\n";
  for (const std::string& entry : extra_hosts) {
    // "name=ip" first: an IPv6 address has colons of its own ("name:::1" splits at the first).
    size_t split = entry.find('=');
    if (split == std::string::npos) split = entry.find(':');
    std::string name = entry.substr(0, split == std::string::npos ? entry.size() : split);
    std::string ip = split == std::string::npos ? "" : entry.substr(split + 1);
    if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (ip == "host-gateway") {
      if (host_gateway.empty())
        return absl::InvalidArgumentError(fmt::format("unable to derive the IP value for host-gateway in add-host: {:?}", entry));
      ip = host_gateway;
    }
    if (name.empty() || split == std::string::npos)
      return absl::InvalidArgumentError(fmt::format("bad format for add-host: {:?}", entry));
    if (!IsIpAddress(ip)) return absl::InvalidArgumentError(fmt::format("invalid IP address in add-host: {:?}", ip));
    hosts += ip + "\t" + name + "\n";
  }
  return hosts;
}

absl::StatusOr<std::string> ContainerResolvConf(const std::string& host_resolv_conf, const DnsSettings& dns) {
  for (const std::string& server : dns.servers)
    if (!IsIpAddress(server)) return absl::InvalidArgumentError(fmt::format("{} is not an ip address", server));
  ResolvLines host = SplitResolvConf(host_resolv_conf);
  std::vector<std::string> servers = dns.servers;
  if (servers.empty()) {
    // Loopback servers mean nothing in the container's network namespace.
    std::copy_if(host.servers.begin(), host.servers.end(), std::back_inserter(servers), [](const std::string& server) {
      return !server.starts_with("127.") && server != "::1";
    });
    if (servers.empty()) servers = {"8.8.8.8", "8.8.4.4"};
  }
  std::string out;
  for (const std::string& server : servers) out += "nameserver " + server + "\n";
  out += Lines(SearchLines(host, dns));
  out += dns.options.empty() ? Lines(host.options) : "options " + absl::StrJoin(dns.options, " ") + "\n";
  return out + Lines(host.other);
}

std::string EmbeddedDnsResolvConf(const std::string& host_resolv_conf, const DnsSettings& dns,
                                  const std::string& embedded_server) {
  ResolvLines host = SplitResolvConf(host_resolv_conf);
  std::vector<std::string> options = dns.options;
  if (std::none_of(options.begin(), options.end(), [](const std::string& option) { return option.starts_with("ndots:"); }))
    options.push_back("ndots:0");
  return Lines(SearchLines(host, dns)) + fmt::format("nameserver {}\noptions {}\n", embedded_server, absl::StrJoin(options, " "));
}

std::vector<std::string> UpstreamNameservers(const std::string& host_resolv_conf, const DnsSettings& dns) {
  return dns.servers.empty() ? SplitResolvConf(host_resolv_conf).servers : dns.servers;
}

}  // namespace liman::engine
