// Reading json-file logs back: streams, tail, since/until, rotated files in order, and follow
// until the writer is done.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "engine/daemon/json_log_reader.h"

namespace liman::engine {
namespace {

using test_support::TempDir;

void Append(const std::string& path, const std::string& log, const std::string& stream, int second) {
  std::ofstream out(path, std::ios::app);
  out << "{\"log\":\"" << log << "\\n\",\"stream\":\"" << stream << "\",\"time\":\"2026-12-03T07:00:"
      << (second < 10 ? "0" : "") << second << ".5Z\"}\n";
}

std::vector<std::string> ReadAll(const std::string& path, LogReadOptions options) {
  std::vector<std::string> lines;
  REQUIRE(ReadJsonLog(path, options, [&](const LogEntry& entry) {
    lines.push_back((entry.stderr_stream ? "E:" : "O:") + entry.log);
    return true;
  }, [] { return true; }).ok());
  return lines;
}

TEST_CASE("streams, tail and time filters") {
  TempDir dir;
  std::string path = dir.path() + "/c-json.log";
  Append(path, "one", "stdout", 1);
  Append(path, "two", "stderr", 2);
  Append(path, "three", "stdout", 3);
  CHECK(ReadAll(path, {}) == std::vector<std::string>{"O:one\n", "E:two\n", "O:three\n"});
  LogReadOptions only_out;
  only_out.stderr_stream = false;
  CHECK(ReadAll(path, only_out) == std::vector<std::string>{"O:one\n", "O:three\n"});
  LogReadOptions tail;
  tail.tail = 2;
  CHECK(ReadAll(path, tail) == std::vector<std::string>{"E:two\n", "O:three\n"});
  LogReadOptions since;
  since.since = ParseLogTime("2026-12-03T07:00:02Z", absl::Now()).value();
  since.until = ParseLogTime("2026-12-03T07:00:03Z", absl::Now()).value();
  CHECK(ReadAll(path, since) == std::vector<std::string>{"E:two\n"});
  CHECK(ParseLogTime("1700000000.5", absl::Now()).value() == absl::FromUnixMillis(1700000000500));
  CHECK(!ParseLogTime("yesterday", absl::Now()).ok());
  CHECK(FormatLogTime(absl::FromUnixMillis(1700000000500)) == "2023-11-14T22:13:20.500000000Z");
}

TEST_CASE("rotated files are read oldest first") {
  TempDir dir;
  std::string path = dir.path() + "/c-json.log";
  Append(path + ".2", "a", "stdout", 1);
  Append(path + ".1", "b", "stdout", 2);
  Append(path, "c", "stdout", 3);
  LogReadOptions options;
  options.max_files = 3;
  CHECK(ReadAll(path, options) == std::vector<std::string>{"O:a\n", "O:b\n", "O:c\n"});
}

TEST_CASE("follow reads what is written until the writer is finished, then what is left") {
  TempDir dir;
  std::string path = dir.path() + "/c-json.log";
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 5; ++i) {
      Append(path, "line" + std::to_string(i), "stdout", i);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    done = true;
  });
  std::vector<std::string> lines;
  LogReadOptions options;
  options.follow = true;
  REQUIRE(ReadJsonLog(path, options, [&](const LogEntry& entry) {
    lines.push_back(entry.log);
    return true;
  }, [&] { return done.load(); }).ok());
  writer.join();
  CHECK(lines == std::vector<std::string>{"line0\n", "line1\n", "line2\n", "line3\n", "line4\n"});
}

}  // namespace
}  // namespace liman::engine
