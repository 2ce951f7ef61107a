// liman-fake-dns ADDRESS ANSWER: a stand-in upstream name server for the engine's tests. It
// answers every A query that reaches ADDRESS:53 (UDP) with ANSWER and prints each name asked,
// so a test can see which queries limand forwarded, without any traffic leaving the machine.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "engine/network/dns_message.h"

int main(int argc, char** argv) {
  using namespace liman::engine::network;
  in_addr listen_address{}, answer{};
  if (argc != 3 || ::inet_pton(AF_INET, argv[1], &listen_address) != 1 || ::inet_pton(AF_INET, argv[2], &answer) != 1) {
    std::fprintf(stderr, "usage: liman-fake-dns LISTEN-IPV4 ANSWER-IPV4\n");
    return 2;
  }
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(53);
  address.sin_addr = listen_address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::fprintf(stderr, "liman-fake-dns: bind %s:53: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  std::printf("listening\n");
  std::fflush(stdout);
  while (true) {
    char buffer[1500];
    sockaddr_storage peer{};
    socklen_t peer_size = sizeof peer;
    ssize_t n = ::recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &peer_size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    absl::StatusOr<DnsQuery> query = ParseDnsQuery(std::string_view(buffer, static_cast<size_t>(n)));
    if (!query.ok()) continue;
    std::printf("%s %u\n", query->name.c_str(), query->type);
    std::fflush(stdout);
    std::vector<uint32_t> addresses;
    if (query->type == kDnsTypeA) addresses.push_back(ntohl(answer.s_addr));
    std::string reply = BuildDnsResponse(*query, kDnsNoError, addresses);
    (void)::sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
  }
}
