#include <zlib.h>

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "containerd/archive/compression.h"
#include "containerd/archive/layer_stream.h"
#include "containerd/archive/tests/test_util.h"

using namespace liman::containerd::archive;
using namespace liman::containerd::archive::testing;

namespace {

// Compressible but not trivial: words with random spacing, and a random tail.
std::string SampleData(size_t size, unsigned seed = 1) {
  std::mt19937 random(seed);
  std::string out;
  static const char* kWords[] = {"layer ", "tar ", "overlay ", "whiteout ", "digest ", "\n", "0123456789 "};
  while (out.size() < size) out += kWords[random() % 7];
  out.resize(size);
  for (size_t i = size - size / 8; i < size; ++i) out[i] = static_cast<char>(random());
  return out;
}

absl::StatusOr<std::string> Decompress(const std::string& data, Compression compression, size_t max_read = SIZE_MAX) {
  MemoryByteSource source(data, max_read);
  std::unique_ptr<ByteSource> decoder = NewDecompressor(source, compression);
  std::string out;
  char buffer[100000];
  while (true) {
    absl::StatusOr<size_t> n = decoder->Read(buffer, sizeof buffer);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buffer, *n);
  }
}

std::string Compress(const std::string& data, Compression compression) {
  std::string out;
  std::unique_ptr<Compressor> compressor = NewCompressor(compression, [&](std::string_view bytes) {
    out.append(bytes);
    return absl::OkStatus();
  });
  REQUIRE(compressor->Write(data.substr(0, data.size() / 3)).ok());
  REQUIRE(compressor->Write(data.substr(data.size() / 3)).ok());
  REQUIRE(compressor->Finish().ok());
  return out;
}

