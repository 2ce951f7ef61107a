#include "containerd/remotes/byte_pipe.h"

#include <catch2/catch.hpp>
#include <string>
#include <thread>

namespace liman::containerd::remotes {
namespace {

std::string Pattern(size_t n) {
  std::string data(n, '\0');
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return data;
}

absl::StatusOr<std::string> ReadAll(archive::ByteSource& source, size_t chunk) {
  std::string out;
  std::string buffer(chunk, '\0');
  while (true) {
    absl::StatusOr<size_t> n = source.Read(buffer.data(), buffer.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buffer.data(), *n);
  }
}

TEST_CASE("a producer source delivers every byte in order through a small ring") {
  const std::string data = Pattern(1 << 20);
  // A 4 KiB ring with odd-sized writes and reads: wrap-around on every pass.
  ProducerSource source(4096, [&](BytePipe& pipe) -> absl::Status {
    for (size_t offset = 0; offset < data.size();) {
      size_t n = std::min<size_t>(data.size() - offset, 1 + (offset % 7919));
      if (absl::Status status = pipe.Write(std::string_view(data).substr(offset, n)); !status.ok()) return status;
      offset += n;
    }
    return absl::OkStatus();
  });
  absl::StatusOr<std::string> read = ReadAll(source, 3001);
  REQUIRE(read.ok());
  CHECK(*read == data);
  CHECK(source.Finish().ok());
  CHECK(DrainSource(source).ok());  // stays at its end
}

TEST_CASE("a producer's failure reaches the consumer after the bytes before it") {
  ProducerSource source(64, [](BytePipe& pipe) -> absl::Status {
    if (absl::Status status = pipe.Write("partial"); !status.ok()) return status;
    return absl::DataLossError("digest mismatch");
  });
  char buffer[64];
  absl::StatusOr<size_t> first = source.Read(buffer, sizeof buffer);
  REQUIRE(first.ok());
  CHECK(std::string(buffer, *first) == "partial");
  absl::StatusOr<size_t> second = source.Read(buffer, sizeof buffer);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::IsDataLoss(source.Finish()));
}

TEST_CASE("a consumer that goes away unblocks and fails the producer") {
  absl::Status producer_saw;
  {
    ProducerSource source(16, [&](BytePipe& pipe) -> absl::Status {
      std::string big(1 << 16, 'x');  // far more than the ring holds: blocks until the consumer leaves
      producer_saw = pipe.Write(big);
      return producer_saw;
    });
    char buffer[4];
    REQUIRE(source.Read(buffer, sizeof buffer).ok());
    CHECK(absl::IsCancelled(source.Finish()));
  }
  CHECK(absl::IsCancelled(producer_saw));
  // Destroying a source whose producer is still writing must not hang either.
  {
    ProducerSource source(16, [](BytePipe& pipe) { return pipe.Write(std::string(1 << 16, 'y')); });
  }
}

}  // namespace
}  // namespace liman::containerd::remotes
