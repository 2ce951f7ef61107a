// The client against a scripted server on a unix socket: chunked bodies, error answers with
// the daemon's message, a hijacked (101) connection, and a daemon that is not there.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <thread>

#include "common/tests/temp_dir.h"
#include "common/unix_socket.h"
#include "ctl/liman/engine_client.h"

using liman::cli::EngineClient;
using nlohmann::json;

namespace {

// Serves one connection: reads the request head (and body by Content-Length), writes `answer`,
// and for an upgrade echoes what comes after it.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer, bool echo = false) {
    path_ = dir_ / "s.sock";
    auto listener = liman::ListenUnix(path_);
    REQUIRE(listener.ok());
    listener_ = std::move(*listener);
    thread_ = std::thread([this, answer, echo] {
      int fd = accept(listener_.get(), nullptr, nullptr);
      if (fd < 0) return;
      std::string in;
      char buffer[4096];
      while (in.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        in.append(buffer, n);
      }
      request_ = in;
      (void)!write(fd, answer.data(), answer.size());
      if (echo) {
        ssize_t n;
        while ((n = read(fd, buffer, sizeof buffer)) > 0) (void)!write(fd, buffer, n);
      }
      close(fd);
    });
  }
  ~OneShotServer() {
    thread_.join();
  }
  std::string host() const { return "unix://" + path_; }
  const std::string& request() const { return request_; }

 private:
  liman::test_support::TempDir dir_{"liman-cli-test"};
  std::string path_, request_;
  liman::UniqueFd listener_;
  std::thread thread_;
};

std::string HexSize(size_t size) {
  char text[32];
  snprintf(text, sizeof text, "%zx", size);
  return text;
}

}  // namespace

TEST_CASE("a chunked JSON answer is de-chunked and parsed; the request names API 1.41") {
  std::string body = R"({"Id":"abc","Warnings":[]})";
  OneShotServer server("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                       std::string("5\r\n") + body.substr(0, 5) + "\r\n" +
                       HexSize(body.size() - 5) + "\r\n" + body.substr(5) + "\r\n0\r\n\r\n");
  EngineClient client(server.host());
  json request = {{"Image", "busybox"}};
  auto answer = client.Call("POST", "/containers/create?name=x", &request);
  REQUIRE(answer.ok());
  CHECK((*answer)["Id"] == "abc");
  CHECK(server.request().rfind("POST /v1.41/containers/create?name=x HTTP/1.1\r\n", 0) == 0);
}

TEST_CASE("an error answer carries the daemon's message and is marked as the daemon's") {
  std::string body = "{\"message\":\"No such container: nothere\"}\n";
  OneShotServer server("HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body);
  EngineClient client(server.host());
  auto answer = client.Call("GET", "/containers/nothere/json");
  REQUIRE_FALSE(answer.ok());
  CHECK(absl::IsNotFound(answer.status()));
  CHECK(answer.status().message() == "No such container: nothere");
  CHECK(liman::cli::FromDaemon(answer.status()));
}

TEST_CASE("a hijacked connection carries bytes both ways after the 101 head") {
  OneShotServer server("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                       "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nfirst", /*echo=*/true);
  EngineClient client(server.host());
  auto hijacked = client.Hijack("POST", "/containers/x/attach?stream=1", nullptr);
  REQUIRE(hijacked.ok());
  std::string seen = hijacked->buffered;
  REQUIRE(write(hijacked->fd.get(), "ping", 4) == 4);
  shutdown(hijacked->fd.get(), SHUT_WR);
  char buffer[64];
  ssize_t n;
  while ((n = read(hijacked->fd.get(), buffer, sizeof buffer)) > 0) seen.append(buffer, n);
  CHECK(seen == "firstping");
  CHECK(server.request().find("Upgrade: tcp\r\n") != std::string::npos);
}

TEST_CASE("no daemon: an error naming the socket") {
  EngineClient client("unix:///nonexistent/liman.sock");
  auto answer = client.Call("GET", "/_ping");
  REQUIRE_FALSE(answer.ok());
  CHECK(std::string(answer.status().message()).find("/nonexistent/liman.sock") != std::string::npos);
  EngineClient bad("ftp://x");
  CHECK(absl::IsInvalidArgument(bad.Call("GET", "/_ping").status()));
}

TEST_CASE("a malformed answer is an error, not a crash") {
  OneShotServer server("garbage that is no HTTP\r\n\r\n");
  EngineClient client(server.host());
  CHECK_FALSE(client.Call("GET", "/_ping").ok());
}
