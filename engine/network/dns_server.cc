#include "engine/network/dns_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "common/logging.h"
#include "common/status.h"
#include "engine/network/netns.h"
#include "fmt/format.h"

namespace liman::engine::network {

namespace {

absl::StatusOr<UniqueFd> BoundSocket(int type) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return ErrnoError("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(53);
  ::inet_pton(AF_INET, kEmbeddedDnsAddress, &address.sin_addr);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    return ErrnoError(fmt::format("bind {} {}:53", type == SOCK_DGRAM ? "udp" : "tcp", kEmbeddedDnsAddress));
  if (type == SOCK_STREAM && ::listen(fd.get(), 16) != 0) return ErrnoError("listen");
  return fd;
}

// Reads exactly `size` bytes from a TCP client, waiting at most 2 s for each part: a client
// that stalls cannot hold the server up for long.
bool ReadFully(int fd, char* out, size_t size) {
  size_t done = 0;
  while (done < size) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return false;
    ssize_t n = ::read(fd, out + done, size - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool WriteFully(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 2000) <= 0) return false;
      continue;
    }
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// A DNS message over TCP: its 2-byte length first (RFC 1035 4.2.2).
std::string Framed(const std::string& message) {
  std::string framed{static_cast<char>(message.size() >> 8), static_cast<char>(message.size() & 0xff)};
  return framed + message;
}

// Reads one length-framed message; nullopt when the peer closes or stalls.
std::optional<std::string> ReadFramed(int fd) {
  unsigned char length[2];
  if (!ReadFully(fd, reinterpret_cast<char*>(length), 2)) return std::nullopt;
  std::string message((length[0] << 8) | length[1], '\0');
  if (!ReadFully(fd, message.data(), message.size())) return std::nullopt;
  return message;
}

// A socket connected to `upstream` (a connected UDP socket takes datagrams from it only), or
// an invalid fd when the connection is refused or not made within the forward timeout.
UniqueFd ConnectUpstream(const DnsUpstream& upstream, int type) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return fd;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(upstream.port);
  address.sin_addr.s_addr = htonl(upstream.address);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) return fd;
  if (errno != EINPROGRESS) return UniqueFd();
  pollfd p{fd.get(), POLLOUT, 0};
  int error = 0;
  socklen_t size = sizeof error;
  if (::poll(&p, 1, kDnsForwardTimeoutMs) <= 0 || ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0)
    return UniqueFd();
  return fd;
}

bool SameId(std::string_view query, std::string_view answer) {
  return query.size() >= 2 && answer.size() >= 2 && query.substr(0, 2) == answer.substr(0, 2);
}

// Asks the upstreams in turn; the first answer carrying the query's id is the answer.
std::optional<std::string> Forward(const std::string& query, const std::vector<DnsUpstream>& upstreams, bool tcp) {
  for (const DnsUpstream& upstream : upstreams) {
    UniqueFd fd = ConnectUpstream(upstream, tcp ? SOCK_STREAM : SOCK_DGRAM);
    if (!fd.valid()) continue;
    if (tcp) {
      if (!WriteFully(fd.get(), Framed(query))) continue;
      std::optional<std::string> answer = ReadFramed(fd.get());
      if (answer && SameId(query, *answer)) return answer;
      continue;
    }
    if (::send(fd.get(), query.data(), query.size(), MSG_NOSIGNAL) < 0) continue;
    std::string buffer(65535, '\0');
    for (pollfd p{fd.get(), POLLIN, 0}; ::poll(&p, 1, kDnsForwardTimeoutMs) > 0;) {
      ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) break;  // ECONNREFUSED: nobody listens there
      buffer.resize(static_cast<size_t>(n));
      if (SameId(query, buffer)) return buffer;
      buffer.assign(65535, '\0');  // a stray datagram: keep waiting
    }
  }
  return std::nullopt;
}

// One TCP connection: queries framed by a 2-byte length (RFC 1035 4.2.2), until the client
// closes or stalls.
void ServeTcpClient(UniqueFd client, const DnsResolver& resolver, const std::vector<DnsUpstream>& upstreams) {
  while (std::optional<std::string> query = ReadFramed(client.get())) {
    std::optional<std::string> answer = upstreams.empty() ? AnswerDnsQuery(*query, resolver)
                                                          : AnswerDnsQueryOrForward(*query, resolver);
    if (!answer) answer = Forward(*query, upstreams, /*tcp=*/true).value_or(ServerFailure(*query));
    if (answer->empty() || !WriteFully(client.get(), Framed(*answer))) return;
  }
}

