// The embedded DNS server for real: in a network namespace of its own (root only), a UDP and a
// TCP query answered from the resolver, and the port free again once the server is gone;
// unknown names forwarded to an upstream resolver on the host's loopback, past one that is mute.
#include "engine/network/dns_server.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <poll.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/file_util.h"
#include "common/status.h"
#include "common/tests/temp_dir.h"
#include "common/unique_fd.h"
#include "engine/network/netns.h"
#include "fmt/format.h"

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

// Asks 127.0.0.11 in the current namespace over UDP; "" when no answer comes within 5 s.
std::string AskUdp(const std::string& query) {
  sockaddr_in address = DnsAddress();
  UniqueFd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  timeval timeout{5, 0};
  ::setsockopt(udp.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::sendto(udp.get(), query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
    return "";
  char buffer[512];
  ssize_t n = ::recv(udp.get(), buffer, sizeof buffer, 0);
  return n < 0 ? "" : std::string(buffer, static_cast<size_t>(n));
}

// The same over TCP; the answer without its length.
std::string AskTcp(const std::string& query) {
  sockaddr_in address = DnsAddress();
  UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval timeout{5, 0};
  ::setsockopt(tcp.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(tcp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return "";
  std::string framed{static_cast<char>(query.size() >> 8), static_cast<char>(query.size() & 0xff)};
  framed += query;
  if (::send(tcp.get(), framed.data(), framed.size(), MSG_NOSIGNAL) < 0) return "";
  char buffer[512];
  size_t got = 0;
  ssize_t n;
  while ((n = ::recv(tcp.get(), buffer + got, sizeof buffer - got, 0)) > 0) {
    got += static_cast<size_t>(n);
    size_t length = (static_cast<size_t>(static_cast<uint8_t>(buffer[0])) << 8) | static_cast<uint8_t>(buffer[1]);
    if (got >= 2 && got >= 2 + length) return std::string(buffer + 2, length);
  }
  return "";
}

// The last A record's address of an answer, as a.b.c.d.
std::string LastAddress(const std::string& answer) {
  if (answer.size() < 4) return "";
  const auto* bytes = reinterpret_cast<const uint8_t*>(answer.data() + answer.size() - 4);
  return fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
}

// A socket of `type` bound to 127.0.0.1:`port` (0: a free port, written back).
UniqueFd LoopbackSocket(int type, uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t size = sizeof address;
  REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &size) == 0);
  port = ntohs(address.sin_port);
  return fd;
}

// An upstream resolver on 127.0.0.1 (UDP and TCP on one port) that answers every A query with
// 192.0.2.7, until destroyed.
class FakeUpstream {
 public:
  FakeUpstream() {
    tcp_ = LoopbackSocket(SOCK_STREAM, port_);
    udp_ = LoopbackSocket(SOCK_DGRAM, port_);
    REQUIRE(::listen(tcp_.get(), 4) == 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeUpstream() {
    stopping_ = true;
    ::shutdown(udp_.get(), SHUT_RDWR);
    ::shutdown(tcp_.get(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int udp_queries() const { return udp_queries_; }
  int tcp_queries() const { return tcp_queries_; }

 private:
  static std::string Answer(std::string_view query) {
    absl::StatusOr<DnsQuery> parsed = ParseDnsQuery(query);
    return parsed.ok() ? BuildDnsResponse(*parsed, kDnsNoError, {0xc0000207}) : "";
  }
  void Serve() {
    while (!stopping_) {
      pollfd fds[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(fds, 2, 100) <= 0) continue;
      char buffer[512];
      if (fds[0].revents & POLLIN) {
        sockaddr_storage peer{};
        socklen_t peer_size = sizeof peer;
        ssize_t n = ::recvfrom(udp_.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &peer_size);
        if (n <= 0) continue;
        ++udp_queries_;
        std::string answer = Answer(std::string_view(buffer, static_cast<size_t>(n)));
        ::sendto(udp_.get(), answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
      }
      if (fds[1].revents & POLLIN) {
        UniqueFd client(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client.valid()) continue;
        ssize_t n = ::recv(client.get(), buffer, sizeof buffer, 0);
        if (n <= 2) continue;
        ++tcp_queries_;
        std::string answer = Answer(std::string_view(buffer + 2, static_cast<size_t>(n) - 2));
        std::string framed{static_cast<char>(answer.size() >> 8), static_cast<char>(answer.size() & 0xff)};
        framed += answer;
        ::send(client.get(), framed.data(), framed.size(), MSG_NOSIGNAL);
      }
    }
  }
  UniqueFd udp_, tcp_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> udp_queries_{0}, tcp_queries_{0};
  std::thread thread_;
};

// A network namespace of the test's own with lo up, removed at the end.
class TestNetns {
 public:
  TestNetns() {
    path_ = dir_ / "ns";
    REQUIRE(CreateNetns(path_).ok());
    REQUIRE(RunInNetns(path_, LoopbackUp).ok());
  }
  ~TestNetns() { (void)RemoveNetns(path_); }
  const std::string& path() const { return path_; }

 private:
  liman::test_support::TempDir dir_{"liman-dns-test"};
  std::string path_;
};

// The resolver of both tests: "web" only.
std::optional<std::vector<uint32_t>> WebOnly(const std::string& name) {
  if (name == "web") return std::vector<uint32_t>{0xac1c0005};
  return std::nullopt;
}

// A server on `ns`, retried while the one before it still lets go of the port.
absl::StatusOr<std::unique_ptr<DnsServer>> StartServer(const TestNetns& ns, std::vector<DnsUpstream> upstreams = {}) {
  absl::StatusOr<std::unique_ptr<DnsServer>> server;
  for (int attempt = 0; attempt < 50; ++attempt) {
    server = DnsServer::Start(ns.path(), WebOnly, upstreams);
    if (server.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return server;
}

TEST_CASE("the DNS server answers over UDP and TCP inside the namespace and lets go of its port") {
  if (::geteuid() != 0) {
    WARN("skipped: network namespaces need root");
    return;
  }
  TestNetns ns;
  absl::StatusOr<std::unique_ptr<DnsServer>> server = StartServer(ns);
  REQUIRE(server.ok());
  std::string udp_answer, tcp_answer;
  REQUIRE(RunInNetns(ns.path(), [&]() -> absl::Status {
            udp_answer = AskUdp(Query(0x4242, "web"));
            tcp_answer = AskTcp(Query(0x4343, "nope"));
            return absl::OkStatus();
          }).ok());
  REQUIRE(udp_answer.size() == 12 + 9 + 16);
  CHECK(static_cast<uint8_t>(udp_answer[0]) == 0x42);
  CHECK((static_cast<uint8_t>(udp_answer[3]) & 0xf) == kDnsNoError);
  CHECK(LastAddress(udp_answer) == "172.28.0.5");
  REQUIRE(tcp_answer.size() >= 12);
  CHECK(static_cast<uint8_t>(tcp_answer[0]) == 0x43);
  CHECK((static_cast<uint8_t>(tcp_answer[3]) & 0xf) == kDnsNxDomain);

  // Gone: its sockets close, so a new server can bind the same address.
  server->reset();
  absl::StatusOr<std::unique_ptr<DnsServer>> again = StartServer(ns);
  CHECK(again.ok());
}

TEST_CASE("unknown names go to the upstream resolvers from the host's namespace; SERVFAIL when none answers") {
  if (::geteuid() != 0) {
    WARN("skipped: network namespaces need root");
    return;
  }
  TestNetns ns;
  FakeUpstream upstream;
  // A mute upstream first: a bound UDP socket nobody reads, and a TCP port nobody listens on.
  uint16_t mute_port = 0;
  UniqueFd mute = LoopbackSocket(SOCK_DGRAM, mute_port);
  DnsUpstream silent{INADDR_LOOPBACK, mute_port};
  DnsUpstream answering{INADDR_LOOPBACK, upstream.port()};
  CHECK(ParseDnsUpstream("10.0.0.2")->address == 0x0a000002);
  CHECK_FALSE(ParseDnsUpstream("2001:db8::1").has_value());

  absl::StatusOr<std::unique_ptr<DnsServer>> server = StartServer(ns, {silent, answering});
  REQUIRE(server.ok());
  std::string local, udp_forwarded, tcp_forwarded;
  REQUIRE(RunInNetns(ns.path(), [&]() -> absl::Status {
            local = AskUdp(Query(0x1111, "web"));
            udp_forwarded = AskUdp(Query(0x2222, "outside"));
            tcp_forwarded = AskTcp(Query(0x3333, "outside"));
            return absl::OkStatus();
          }).ok());
  CHECK(LastAddress(local) == "172.28.0.5");
  REQUIRE(udp_forwarded.size() > 12);
  CHECK(static_cast<uint8_t>(udp_forwarded[1]) == 0x22);
  CHECK(LastAddress(udp_forwarded) == "192.0.2.7");
  REQUIRE(tcp_forwarded.size() > 12);
  CHECK(static_cast<uint8_t>(tcp_forwarded[1]) == 0x33);
  CHECK(LastAddress(tcp_forwarded) == "192.0.2.7");
  CHECK(upstream.udp_queries() == 1);  // the container's own names never leave limand
  CHECK(upstream.tcp_queries() == 1);
  server->reset();

  // Only the mute one: SERVFAIL once it has had its time.
  absl::StatusOr<std::unique_ptr<DnsServer>> lonely = StartServer(ns, {silent});
  REQUIRE(lonely.ok());
  std::string failed;
  REQUIRE(RunInNetns(ns.path(), [&]() -> absl::Status {
            failed = AskUdp(Query(0x4444, "outside"));
            return absl::OkStatus();
          }).ok());
  REQUIRE(failed.size() >= 12);
  CHECK((static_cast<uint8_t>(failed[3]) & 0xf) == kDnsServFail);
}

}  // namespace
}  // namespace liman::engine::network
