// A real Server on its own thread's EventLoop, driven by blocking Clients over a unix socket.
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include "common/event_loop.h"
#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "fmt/format.h"
#include "common/ttrpc/client.h"
#include "common/ttrpc/frame.h"
#include "common/ttrpc/server.h"
#include "common/unix_socket.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "ttrpc/ttrpc.pb.h"

using namespace liman;
using namespace liman::ttrpc;

namespace {

constexpr char kService[] = "test.v1.Test";

// Handlers run on the server thread; the test thread only talks to it over sockets.
class TestServer {
 public:
  TestServer() {
    address_ = dir_ / "ttrpc.sock";
    auto loop = EventLoop::Create();
    REQUIRE(loop.ok());
    loop_ = std::move(*loop);
    server_ = std::make_unique<Server>(loop_.get());
    server_->RegisterUnary(kService, "Echo", [](const std::string& payload) -> absl::StatusOr<std::string> {
      return "echo:" + payload;
    });
    server_->RegisterUnary(kService, "Fail", [](const std::string& payload) -> absl::StatusOr<std::string> {
      return absl::NotFoundError(fmt::format("process {} not found", payload));
    });
    // Answers after `payload` milliseconds, from a timer: a deferred reply.
    server_->Register(kService, "Later", [this](Call& call) {
      Responder responder = call.responder;
      std::string payload = call.payload;
      loop_->AddTimer(absl::Milliseconds(std::stoi(payload)), [responder, payload] {
        responder.Reply("later:" + payload);
        responder.Reply("twice");  // ignored: at most one reply per call
      });
    });
    // Keeps the responder until "ReplyHeld": its caller may be gone by then.
    server_->Register(kService, "Hold", [this](Call& call) { held_.push_back(call.responder); });
    server_->RegisterUnary(kService, "ReplyHeld", [this](const std::string&) -> absl::StatusOr<std::string> {
      for (const Responder& responder : held_) responder.Reply("released");
      size_t count = held_.size();
      held_.clear();
      return std::to_string(count);
    });
    server_->RegisterUnary(kService, "Connections", [this](const std::string&) -> absl::StatusOr<std::string> {
      return std::to_string(server_->connection_count());
    });
    server_->Register(kService, "Metadata", [](Call& call) {
      std::string joined;
      for (const auto& [key, value] : call.metadata) joined += key + "=" + value + ";";
      call.responder.Reply(joined);
    });
    server_->RegisterMethod<containerd::task::v2::ConnectRequest, containerd::task::v2::ConnectResponse>(
        "containerd.task.v2.Task", "Connect",
        [](const containerd::task::v2::ConnectRequest& request) -> absl::StatusOr<containerd::task::v2::ConnectResponse> {
          if (request.id().empty()) return absl::InvalidArgumentError("id must not be empty");
          containerd::task::v2::ConnectResponse response;
          response.set_shim_pid(42);
          response.set_version(request.id());
          return response;
        });
    server_->RegisterUnary(kService, "Stop", [this](const std::string&) -> absl::StatusOr<std::string> {
      loop_->Stop();
      return std::string();
    });
    server_->SetAfterRequest([this] { ++after_request_calls_; });
    server_->RegisterUnary(kService, "AfterRequestCalls", [this](const std::string&) -> absl::StatusOr<std::string> {
      return std::to_string(after_request_calls_);
    });
    auto listener = ListenUnix(address_, 0600);
    REQUIRE(listener.ok());
    REQUIRE(server_->Serve(std::move(*listener)).ok());
    thread_ = std::thread([this] { run_status_ = loop_->Run(); });
  }

  ~TestServer() {
    if (auto client = Client::Connect(address_); client.ok()) (void)client->Call(kService, "Stop", "");
    thread_.join();
    server_.reset();
  }

  const std::string& address() const { return address_; }
  Client Connect() {
    auto client = Client::Connect("unix://" + address_);
    REQUIRE(client.ok());
    return std::move(*client);
  }

 private:
  test_support::TempDir dir_{"liman-ttrpc"};
  std::string address_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Server> server_;
  std::vector<Responder> held_;
  int after_request_calls_ = 0;
  absl::Status run_status_;
  std::thread thread_;
};

int ConnectionCount(Client& client) {
  auto count = client.Call(kService, "Connections", "");
  REQUIRE(count.ok());
  return std::stoi(*count);
}

}  // namespace

