#include "shim/stdio_uri.h"

#include <catch2/catch.hpp>

using namespace liman::shim;

TEST_CASE("An empty stdio string is no stream") {
  auto uri = ParseStdioUri("");
  REQUIRE(uri.ok());
  CHECK(uri->scheme == StdioScheme::kNone);
}

TEST_CASE("A plain path is a FIFO, kept verbatim") {
  auto uri = ParseStdioUri("/run/containerd/fifo/123/abc-stdout");
  REQUIRE(uri.ok());
  CHECK(uri->scheme == StdioScheme::kFifo);
  CHECK(uri->path == "/run/containerd/fifo/123/abc-stdout");
  // containerd opens the string itself: '?' and '%' are part of the name.
  auto odd = ParseStdioUri("/tmp/a%20b?c:d");
  REQUIRE(odd.ok());
  CHECK(odd->scheme == StdioScheme::kFifo);
  CHECK(odd->path == "/tmp/a%20b?c:d");
}

TEST_CASE("fifo, file, binary and json-file URIs") {
  auto fifo = ParseStdioUri("fifo:///run/x/stdin");
  REQUIRE(fifo.ok());
  CHECK(fifo->scheme == StdioScheme::kFifo);
  CHECK(fifo->path == "/run/x/stdin");

  auto file = ParseStdioUri("file:///var/log/my%20app.log");
  REQUIRE(file.ok());
  CHECK(file->scheme == StdioScheme::kFile);
  CHECK(file->path == "/var/log/my app.log");

  auto binary = ParseStdioUri("BINARY:///usr/bin/logger?--tag=a+b&id=%3D1&flag&&flag=second#frag");
  REQUIRE(binary.ok());
  CHECK(binary->scheme == StdioScheme::kBinary);
  CHECK(binary->path == "/usr/bin/logger");
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(binary->query == Pairs{{"--tag", "a b"}, {"id", "=1"}, {"flag", ""}, {"flag", "second"}});
  REQUIRE(binary->Param("flag") != nullptr);
  CHECK(*binary->Param("flag") == "");
  CHECK(binary->Param("missing") == nullptr);

  auto json = ParseStdioUri("json-file:///var/lib/liman/c1/c1-json.log?max-size=10m&max-file=3");
  REQUIRE(json.ok());
  CHECK(json->scheme == StdioScheme::kJsonFile);
  CHECK(json->path == "/var/lib/liman/c1/c1-json.log");
  CHECK(json->query == Pairs{{"max-size", "10m"}, {"max-file", "3"}});

  auto no_authority = ParseStdioUri("file:/abs/path");
  REQUIRE(no_authority.ok());
  CHECK(no_authority->path == "/abs/path");
}

TEST_CASE("Bad stdio URIs are refused with the string quoted") {
  auto unknown = ParseStdioUri("syslog:///dev/log");
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(unknown.status().message() == "stdio URI \"syslog:///dev/log\": unknown scheme \"syslog\"");

  auto host = ParseStdioUri("binary://logger?x=1");
  REQUIRE(!host.ok());
  CHECK(host.status().message() ==
        "stdio URI \"binary://logger?x=1\": has host \"logger\"; want binary:///absolute/path");

  CHECK(!ParseStdioUri("file://").ok());
  CHECK(!ParseStdioUri("file:relative").ok());
  CHECK(!ParseStdioUri("file:///bad%zzescape").ok());
  CHECK(!ParseStdioUri("binary:///x?a=%4").ok());
}
