// The HTTP server over a socketpair: keep-alive, chunked request bodies, Upgrade with the bytes
// sent after the request, malformed requests and oversized bodies, streamed request bodies.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "engine/http/http_server.h"

namespace liman::engine::http {
namespace {

// Runs the server on one end of a socketpair; returns the client end.
struct Harness {
  std::vector<HttpRequest> seen;
  std::vector<std::string> leftovers;
  std::thread thread;
  int client = -1;

  Harness(Handler handler, HttpServerOptions options = {}) {
    int pair[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    client = pair[0];
    auto server = std::make_shared<HttpServer>(std::move(handler), std::move(options));
    thread = std::thread([server, fd = pair[1]] { server->ServeConnection(UniqueFd(fd)); });
  }
  ~Harness() {
    ::close(client);
    thread.join();
  }
  void Send(std::string_view data) { REQUIRE(::write(client, data.data(), data.size()) == static_cast<ssize_t>(data.size())); }
  // Reads until `marker` has arrived (or EOF).
  std::string ReadUntil(std::string_view marker) {
    std::string got;
    char buffer[4096];
    while (got.find(marker) == std::string::npos) {
      ssize_t n = ::read(client, buffer, sizeof buffer);
      if (n <= 0) break;
      got.append(buffer, static_cast<size_t>(n));
    }
    return got;
  }
};

TEST_CASE("keep-alive requests, query decoding and a chunked body") {
  std::vector<HttpRequest> seen;
  Harness harness([&](Exchange& exchange) {
    seen.push_back(exchange.request);
    exchange.response.Reply(200, "text/plain", "body:" + exchange.request.body);
  });
  harness.Send("GET /v1.41/containers/json?all=1&filters=%7B%22a%22%3A1%7D HTTP/1.1\r\nHost: docker\r\n\r\n");
  std::string first = harness.ReadUntil("body:");
  CHECK(first.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(first.find("Content-Length: 5\r\n") != std::string::npos);
  harness.Send("POST /build HTTP/1.1\r\nHost: docker\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  std::string second = harness.ReadUntil("hello world");
  CHECK(second.find("body:hello world") != std::string::npos);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].path == "/v1.41/containers/json");
  CHECK(seen[0].QueryBool("all"));
  CHECK(seen[0].Query("filters") == "{\"a\":1}");
  CHECK(seen[0].Header("HOST") == "docker");
  CHECK(seen[1].method == "POST");
  CHECK(seen[1].body == "hello world");
}

TEST_CASE("an Upgrade request hands over the connection with the bytes sent after it") {
  std::string leftover_seen;
  std::string read_after;
  Harness harness([&](Exchange& exchange) {
    CHECK(exchange.request.upgrade);
    HijackedStream stream = exchange.response.Hijack("application/vnd.docker.raw-stream", exchange.leftover);
    leftover_seen = stream.buffered;
    char buffer[64];
    ssize_t n = ::read(stream.fd, buffer, sizeof buffer);
    if (n > 0) read_after.assign(buffer, static_cast<size_t>(n));
    ::write(stream.fd, "out", 3);
  });
  harness.Send("POST /containers/x/attach?stream=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly");
  std::string head = harness.ReadUntil("\r\n\r\n");
  CHECK(head.rfind("HTTP/1.1 101 UPGRADED\r\n", 0) == 0);
  CHECK(head.find("Upgrade: tcp\r\n") != std::string::npos);
  harness.Send("late");
  std::string rest = head.substr(head.find("\r\n\r\n") + 4) + harness.ReadUntil("out");
  CHECK(rest == "out");
  CHECK(leftover_seen == "early");
  CHECK(read_after == "late");
}

TEST_CASE("a streamed response is chunked and flushed as written") {
  Harness harness([&](Exchange& exchange) {
    exchange.response.StartStream(200, "application/json");
    exchange.response.Write("{\"a\":1}");
    exchange.response.End();
  });
  harness.Send("POST /containers/x/wait HTTP/1.1\r\nHost: d\r\n\r\n");
  std::string got = harness.ReadUntil("0\r\n\r\n");
  CHECK(got.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
  CHECK(got.find("\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n") != std::string::npos);
}

TEST_CASE("malformed requests and oversized bodies get 400 and 413 with a JSON message") {
  int calls = 0;
  {
    Harness harness([&](Exchange& exchange) { ++calls; });
    harness.Send("BLAH\x01 / HTTP/1.1\r\n\r\n");
    std::string got = harness.ReadUntil("}");
    CHECK(got.rfind("HTTP/1.1 400 Bad Request", 0) == 0);
    CHECK(got.find("{\"message\":\"malformed HTTP request: ") != std::string::npos);
  }
  {
    HttpServerOptions options;
    options.max_body_bytes = 10;
    Harness harness([&](Exchange& exchange) { ++calls; }, options);
    harness.Send("POST /containers/create HTTP/1.1\r\nContent-Length: 20\r\n\r\n01234567890123456789");
    std::string got = harness.ReadUntil("}");
    CHECK(got.rfind("HTTP/1.1 413 ", 0) == 0);
    CHECK(got.find("request body exceeds 10 bytes") != std::string::npos);
  }
  CHECK(calls == 0);
}

// Reads the whole streamed body (or the error that ends it) and answers with its size.
void ReadStreamedBody(Exchange& exchange, std::vector<std::string>& pieces, std::string& outcome) {
  REQUIRE(exchange.body_stream != nullptr);
  CHECK(exchange.request.body.empty());
  std::string body;
  for (;;) {
    absl::StatusOr<std::string_view> piece = exchange.body_stream->Next();
    if (!piece.ok()) {
      outcome = std::string(piece.status().message());
      exchange.response.Reply(400, "text/plain", "error");
      return;
    }
    if (piece->empty()) break;
    pieces.emplace_back(*piece);
    body.append(*piece);
  }
  outcome = body;
  exchange.response.Reply(200, "text/plain", "got:" + std::to_string(body.size()) + ";");
}

HttpServerOptions StreamingLoad(size_t max_body_bytes) {
  HttpServerOptions options;
  options.max_body_bytes = max_body_bytes;
  options.streams_body = [](const HttpRequest& request) { return request.path == "/images/load"; };
  return options;
}

TEST_CASE("a streamed request body arrives piece by piece, past the buffered limit, then keep-alive goes on") {
  std::vector<std::string> pieces;
  std::string outcome;
  std::vector<std::string> paths;
  Harness harness(
      [&](Exchange& exchange) {
        paths.push_back(exchange.request.path);
        if (exchange.request.path == "/images/load") {
          ReadStreamedBody(exchange, pieces, outcome);
        } else {
          CHECK(exchange.body_stream == nullptr);
          exchange.response.Reply(200, "text/plain", "plain:" + exchange.request.body + ";");
        }
      },
      StreamingLoad(10));

  // Content-Length, 300 KB against a limit of 10 bytes for buffered bodies.
  std::string big(300000, 'x');
  harness.Send("POST /images/load?quiet=1 HTTP/1.1\r\nContent-Length: 300000\r\n\r\n");
  harness.Send(big);
  CHECK(harness.ReadUntil(";").find("got:300000;") != std::string::npos);
  CHECK(outcome == big);
  CHECK(pieces.size() > 1);  // handed out as it came, not gathered first

  // Chunked, then an ordinary request on the same connection.
  harness.Send("POST /images/load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  CHECK(harness.ReadUntil(";").find("got:11;") != std::string::npos);
  CHECK(outcome == "hello world");
  harness.Send("POST /build HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  CHECK(harness.ReadUntil(";").find("plain:abc;") != std::string::npos);
  // An empty streamed body ends at once.
  harness.Send("POST /images/load HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  CHECK(harness.ReadUntil(";").find("got:0;") != std::string::npos);
  CHECK(paths == std::vector<std::string>{"/images/load", "/images/load", "/build", "/images/load"});
}

TEST_CASE("a streamed body cut short is an error for the handler; an Expect: 100-continue gets its go-ahead") {
  std::vector<std::string> pieces;
  std::string outcome;
  {
    Harness harness([&](Exchange& exchange) { ReadStreamedBody(exchange, pieces, outcome); }, StreamingLoad(10));
    harness.Send("POST /images/load HTTP/1.1\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
    CHECK(harness.ReadUntil("\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
    harness.Send("only part");
    ::shutdown(harness.client, SHUT_WR);
    CHECK(harness.ReadUntil("error").find("HTTP/1.1 400 ") == 0);
    CHECK(outcome == "the client closed the connection before the end of the request body");
  }
  {
    Harness harness([&](Exchange& exchange) { ReadStreamedBody(exchange, pieces, outcome); }, StreamingLoad(10));
    harness.Send("POST /images/load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n");
    CHECK(harness.ReadUntil("error").find("HTTP/1.1 400 ") == 0);
    CHECK(outcome.starts_with("malformed request body: "));
  }
}

// A handler that refuses a streamed body before its end, as the archive upload does.
Handler RefuseUnread() {
  return [](Exchange& exchange) { exchange.response.Reply(400, "text/plain", "refused;"); };
}

TEST_CASE("the rest of a body its handler did not read is dropped after the answer, within bounds") {
  HttpServerOptions options = StreamingLoad(10);
  options.max_unread_body_bytes = 1000;
  options.unread_body_idle_millis = 200;
  {
    // Dropped to its end, the connection goes on with the next request: the body's bytes are not
    // taken for one.
    Harness harness(RefuseUnread(), options);
    harness.Send("POST /images/load HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
    CHECK(harness.ReadUntil(";").find("HTTP/1.1 400 ") == 0);
    harness.Send("GET /");
    harness.Send("POST /images/load HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    std::string got = harness.ReadUntil(";");
    CHECK(got.find("HTTP/1.1 400 ") == 0);
    CHECK(got.find("refused;") != std::string::npos);
    CHECK(got.find("HTTP/1.1 404") == std::string::npos);
  }
  {
    // A client that stops sending half-way: the connection closes after the idle timeout.
    Harness harness(RefuseUnread(), options);
    harness.Send("POST /images/load HTTP/1.1\r\nContent-Length: 100\r\n\r\nsome");
    std::string got = harness.ReadUntil("\xff");  // everything until the server closes
    CHECK(got.find("refused;") != std::string::npos);
  }
  {
    // Past the byte bound: closed although the client is still sending.
    Harness harness(RefuseUnread(), options);
    harness.Send("POST /images/load HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
    harness.Send(std::string(4000, 'x'));
    std::string got = harness.ReadUntil("\xff");
    CHECK(got.find("refused;") != std::string::npos);
  }
  {
    // A client waiting for its 100 Continue never gets one after the answer, and is not waited for.
    Harness harness(RefuseUnread(), options);
    harness.Send("POST /images/load HTTP/1.1\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
    std::string got = harness.ReadUntil("\xff");
    CHECK(got.find("HTTP/1.1 400 ") == 0);
    CHECK(got.find("100 Continue") == std::string::npos);
  }
}

}  // namespace
}  // namespace liman::engine::http