TEST_CASE("ttrpc unary call round trip") {
  TestServer server;
  Client client = server.Connect();
  auto reply = client.Call(kService, "Echo", "hello", absl::Seconds(5));
  REQUIRE(reply.ok());
  CHECK(*reply == "echo:hello");
  auto empty = client.Call(kService, "Echo", "");
  REQUIRE(empty.ok());
  CHECK(*empty == "echo:");
  std::string big(kMaxMessageSize - 1024, 'b');
  auto large = client.Call(kService, "Echo", big);
  REQUIRE(large.ok());
  CHECK(large->size() == big.size() + 5);
}

TEST_CASE("ttrpc typed methods parse and serialize protobuf messages") {
  TestServer server;
  Client client = server.Connect();
  containerd::task::v2::ConnectRequest request;
  request.set_id("c1");
  containerd::task::v2::ConnectResponse response;
  REQUIRE(client.Call("containerd.task.v2.Task", "Connect", request, &response).ok());
  CHECK(response.shim_pid() == 42);
  CHECK(response.version() == "c1");

  absl::Status invalid = client.Call("containerd.task.v2.Task", "Connect", containerd::task::v2::ConnectRequest(), &response);
  CHECK(invalid == absl::InvalidArgumentError("id must not be empty"));
  auto unparsable = client.Call("containerd.task.v2.Task", "Connect", std::string("\xff\xff\xff", 3));
  CHECK(unparsable.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ttrpc after-request hook runs after every handler") {
  TestServer server;
  Client client = server.Connect();
  for (int i = 0; i < 3; ++i) REQUIRE(client.Call(kService, "Echo", "x").ok());
  REQUIRE(!client.Call(kService, "Unknown", "x").ok());
  auto count = client.Call(kService, "AfterRequestCalls", "");
  REQUIRE(count.ok());
  CHECK(*count == "4");
}

TEST_CASE("ttrpc error statuses keep their code and message") {
  TestServer server;
  Client client = server.Connect();
  auto reply = client.Call(kService, "Fail", "7");
  CHECK(reply.status() == absl::NotFoundError("process 7 not found"));
}

TEST_CASE("ttrpc unknown service or method is Unimplemented, naming both") {
  TestServer server;
  Client client = server.Connect();
  auto method = client.Call(kService, "Nope", "");
  CHECK(method.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(method.status().message() == "ttrpc: service \"test.v1.Test\": unknown method \"Nope\"");
  auto service = client.Call("no.Such", "Echo", "");
  CHECK(service.status().code() == absl::StatusCode::kUnimplemented);
  CHECK(service.status().message() == "ttrpc: unknown service \"no.Such\" (method \"Echo\")");
  // The connection is still usable.
  CHECK(client.Call(kService, "Echo", "x").ok());
}

TEST_CASE("ttrpc deferred replies, pipelining and timeouts") {
  TestServer server;
  Client client = server.Connect();
  auto later = client.Call(kService, "Later", "30", absl::Seconds(5));
  REQUIRE(later.ok());
  CHECK(*later == "later:30");

  SECTION("pipelined calls are answered on their own streams") {
    auto slow = client.Send(kService, "Later", "50");
    auto fast = client.Send(kService, "Echo", "quick");
    REQUIRE(slow.ok());
    REQUIRE(fast.ok());
    CHECK(*slow % 2 == 1);
    CHECK(*fast == *slow + 2);
    // Echo answers first; the client wants the slow one first: only in-order reads are allowed.
    auto first = client.Receive(*slow);
    CHECK(first.status().code() == absl::StatusCode::kInternal);
  }
  SECTION("a timed-out call's late response is skipped by the next call") {
    auto timed_out = client.Call(kService, "Later", "200", absl::Milliseconds(20));
    CHECK(timed_out.status().code() == absl::StatusCode::kDeadlineExceeded);
    absl::SleepFor(absl::Milliseconds(250));
    auto next = client.Call(kService, "Echo", "after", absl::Seconds(5));
    REQUIRE(next.ok());
    CHECK(*next == "echo:after");
  }
}

TEST_CASE("ttrpc request metadata reaches the handler") {
  TestServer server;
  UniqueFd raw = *ConnectUnix(server.address());
  ::ttrpc::Request request;
  request.set_service(kService);
  request.set_method("Metadata");
  auto* pair = request.add_metadata();
  pair->set_key("k");
  pair->set_value("v");
  Frame frame;
  frame.stream_id = 1;
  frame.payload = request.SerializeAsString();
  REQUIRE(WriteFrame(raw.get(), frame).ok());
  auto reply = ReadFrame(raw.get(), absl::Now() + absl::Seconds(5));
  REQUIRE(reply.ok());
  ::ttrpc::Response response;
  REQUIRE(response.ParseFromString(reply->payload));
  CHECK(response.payload() == "k=v;");
  CHECK(reply->stream_id == 1);
  CHECK(reply->type == MessageType::kResponse);
}

TEST_CASE("ttrpc bad input is confined to its connection") {
  TestServer server;
  Client good = server.Connect();
  REQUIRE(good.Call(kService, "Echo", "before").ok());

  SECTION("unparsable Request gets an error Response on its stream") {
    UniqueFd raw = *ConnectUnix(server.address());
    Frame frame;
    frame.stream_id = 5;
    frame.payload = std::string("\xff\xff\xff\xff", 4);
    REQUIRE(WriteFrame(raw.get(), frame).ok());
    auto reply = ReadFrame(raw.get(), absl::Now() + absl::Seconds(5));
    REQUIRE(reply.ok());
    CHECK(reply->stream_id == 5);
    ::ttrpc::Response response;
    REQUIRE(response.ParseFromString(reply->payload));
    CHECK(response.status().code() == static_cast<int>(absl::StatusCode::kInvalidArgument));
  }
  SECTION("garbage bytes (an oversized length) close only that connection") {
    UniqueFd raw = *ConnectUnix(server.address());
    std::string garbage = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    REQUIRE(write(raw.get(), garbage.data(), garbage.size()) == static_cast<ssize_t>(garbage.size()));
    CHECK(ReadFrame(raw.get(), absl::Now() + absl::Seconds(5)).status().code() == absl::StatusCode::kUnavailable);
  }
  SECTION("a frame of the wrong type closes only that connection") {
    UniqueFd raw = *ConnectUnix(server.address());
    Frame frame;
    frame.stream_id = 1;
    frame.type = MessageType::kResponse;
    REQUIRE(WriteFrame(raw.get(), frame).ok());
    CHECK(ReadFrame(raw.get(), absl::Now() + absl::Seconds(5)).status().code() == absl::StatusCode::kUnavailable);
  }
  auto after = good.Call(kService, "Echo", "after", absl::Seconds(5));
  REQUIRE(after.ok());
  CHECK(*after == "echo:after");
  CHECK(ConnectionCount(good) == 1);
}

TEST_CASE("ttrpc responders of a closed connection become no-ops") {
  TestServer server;
  Client observer = server.Connect();
  {
    Client gone = server.Connect();
    REQUIRE(gone.Send(kService, "Hold", "").ok());
    REQUIRE(gone.Send(kService, "Hold", "").ok());
    CHECK(ConnectionCount(observer) == 2);  // "Hold" requests were read before this one
  }
  // The server notices EOF in its own time.
  int count = 0;
  for (int i = 0; i < 100 && (count = ConnectionCount(observer)) != 1; ++i) absl::SleepFor(absl::Milliseconds(10));
  CHECK(count == 1);
  auto released = observer.Call(kService, "ReplyHeld", "");
  REQUIRE(released.ok());
  CHECK(*released == "2");
  CHECK(observer.Call(kService, "Echo", "still").ok());
}

TEST_CASE("ttrpc many connections are served at once") {
  TestServer server;
  std::vector<Client> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(server.Connect());
  for (int i = 0; i < 20; ++i) REQUIRE(clients[i].Send(kService, "Later", "20").ok());
  for (int i = 0; i < 20; ++i) {
    auto reply = clients[i].Receive(1, absl::Now() + absl::Seconds(5));
    REQUIRE(reply.ok());
    CHECK(*reply == "later:20");
  }
}

TEST_CASE("ttrpc client connect failures are Unavailable") {
  auto client = Client::Connect("unix:///nonexistent/liman/ttrpc.sock");
  CHECK(client.status().code() == absl::StatusCode::kUnavailable);
  CHECK(client.status().message().find("/nonexistent/liman/ttrpc.sock") != absl::string_view::npos);
}
