#include "engine/network/dns_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

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

// One TCP connection: queries framed by a 2-byte length (RFC 1035 4.2.2), until the client
// closes or stalls.
void ServeTcpClient(UniqueFd client, const DnsResolver& resolver) {
  while (true) {
    unsigned char length[2];
    if (!ReadFully(client.get(), reinterpret_cast<char*>(length), 2)) return;
    std::string query((length[0] << 8) | length[1], '\0');
    if (!ReadFully(client.get(), query.data(), query.size())) return;
    std::string answer = AnswerDnsQuery(query, resolver);
    if (answer.empty()) return;
    std::string framed;
    framed.push_back(static_cast<char>(answer.size() >> 8));
    framed.push_back(static_cast<char>(answer.size() & 0xff));
    framed += answer;
    if (!WriteFully(client.get(), framed)) return;
  }
}

void Serve(UniqueFd udp, UniqueFd tcp, UniqueFd stop, DnsResolver resolver) {
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
        std::string answer = AnswerDnsQuery(std::string_view(buffer, static_cast<size_t>(n)), resolver);
        if (!answer.empty())
          (void)::sendto(udp.get(), answer.data(), answer.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_size);
      }
    }
    if (fds[1].revents & POLLIN) {
      UniqueFd client(::accept4(tcp.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (client.valid()) ServeTcpClient(std::move(client), resolver);
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<DnsServer>> DnsServer::Start(const std::string& netns_path, DnsResolver resolver) {
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
  std::thread(Serve, std::move(udp), std::move(tcp), std::move(thread_stop), std::move(resolver)).detach();
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(stop)));
}

DnsServer::~DnsServer() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
}

}  // namespace liman::engine::network