// A member with every optional header field (RFC 1952 2.3.1: FEXTRA, FNAME, FCOMMENT, FHCRC), as
// `gzip file` (FNAME) and some registries' tools write them.
std::string GzipWithHeaderFields(const std::string& data) {
  z_stream stream{};
  REQUIRE(deflateInit2(&stream, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  gz_header header{};
  static Bytef extra[] = "XYextra";
  static Bytef name[] = "layer.tar";
  static Bytef comment[] = "a comment";
  header.extra = extra;
  header.extra_len = sizeof extra - 1;
  header.name = name;
  header.comment = comment;
  header.hcrc = 1;
  header.time = 1700000000;
  REQUIRE(deflateSetHeader(&stream, &header) == Z_OK);
  std::string out(deflateBound(&stream, data.size()) + 256, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&stream, Z_FINISH) == Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

TEST_CASE("CompressionForMediaType knows OCI and Docker layer types") {
  CHECK(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar") == Compression::kNone);
  CHECK(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar+gzip") == Compression::kGzip);
  CHECK(*CompressionForMediaType("application/vnd.oci.image.layer.v1.tar+zstd") == Compression::kZstd);
  CHECK(*CompressionForMediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip") == Compression::kGzip);
  CHECK(*CompressionForMediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") == Compression::kZstd);
  CHECK(*CompressionForMediaType("application/vnd.docker.image.rootfs.diff.tar.gzip") == Compression::kGzip);
  CHECK(*CompressionForMediaType("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") == Compression::kGzip);
  CHECK(*CompressionForMediaType("application/vnd.docker.image.rootfs.diff.tar") == Compression::kNone);
  auto unknown = CompressionForMediaType("application/vnd.oci.image.config.v1+json");
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(unknown.status().message()).find("application/vnd.oci.image.config.v1+json") != std::string::npos);
}

TEST_CASE("DetectCompression reads the magic numbers") {
  CHECK(DetectCompression(GzipMember("x")) == Compression::kGzip);
  CHECK(DetectCompression(ZstdFrame("x")) == Compression::kZstd);
  CHECK(DetectCompression(BuildTar({File("a", "b")})) == Compression::kNone);
  CHECK(DetectCompression("") == Compression::kNone);
}

TEST_CASE("gzip: one member and several members, read in any piece sizes") {
  std::string data = SampleData(3 << 20);
  std::string one = GzipMember(data);
  // pigz and `cat a.gz b.gz` produce several members; an empty member in between is legal too.
  std::string several = GzipMember(data.substr(0, 1000000)) + GzipMember("") +
                        GzipMember(data.substr(1000000, 1500000), 1) + GzipMember(data.substr(2500000), 9);
  for (size_t max_read : {size_t{1}, size_t{7}, size_t{4096}, size_t{65536}, SIZE_MAX}) {
    if (max_read == 1) {  // byte by byte is slow: a smaller input, still several members
      std::string small = data.substr(0, 200000);
      std::string small_several = GzipMember(small.substr(0, 70000)) + GzipMember(small.substr(70000));
      CHECK(*Decompress(small_several, Compression::kGzip, 1) == small);
      continue;
    }
    INFO("max_read " << max_read);
    CHECK(*Decompress(one, Compression::kGzip, max_read) == data);
    CHECK(*Decompress(several, Compression::kGzip, max_read) == data);
  }
}

TEST_CASE("gzip: optional header fields are parsed, also between members") {
  std::string data = SampleData(300000, 11);
  std::string gz = GzipWithHeaderFields(data.substr(0, 100000)) + GzipMember(data.substr(100000, 100000)) +
                   GzipWithHeaderFields(data.substr(200000));
  for (size_t max_read : {size_t{3}, size_t{1000}, SIZE_MAX}) CHECK(*Decompress(gz, Compression::kGzip, max_read) == data);
}

TEST_CASE("gzip: truncated, corrupt, trailing garbage and empty streams fail") {
  std::string data = SampleData(1 << 20);
  std::string gz = GzipMember(data);
  for (size_t cut : {size_t{5}, size_t{20}, gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
    auto result = Decompress(gz.substr(0, cut), Compression::kGzip);
    INFO("cut at " << cut);
    REQUIRE(!result.ok());
    CHECK(result.status().code() == absl::StatusCode::kDataLoss);
  }
  std::string corrupt = gz;
  corrupt[gz.size() / 2] ^= 0x55;
  corrupt[gz.size() / 2 + 1] ^= 0x55;
  CHECK(!Decompress(corrupt, Compression::kGzip).ok());
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] ^= 0x01;  // the CRC-32 in the trailer
  auto crc = Decompress(bad_crc, Compression::kGzip);
  REQUIRE(!crc.ok());
  CHECK(std::string(crc.status().message()).find("checksum") != std::string::npos);
  CHECK(!Decompress(gz + "garbage!", Compression::kGzip).ok());
  CHECK(!Decompress("", Compression::kGzip).ok());
  CHECK(!Decompress("not gzip at all", Compression::kGzip).ok());
}

TEST_CASE("zstd: several frames; truncated and corrupt streams fail") {
  std::string data = SampleData(2 << 20, 7);
  std::string frames = ZstdFrame(data.substr(0, 300000)) + ZstdFrame(data.substr(300000), 19);
  for (size_t max_read : {size_t{13}, size_t{4096}, SIZE_MAX}) CHECK(*Decompress(frames, Compression::kZstd, max_read) == data);
  auto truncated = Decompress(frames.substr(0, frames.size() - 3), Compression::kZstd);
  REQUIRE(!truncated.ok());
  CHECK(truncated.status().code() == absl::StatusCode::kDataLoss);
  std::string corrupt = frames;
  corrupt[frames.size() / 2] ^= 0x7f;
  CHECK(!Decompress(corrupt, Compression::kZstd).ok());
  CHECK(!Decompress("", Compression::kZstd).ok());
}

TEST_CASE("Compressors produce streams other decoders read") {
  std::string data = SampleData(3 << 20, 3);
  std::string gz = Compress(data, Compression::kGzip);
  CHECK(gz.size() < data.size() / 2);
  CHECK(GunzipAll(gz) == data);  // zlib agrees
  CHECK(*Decompress(gz, Compression::kGzip) == data);
  std::string zst = Compress(data, Compression::kZstd);
  CHECK(zst.size() < data.size() / 2);
  CHECK(*Decompress(zst, Compression::kZstd) == data);
  CHECK(Compress(data, Compression::kNone) == data);
  CHECK(GunzipAll(Compress("", Compression::kGzip)).empty());
}

TEST_CASE("LayerStream hashes every byte, with and without read-ahead, and sniffs undeclared compression") {
  std::string data = SampleData(5 << 20, 5);
  for (bool read_ahead : {true, false}) {
    for (auto [declared, encoded] : {std::pair{Compression::kGzip, GzipMember(data)},
                                     std::pair{Compression::kZstd, ZstdFrame(data)},
                                     std::pair{Compression::kNone, data},
                                     std::pair{Compression::kNone, GzipMember(data)},  // sniffed
                                     std::pair{Compression::kNone, ZstdFrame(data)}}) {
      MemoryByteSource source(encoded, 100000);
      LayerStream stream(source, declared, LayerStreamOptions{.read_ahead = read_ahead, .chunk_size = 1 << 20, .chunks = 3});
      std::string out;
      while (true) {
        auto chunk = stream.Next();
        REQUIRE(chunk.ok());
        if (chunk->empty()) break;
        out.append(*chunk);
      }
      CHECK(out == data);
      CHECK(stream.DiffId() == Sha256Digest(data));
      CHECK(stream.size() == static_cast<int64_t>(data.size()));
    }
  }
}

TEST_CASE("LayerStream reports a decoder error and stops its worker when dropped early") {
  std::string gz = GzipMember(SampleData(4 << 20, 9));
  {
    MemoryByteSource source(gz);
    LayerStream stream(source, Compression::kGzip, LayerStreamOptions{.chunk_size = 65536, .chunks = 2});
    REQUIRE(stream.Next().ok());  // the worker is now blocked on a full queue; the destructor must end it
  }
  MemoryByteSource truncated(std::string_view(gz).substr(0, gz.size() / 2));
  LayerStream stream(truncated, Compression::kGzip);
  absl::Status status = stream.Drain();
  REQUIRE(!status.ok());
  CHECK(status.code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("PieceByteSource: pieces of any size, empty reads only at the end, errors passed on") {
  std::vector<std::string> pieces = {"ab", "cdefg", "h"};
  size_t next = 0;
  PieceByteSource source([&]() -> absl::StatusOr<std::string_view> {
    if (next == pieces.size()) return std::string_view();
    return std::string_view(pieces[next++]);
  });
  std::string out;
  char buffer[3];
  for (absl::StatusOr<size_t> n = source.Read(buffer, sizeof buffer); n.ok() && *n > 0;
       n = source.Read(buffer, sizeof buffer))
    out.append(buffer, *n);
  CHECK(out == "abcdefgh");
  // Past the end the source stays ended without asking for more.
  pieces.push_back("late");
  CHECK(source.Read(buffer, sizeof buffer).value() == 0);

  PieceByteSource broken([]() -> absl::StatusOr<std::string_view> { return absl::DataLossError("cut short"); });
  CHECK(broken.Read(buffer, sizeof buffer).status().message() == "cut short");
}
