#include "shim/rfc3339.h"
#include "shim/json_file_log.h"

#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/file_util.h"
#include "fmt/format.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

namespace {

// 2026-12-02T13:52:03Z
const absl::Time kBase = absl::FromUnixSeconds(1796219523);

// A clock that advances 1 ms at every reading, so each log line's time tells which reading it got.
struct FakeClock {
  int64_t readings = 0;
  absl::Time operator()() { return kBase + absl::Milliseconds(readings++); }
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  REQUIRE(!lines.empty());
  CHECK(lines.back().empty());  // every entry ends with '\n'
  lines.pop_back();
  return lines;
}

std::string Entry(int n) { return fmt::format("line {:03d}\n", n); }

}  // namespace

TEST_CASE("RFC3339Nano like Go: UTC, trailing zeros dropped") {
  CHECK(FormatRfc3339Nano(kBase + absl::Nanoseconds(123456789)) == "2026-12-02T13:52:03.123456789Z");
  CHECK(FormatRfc3339Nano(kBase + absl::Milliseconds(100)) == "2026-12-02T13:52:03.1Z");
  CHECK(FormatRfc3339Nano(kBase + absl::Microseconds(1)) == "2026-12-02T13:52:03.000001Z");
  CHECK(FormatRfc3339Nano(kBase) == "2026-12-02T13:52:03Z");
}

TEST_CASE("A json-file entry is byte for byte Docker's") {
  absl::Time time = kBase + absl::Nanoseconds(123456789);
  CHECK(FormatJsonLogEntry("hello world\n", "stdout", time) ==
        "{\"log\":\"hello world\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.123456789Z\"}\n");
  // Go's encoding/json escapes: <, >, & as \u00XX, other control characters too (a tab
  // included), \n and \r short, quotes and backslashes with a backslash.
  CHECK(FormatJsonLogEntry("<a href=\"x\">&\\\t\x01\r\n", "stderr", kBase) ==
        "{\"log\":\"\\u003ca href=\\\"x\\\"\\u003e\\u0026\\\\\\u0009\\u0001\\r\\n\",\"stream\":\"stderr\","
        "\"time\":\"2026-12-02T13:52:03Z\"}\n");
  CHECK(FormatJsonLogEntry("", "stdout", kBase) == "{\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03Z\"}\n");
}

