// Docker's embedded DNS server for one container: UDP and TCP sockets on 127.0.0.11:53 made
// inside the container's network namespace (a socket stays in the namespace it was created
// in, wherever the process using it runs), served by a thread of limand's from the resolver it
// is given. Names the resolver does not know are passed on to the upstream resolvers, from
// limand's own (the host's) network namespace, so a resolver on the host's loopback (such as
// systemd-resolved's 127.0.0.53) serves containers too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "engine/network/dns_message.h"

namespace liman::engine::network {

inline constexpr char kEmbeddedDnsAddress[] = "127.0.0.11";

// A resolver queries are forwarded to.
struct DnsUpstream {
  uint32_t address = 0;  // IPv4, host order
  uint16_t port = 53;
};

// "a.b.c.d" as an upstream on port 53; nullopt for anything else (IPv6 servers are not
// forwarded to).
std::optional<DnsUpstream> ParseDnsUpstream(const std::string& text);

// How long one upstream has to answer before the next is asked (SERVFAIL after the last).
inline constexpr int kDnsForwardTimeoutMs = 2000;

class DnsServer {
 public:
  // Binds the sockets in the namespace at `netns_path` and starts serving; with no
  // `upstreams`, unknown names are NXDOMAIN.
  static absl::StatusOr<std::unique_ptr<DnsServer>> Start(const std::string& netns_path, DnsResolver resolver,
                                                          std::vector<DnsUpstream> upstreams = {});
  // Tells the thread to close the sockets and end. It is not joined: it may be waiting for the
  // resolver, whose lock the caller may hold.
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

 private:
  explicit DnsServer(UniqueFd stop) : stop_(std::move(stop)) {}
  UniqueFd stop_;  // an eventfd the thread polls
};

}  // namespace liman::engine::network
