// Docker's embedded DNS server for one container: UDP and TCP sockets on 127.0.0.11:53 made
// inside the container's network namespace (a socket stays in the namespace it was created
// in, wherever the process using it runs), served by a thread of limand's from the resolver it
// is given.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "engine/network/dns_message.h"

namespace liman::engine::network {

inline constexpr char kEmbeddedDnsAddress[] = "127.0.0.11";

class DnsServer {
 public:
  // Binds the sockets in the namespace at `netns_path` and starts serving.
  static absl::StatusOr<std::unique_ptr<DnsServer>> Start(const std::string& netns_path, DnsResolver resolver);
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
