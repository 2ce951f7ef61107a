#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/ttrpc/frame.h"
#include "fmt/format.h"
#include "common/ttrpc/status.h"
#include "common/unique_fd.h"

using namespace liman;
using namespace liman::ttrpc;

namespace {
std::pair<UniqueFd, UniqueFd> SocketPair() {
  int fds[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Frame MakeFrame(uint32_t stream_id, MessageType type, std::string payload) {
  Frame frame;
  frame.stream_id = stream_id;
  frame.type = type;
  frame.payload = std::move(payload);
  return frame;
}
}  // namespace

TEST_CASE("EncodeFrame writes ttrpc's big-endian 10-byte header") {
  Frame frame = MakeFrame(0x01020304, MessageType::kResponse, "abc");
  frame.flags = 0x5;
  std::string bytes = EncodeFrame(frame);
  CHECK(bytes == std::string("\x00\x00\x00\x03\x01\x02\x03\x04\x02\x05" "abc", 13));
}

TEST_CASE("FrameReader reassembles frames split at every byte and batched together") {
  std::string stream = EncodeFrame(MakeFrame(1, MessageType::kRequest, "first")) +
                       EncodeFrame(MakeFrame(3, MessageType::kRequest, "")) +
                       EncodeFrame(MakeFrame(5, MessageType::kData, std::string(1000, 'x')));
  SECTION("one byte at a time") {
    FrameReader reader;
    std::vector<Frame> frames;
    for (char c : stream) {
      reader.Append(std::string_view(&c, 1));
      while (true) {
        auto next = reader.Next();
        REQUIRE(next.ok());
        if (!next->has_value()) break;
        frames.push_back(std::move(**next));
      }
    }
    REQUIRE(frames.size() == 3);
    CHECK(frames[0].stream_id == 1);
    CHECK(frames[0].payload == "first");
    CHECK(frames[1].stream_id == 3);
    CHECK(frames[1].payload.empty());
    CHECK(frames[2].type == MessageType::kData);
    CHECK(frames[2].payload == std::string(1000, 'x'));
    CHECK(reader.buffered() == 0);
  }
  SECTION("all at once") {
    FrameReader reader;
    reader.Append(stream);
    for (uint32_t id : {1u, 3u, 5u}) {
      auto next = reader.Next();
      REQUIRE(next.ok());
      REQUIRE(next->has_value());
      CHECK((*next)->stream_id == id);
    }
    CHECK(!reader.Next()->has_value());
  }
}

TEST_CASE("FrameReader refuses a frame above 4 MiB from its header alone") {
  FrameReader reader;
  reader.Append(std::string("\x00\x40\x00\x01\x00\x00\x00\x01\x01\x00", 10));  // 4 MiB + 1
  auto next = reader.Next();
  REQUIRE(!next.ok());
  CHECK(next.status().code() == absl::StatusCode::kResourceExhausted);

  FrameReader exact;
  exact.Append(EncodeFrame(MakeFrame(1, MessageType::kRequest, std::string(kMaxMessageSize, 'a'))));
  auto max = exact.Next();
  REQUIRE(max.ok());
  CHECK(max->has_value());
}

TEST_CASE("WriteFrame and ReadFrame carry frames over a socket") {
  auto [a, b] = SocketPair();
  REQUIRE(WriteFrame(a.get(), MakeFrame(7, MessageType::kResponse, "payload")).ok());
  auto frame = ReadFrame(b.get(), absl::Now() + absl::Seconds(5));
  REQUIRE(frame.ok());
  CHECK(frame->stream_id == 7);
  CHECK(frame->type == MessageType::kResponse);
  CHECK(frame->payload == "payload");

  SECTION("deadline") {
    auto late = ReadFrame(b.get(), absl::Now() + absl::Milliseconds(20));
    CHECK(late.status().code() == absl::StatusCode::kDeadlineExceeded);
  }
  SECTION("EOF") {
    a.reset();
    auto eof = ReadFrame(b.get());
    CHECK(eof.status().code() == absl::StatusCode::kUnavailable);
  }
  SECTION("oversized") {
    CHECK(WriteFrame(a.get(), MakeFrame(9, MessageType::kRequest, std::string(kMaxMessageSize + 1, 'a'))).code() ==
          absl::StatusCode::kResourceExhausted);
    std::string header("\xff\xff\xff\xff\x00\x00\x00\x01\x01\x00", 10);
    REQUIRE(write(a.get(), header.data(), header.size()) == 10);
    CHECK(ReadFrame(b.get()).status().code() == absl::StatusCode::kResourceExhausted);
  }
  SECTION("a peer that went away is an error, not SIGPIPE") {
    b.reset();
    CHECK(WriteFrame(a.get(), MakeFrame(9, MessageType::kRequest, "x")).code() == absl::StatusCode::kUnavailable);
  }
}

TEST_CASE("google.rpc.Status keeps gRPC's codes and the message") {
  for (int code = 1; code <= 16; ++code) {
    absl::Status status(static_cast<absl::StatusCode>(code), fmt::format("message {}", code));
    google::rpc::Status proto = StatusToProto(status);
    CHECK(proto.code() == code);
    CHECK(StatusFromProto(proto) == status);
  }
  CHECK(StatusToProto(absl::NotFoundError("x")).code() == 5);  // grpc codes.NotFound
  CHECK(StatusToProto(absl::UnimplementedError("x")).code() == 12);
  CHECK(StatusFromProto(StatusToProto(absl::OkStatus())).ok());
  google::rpc::Status odd;
  odd.set_code(99);
  odd.set_message("strange");
  CHECK(StatusFromProto(odd) == absl::UnknownError("strange"));
}

TEST_CASE("ReadFrame with a FrameReader keeps a frame cut by the deadline for the next call") {
  auto [a, b] = SocketPair();
  std::string bytes = EncodeFrame(MakeFrame(3, MessageType::kResponse, "split payload")) +
                      EncodeFrame(MakeFrame(5, MessageType::kResponse, "next"));
  FrameReader reader;
  REQUIRE(write(a.get(), bytes.data(), 12) == 12);
  CHECK(ReadFrame(b.get(), reader, absl::Now() + absl::Milliseconds(20)).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  REQUIRE(write(a.get(), bytes.data() + 12, bytes.size() - 12) == static_cast<ssize_t>(bytes.size() - 12));
  auto first = ReadFrame(b.get(), reader, absl::Now() + absl::Seconds(5));
  REQUIRE(first.ok());
  CHECK(first->payload == "split payload");
  auto second = ReadFrame(b.get(), reader, absl::Now() + absl::Seconds(5));
  REQUIRE(second.ok());
  CHECK(second->stream_id == 5);
  a.reset();
  CHECK(ReadFrame(b.get(), reader, absl::InfiniteFuture()).status().code() == absl::StatusCode::kUnavailable);
}