// UDP queries are forwarded by threads of their own, so a slow upstream holds up no other
// query; past this many at once the answer is SERVFAIL at once.
constexpr int kMaxForwardsInFlight = 32;

void ForwardUdp(int udp, const sockaddr_storage& peer, socklen_t peer_size, std::string query,
                const std::vector<DnsUpstream>& upstreams, const std::shared_ptr<std::atomic<int>>& in_flight) {
  UniqueFd reply(::fcntl(udp, F_DUPFD_CLOEXEC, 0));  // the thread's own: the server may end first
  if (!reply.valid() || in_flight->fetch_add(1) >= kMaxForwardsInFlight) {
    in_flight->fetch_sub(1);
    std::string failure = ServerFailure(query);
    (void)::sendto(udp, failure.data(), failure.size(), 0, reinterpret_cast<const sockaddr*>(&peer), peer_size);
    return;
  }
  std::thread([reply = std::move(reply), peer, peer_size, query = std::move(query), upstreams, in_flight] {
    std::string answer = Forward(query, upstreams, /*tcp=*/false).value_or(ServerFailure(query));
    if (!answer.empty())
      (void)::sendto(reply.get(), answer.data(), answer.size(), 0, reinterpret_cast<const sockaddr*>(&peer), peer_size);
    in_flight->fetch_sub(1);
  }).detach();
}

void Serve(UniqueFd udp, UniqueFd tcp, UniqueFd stop, DnsResolver resolver, std::vector<DnsUpstream> upstreams) {
  auto in_flight = std::make_shared<std::atomic<int>>(0);
  pollfd fds[3] = {{udp.get(), POLLIN, 0}, {tcp.get(), POLLIN, 0}, {stop.get(), POLLIN, 0}};
  while (true) {
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      LogWarn("embedded DNS: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[2].revents != 0) return;
    if (fds[0].revents & POLLIN) {
      char buffer[1500];
      sockaddr_storage peer{};
      socklen_t peer_size = sizeof peer;
      ssize_t n = ::recvfrom(udp.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&peer), &peer_size);
      if (n > 0) {
        std::string_view query(buffer, static_cast<size_t>(n));
        std::optional<std::string> answer =
            upstreams.empty() ? AnswerDnsQuery(query, resolver) : AnswerDnsQueryOrForward(query, resolver);
        if (!answer) {
          ForwardUdp(udp.get(), peer, peer_size, std::string(query), upstreams, in_flight);
        } else if (!answer->empty()) {
          (void)::sendto(udp.get(), answer->data(), answer->size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
        }
      }
    }
    if (fds[1].revents & POLLIN) {
      UniqueFd client(::accept4(tcp.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (client.valid()) ServeTcpClient(std::move(client), resolver, upstreams);
    }
  }
}

}  // namespace

std::optional<DnsUpstream> ParseDnsUpstream(const std::string& text) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) return std::nullopt;
  return DnsUpstream{ntohl(address.s_addr), 53};
}

absl::StatusOr<std::unique_ptr<DnsServer>> DnsServer::Start(const std::string& netns_path, DnsResolver resolver,
                                                            std::vector<DnsUpstream> upstreams) {
  UniqueFd udp, tcp;
  LIMAN_RETURN_IF_ERROR(RunInNetns(netns_path, [&]() -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(udp, BoundSocket(SOCK_DGRAM));
    LIMAN_ASSIGN_OR_RETURN(tcp, BoundSocket(SOCK_STREAM));
    return absl::OkStatus();
  }));
  UniqueFd stop(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop.valid()) return ErrnoError("eventfd");
  UniqueFd thread_stop(::dup(stop.get()));  // the thread's own copy: it outlives this object
  if (!thread_stop.valid()) return ErrnoError("dup");
  // The thread is made here, on a thread in limand's own namespace: its upstream sockets are
  // the host's.
  std::thread(Serve, std::move(udp), std::move(tcp), std::move(thread_stop), std::move(resolver), std::move(upstreams))
      .detach();
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(stop)));
}

DnsServer::~DnsServer() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
}

}  // namespace liman::engine::network
