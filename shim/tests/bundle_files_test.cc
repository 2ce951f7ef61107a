#include "shim/bundle_files.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/file_util.h"
#include "common/status.h"
#include "shim/rfc3339.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

TEST_CASE("Exit records round-trip for the init and for execs") {
  TempDir temp("liman-bundle-test");
  std::string bundle = temp.path();
  ExitRecord init{"", 4242, 137, absl::FromUnixNanos(1700000000123456789)};
  ExitRecord exec{"exec-1.a_b", 77, 3, absl::FromUnixSeconds(1700000001)};
  REQUIRE(WriteExitRecord(bundle, init).ok());
  REQUIRE(WriteExitRecord(bundle, exec).ok());
  CHECK(PathExists(JoinPath(bundle, "exits/init.json")));
  CHECK(PathExists(JoinPath(bundle, "exits/exec-1.a_b.json")));

  auto read_init = ReadExitRecord(bundle, "");
  REQUIRE(read_init.ok());
  REQUIRE(read_init->has_value());
  CHECK((*read_init)->exec_id.empty());
  CHECK((*read_init)->pid == 4242);
  CHECK((*read_init)->exit_status == 137);
  CHECK((*read_init)->exited_at == init.exited_at);

  auto read_exec = ReadExitRecord(bundle, "exec-1.a_b");
  REQUIRE(read_exec.ok());
  REQUIRE(read_exec->has_value());
  CHECK((*read_exec)->exec_id == "exec-1.a_b");
  CHECK((*read_exec)->pid == 77);
  CHECK((*read_exec)->exit_status == 3);
  CHECK((*read_exec)->exited_at == exec.exited_at);

  auto missing = ReadExitRecord(bundle, "other");
  REQUIRE(missing.ok());
  CHECK(!missing->has_value());
  REQUIRE(RemoveAll(bundle).ok());
}

TEST_CASE("Writing an exit record is atomic: no temporary file remains, the file is private") {
  TempDir temp("liman-bundle-test");
  std::string bundle = temp.path();
  REQUIRE(WriteExitRecord(bundle, {"", 1, 0, absl::Now()}).ok());
  REQUIRE(WriteExitRecord(bundle, {"", 1, 1, absl::Now()}).ok());
  auto names = ListDir(JoinPath(bundle, "exits"));
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"init.json"});
  struct stat st;
  REQUIRE(stat(JoinPath(bundle, "exits/init.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK((*ReadExitRecord(bundle, ""))->exit_status == 1);
  REQUIRE(RemoveAll(bundle).ok());
}

TEST_CASE("A damaged exit record is an error naming its path") {
  TempDir temp("liman-bundle-test");
  std::string bundle = temp.path();
  REQUIRE(MkdirAll(JoinPath(bundle, "exits")).ok());
  std::string path = JoinPath(bundle, "exits/init.json");
  REQUIRE(WriteFileAtomic(path, "{\"exec_id\":\"\",\"pid\":-1").ok());
  auto result = ReadExitRecord(bundle, "");
  REQUIRE(!result.ok());
  CHECK(result.status().message() == "exit record " + Quote(path) + ": not a JSON object");
  REQUIRE(WriteFileAtomic(path, R"({"exec_id":"","pid":1,"exit_status":0,"exited_at":"yesterday"})").ok());
  result = ReadExitRecord(bundle, "");
  REQUIRE(!result.ok());
  CHECK(std::string(result.status().message()).starts_with("exit record " + Quote(path) + ": time \"yesterday\""));
  REQUIRE(RemoveAll(bundle).ok());
}

TEST_CASE("Exec ids follow containerd's identifier rules and may not be \"init\"") {
  for (const char* good : {"a", "exec1", "e-1.x_2", "A9"}) CHECK(ValidateExecId(good).ok());
  for (const char* bad : {"", "a/b", "..", ".", "-a", "a-", "a..b", "a b", "init"}) {
    INFO(bad);
    CHECK(ValidateExecId(bad).code() == absl::StatusCode::kInvalidArgument);
  }
  CHECK(ValidateExecId(std::string(76, 'x')).ok());
  CHECK(!ValidateExecId(std::string(77, 'x')).ok());
  CHECK(!WriteExitRecord("/tmp", {"../escape", 1, 0, absl::Now()}).ok());
}

TEST_CASE("Pid files: digits and an optional newline, errors name the path") {
  TempDir temp("liman-bundle-test");
  std::string dir = temp.path();
  std::string path = JoinPath(dir, "init.pid");
  auto write = [&](const std::string& text) { REQUIRE(WriteFileAtomic(path, text).ok()); };

  write("1234");
  CHECK(*ReadPidFile(path) == 1234);
  write("1234\n");
  CHECK(*ReadPidFile(path) == 1234);

  write("");
  CHECK(ReadPidFile(path).status().message() == "pid file " + Quote(path) + ": empty");
  write("12a");
  CHECK(ReadPidFile(path).status().message() == "pid file " + Quote(path) + ": invalid content \"12a\"");
  for (const char* bad : {" 12", "12 ", "12\n\n", "-5", "+5", "0", "99999999999999999999", "2147483648"}) {
    INFO(bad);
    write(bad);
    auto result = ReadPidFile(path);
    REQUIRE(!result.ok());
    CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(std::string(result.status().message()).starts_with("pid file " + Quote(path) + ": invalid"));
  }
  std::string missing = JoinPath(dir, "none.pid");
  CHECK(ReadPidFile(missing).status().message() == "open " + Quote(missing) + ": no such file or directory");
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("Times print as Go's RFC3339Nano in UTC and parse back") {
  absl::Time whole = absl::FromUnixSeconds(1700000000);
  CHECK(FormatRfc3339Nano(whole) == "2023-11-14T22:13:20Z");
  CHECK(FormatRfc3339Nano(whole + absl::Milliseconds(120)) == "2023-11-14T22:13:20.12Z");
  CHECK(FormatRfc3339Nano(whole + absl::Nanoseconds(1)) == "2023-11-14T22:13:20.000000001Z");
  CHECK(*ParseRfc3339("2023-11-14T22:13:20.12Z") == whole + absl::Milliseconds(120));
  CHECK(*ParseRfc3339("2023-11-14T23:13:20+01:00") == whole);
  CHECK(!ParseRfc3339("2023-11-14 22:13:20").ok());
}
