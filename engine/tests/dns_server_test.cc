// The embedded DNS server for real: in a network namespace of its own (root only), a UDP and a
// TCP query answered from the resolver, and the port free again once the server is gone.
#include "engine/network/dns_server.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "engine/network/netns.h"

namespace liman::engine::network {
namespace {

std::string Query(uint16_t id, const std::string& name) {
  std::string packet{static_cast<char>(id >> 8), static_cast<char>(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  packet.push_back(static_cast<char>(name.size()));
  packet += name;
  packet += std::string("\0\0\x01\0\x01", 5);
  return packet;
}

sockaddr_in DnsAddress() {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(53);
  ::inet_pton(AF_INET, kEmbeddedDnsAddress, &address.sin_addr);
  return address;
}

// Brings lo up in the current (fresh) namespace: 127.0.0.11 is local only then.
absl::Status LoopbackUp() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::snprintf(request.ifr_name, sizeof request.ifr_name, "lo");
  if (::ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) return ErrnoError("SIOCGIFFLAGS lo");
  request.ifr_flags |= IFF_UP;
  if (::ioctl(fd.get(), SIOCSIFFLAGS, &request) != 0) return ErrnoError("SIOCSIFFLAGS lo");
  return absl::OkStatus();
}

TEST_CASE("the DNS server answers over UDP and TCP inside the namespace and lets go of its port") {
  if (::geteuid() != 0) {
    WARN("skipped: network namespaces need root");
    return;
  }
  char templ[] = "/tmp/liman-dns-test.XXXXXX";
  std::string dir = ::mkdtemp(templ);
  std::string ns = dir + "/ns";
  REQUIRE(CreateNetns(ns).ok());
  REQUIRE(RunInNetns(ns, LoopbackUp).ok());
  DnsResolver resolver = [](const std::string& name) -> std::optional<std::vector<uint32_t>> {
    if (name == "web") return std::vector<uint32_t>{0xac1c0005};
    return std::nullopt;
  };
  absl::StatusOr<std::unique_ptr<DnsServer>> server = DnsServer::Start(ns, resolver);
  REQUIRE(server.ok());

  std::string udp_answer, tcp_answer;
  REQUIRE(RunInNetns(ns, [&]() -> absl::Status {
            sockaddr_in address = DnsAddress();
            UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
            timeval timeout{2, 0};
            ::setsockopt(udp.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
            std::string query = Query(0x4242, "web");
            if (::sendto(udp.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
              return ErrnoError("sendto");
            char buffer[512];
            ssize_t n = ::recv(udp.get(), buffer, sizeof buffer, 0);
            if (n < 0) return ErrnoError("recv udp");
            udp_answer.assign(buffer, static_cast<size_t>(n));

            UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            ::setsockopt(tcp.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
            if (::connect(tcp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return ErrnoError("connect");
            std::string unknown = Query(0x4343, "nope");
            std::string framed{static_cast<char>(unknown.size() >> 8), static_cast<char>(unknown.size() & 0xff)};
            framed += unknown;
            if (::send(tcp.get(), framed.data(), framed.size(), MSG_NOSIGNAL) < 0) return ErrnoError("send tcp");
            size_t got = 0;
            while ((n = ::recv(tcp.get(), buffer + got, sizeof buffer - got, 0)) > 0) {
              got += static_cast<size_t>(n);
              size_t length = (static_cast<size_t>(static_cast<uint8_t>(buffer[0])) << 8) | static_cast<uint8_t>(buffer[1]);
              if (got >= 2 && got >= 2 + length) break;
            }
            tcp_answer.assign(buffer, got);
            return absl::OkStatus();
          }).ok());
  REQUIRE(udp_answer.size() == 12 + 9 + 16);
  CHECK(static_cast<uint8_t>(udp_answer[0]) == 0x42);
  CHECK((static_cast<uint8_t>(udp_answer[3]) & 0xf) == kDnsNoError);
  CHECK(static_cast<uint8_t>(udp_answer[udp_answer.size() - 4]) == 172);
  CHECK(static_cast<uint8_t>(udp_answer[udp_answer.size() - 1]) == 5);
  REQUIRE(tcp_answer.size() >= 2 + 12);
  CHECK(static_cast<uint8_t>(tcp_answer[2]) == 0x43);
  CHECK((static_cast<uint8_t>(tcp_answer[5]) & 0xf) == kDnsNxDomain);

  // Gone: its sockets close, so a new server can bind the same address.
  server->reset();
  absl::StatusOr<std::unique_ptr<DnsServer>> again;
  for (int attempt = 0; attempt < 50; ++attempt) {
    again = DnsServer::Start(ns, resolver);
    if (again.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(again.ok());
  again->reset();
  CHECK(RemoveNetns(ns).ok());
  (void)RemoveAll(dir);
}

}  // namespace
}  // namespace liman::engine::network