TEST_CASE("JSON strings: valid UTF-8 kept, U+2028/2029 escaped, each bad byte is \\ufffd") {
  auto json = [](std::string_view bytes) {
    std::string out;
    AppendJsonString(&out, bytes);
    return out;
  };
  CHECK(json("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\"");
  CHECK(json("a\xe2\x80\xa8" "b\xe2\x80\xa9") == "\"a\\u2028b\\u2029\"");
  CHECK(json("\xff") == "\"\\ufffd\"");
  CHECK(json("\xe2\x82") == "\"\\ufffd\\ufffd\"");          // cut short
  CHECK(json("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // a surrogate
  CHECK(json("\xc0\xaf") == "\"\\ufffd\\ufffd\"");          // overlong '/'
  CHECK(json("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // above U+10FFFF
  CHECK(json("\xef\xbf\xbd") == "\"\xef\xbf\xbd\"");         // U+FFFD itself is valid
}

TEST_CASE("Docker's sizes: decimal units, optional i and b") {
  CHECK(*ParseByteSize("123") == 123);
  CHECK(*ParseByteSize("10k") == 10000);
  CHECK(*ParseByteSize("10K") == 10000);
  CHECK(*ParseByteSize("10kb") == 10000);
  CHECK(*ParseByteSize("10 KiB") == 10000);
  CHECK(*ParseByteSize("10m") == 10000000);
  CHECK(*ParseByteSize("1.5m") == 1500000);
  CHECK(*ParseByteSize("1g") == 1000000000);
  CHECK(*ParseByteSize("2b") == 2);
  for (const char* bad : {"", "k", "10x", "-1", "1.", ".5", "1.2.3", "10 k b", "10kk"}) {
    INFO(bad);
    CHECK(!ParseByteSize(bad).ok());
  }
}

TEST_CASE("json-file options come from the URI's query") {
  auto options = JsonFileLogOptionsFromUri(*ParseStdioUri("json-file:///x/log?max-size=4k&max-file=3"));
  REQUIRE(options.ok());
  CHECK(options->path == "/x/log");
  CHECK(options->max_size == 4000);
  CHECK(options->max_files == 3);
  auto defaults = JsonFileLogOptionsFromUri(*ParseStdioUri("json-file:///x/log"));
  REQUIRE(defaults.ok());
  CHECK(defaults->max_size == -1);
  CHECK(defaults->max_files == 1);
  CHECK(!JsonFileLogOptionsFromUri(*ParseStdioUri("json-file:///x?max-file=0")).ok());
  CHECK(!JsonFileLogOptionsFromUri(*ParseStdioUri("json-file:///x?max-file=two")).ok());
  CHECK(!JsonFileLogOptionsFromUri(*ParseStdioUri("json-file:///x?max-size=0")).ok());
  auto unknown = JsonFileLogOptionsFromUri(*ParseStdioUri("json-file:///x?compress=true"));
  REQUIRE(!unknown.ok());
  CHECK(unknown.status().message() == "unknown log opt \"compress\" for json-file log");
}

TEST_CASE("Lines are split per stream; a partial line waits for its newline or Flush") {
  TempDir temp("liman-jsonlog");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "sub/dir/c-json.log");  // parents are made
  JsonFileLogOptions options;
  options.path = path;
  options.clock = FakeClock();
  auto log = JsonFileLog::Open(options);
  REQUIRE(log.ok());
  REQUIRE((*log)->Write(LogStream::kStdout, "one\ntw").ok());
  REQUIRE((*log)->Write(LogStream::kStderr, "err").ok());
  REQUIRE((*log)->Write(LogStream::kStdout, "o\n\nthree").ok());
  REQUIRE((*log)->Write(LogStream::kStderr, "or\n").ok());
  REQUIRE((*log)->Flush(LogStream::kStdout).ok());
  REQUIRE((*log)->Flush(LogStream::kStderr).ok());  // nothing pending: no entry
  CHECK(*ReadFile(path) ==
        "{\"log\":\"one\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03Z\"}\n"
        "{\"log\":\"two\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.001Z\"}\n"
        "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.002Z\"}\n"
        "{\"log\":\"error\\n\",\"stream\":\"stderr\",\"time\":\"2026-12-02T13:52:03.003Z\"}\n"
        "{\"log\":\"three\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.004Z\"}\n");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  mode_t mask = umask(0);
  umask(mask);
  CHECK((st.st_mode & 0777) == (0640 & ~mask));
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("A line longer than 16 KiB is logged in 16 KiB pieces sharing the first piece's time") {
  TempDir temp("liman-jsonlog");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "log");
  JsonFileLogOptions options;
  options.path = path;
  options.clock = FakeClock();
  auto log = JsonFileLog::Open(options);
  REQUIRE(log.ok());
  std::string long_line(40000, 'x');
  // Fed in odd chunks, as reads from a pipe come.
  std::string input = long_line + "\nnext\n" + std::string(16384, 'y') + "\n";
  for (size_t i = 0; i < input.size(); i += 3001)
    REQUIRE((*log)->Write(LogStream::kStdout, std::string_view(input).substr(i, 3001)).ok());
  std::vector<std::string> lines = Lines(*ReadFile(path));
  std::string t0 = "\"time\":\"2026-12-02T13:52:03Z\"";
  REQUIRE(lines.size() == 6);
  CHECK(lines[0] == "{\"log\":\"" + std::string(16384, 'x') + "\",\"stream\":\"stdout\"," + t0 + "}");
  CHECK(lines[1] == "{\"log\":\"" + std::string(16384, 'x') + "\",\"stream\":\"stdout\"," + t0 + "}");
  CHECK(lines[2] == "{\"log\":\"" + std::string(40000 - 2 * 16384, 'x') + "\\n\",\"stream\":\"stdout\"," + t0 + "}");
  CHECK(lines[3] == "{\"log\":\"next\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.001Z\"}");
  // Exactly 16 KiB before the newline: the buffer fills first, so the newline comes alone.
  CHECK(lines[4] == "{\"log\":\"" + std::string(16384, 'y') + "\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.002Z\"}");
  CHECK(lines[5] == "{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"2026-12-02T13:52:03.002Z\"}");
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("Rotation keeps max-file files of at most max-size, losing or repeating no line") {
  TempDir temp("liman-jsonlog");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "c-json.log");
  const int kLines = 50;
  for (int64_t max_size : {100, 400}) {
    DYNAMIC_SECTION("max-size " << max_size) {
      auto options = JsonFileLogOptionsFromUri(*ParseStdioUri(fmt::format("json-file://{}?max-size={}&max-file=3", path, max_size)));
      REQUIRE(options.ok());
      options->clock = FakeClock();
      auto log = JsonFileLog::Open(*options);
      REQUIRE(log.ok());
      for (int i = 0; i < kLines; ++i) REQUIRE((*log)->Write(LogStream::kStdout, Entry(i)).ok());
      auto names = ListDir(dir);
      REQUIRE(names.ok());
      std::sort(names->begin(), names->end());
      CHECK(*names == std::vector<std::string>{"c-json.log", "c-json.log.1", "c-json.log.2"});
      // Oldest first: .2, .1, then the live file; together the newest lines, in order.
      std::vector<std::string> kept;
      for (const char* suffix : {".2", ".1", ""}) {
        std::string content = *ReadFile(path + suffix);
        CHECK(static_cast<int64_t>(content.size()) <= max_size);
        for (const std::string& line : Lines(content)) kept.push_back(line);
      }
      REQUIRE(!kept.empty());
      int first = kLines - static_cast<int>(kept.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        std::string expected = fmt::format("{{\"log\":\"line {:03d}\\n\"", first + static_cast<int>(i));
        CHECK(kept[i].substr(0, expected.size()) == expected);
      }
      // Each rotation happened only when the next line did not fit.
      if (max_size == 400) CHECK(kept.size() > 3);
      REQUIRE(RemoveAll(path).ok());
      REQUIRE(RemoveAll(path + ".1").ok());
      REQUIRE(RemoveAll(path + ".2").ok());
    }
  }
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("With max-file 1 the log is truncated in place") {
  TempDir temp("liman-jsonlog");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "log");
  JsonFileLogOptions options;
  options.path = path;
  options.max_size = 200;
  options.clock = FakeClock();
  auto log = JsonFileLog::Open(options);
  REQUIRE(log.ok());
  for (int i = 0; i < 20; ++i) REQUIRE((*log)->Write(LogStream::kStderr, Entry(i)).ok());
  CHECK(*ListDir(dir) == std::vector<std::string>{"log"});
  std::vector<std::string> lines = Lines(*ReadFile(path));
  REQUIRE(!lines.empty());
  CHECK(lines.back().find("line 019") != std::string::npos);
  CHECK((*log)->size() == static_cast<int64_t>(ReadFile(path)->size()));
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("An existing log is appended to and its size counts toward rotation") {
  TempDir temp("liman-jsonlog");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "log");
  REQUIRE(WriteFileAtomic(path, std::string(150, 'z') + "\n").ok());
  JsonFileLogOptions options;
  options.path = path;
  options.max_size = 200;
  options.max_files = 2;
  options.clock = FakeClock();
  auto log = JsonFileLog::Open(options);
  REQUIRE(log.ok());
  CHECK((*log)->size() == 151);
  REQUIRE((*log)->Write(LogStream::kStdout, "x\n").ok());
  CHECK(ReadFile(path + ".1")->size() == 151);
  CHECK(Lines(*ReadFile(path)).size() == 1);
  REQUIRE(RemoveAll(dir).ok());
}
