#include "shim/runtime_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/status.h"
#include "common/tests/temp_dir.h"
#include "common/unique_fd.h"
#include "fmt/format.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

namespace {

// A stand-in for runc: records its argv (one argument per line) and its stdin, then behaves as
// the "mode" file says.
constexpr const char* kFakeRuntime = R"SH(#!/bin/sh
dir='@DIR@'
printf '%s\n' "$@" > "$dir/argv"
log=
previous=
for arg in "$@"; do
  [ "$previous" = "--log" ] && log="$arg"
  previous="$arg"
done
case "$(cat "$dir/mode" 2>/dev/null)" in
  ok) ;;
  stdin) cat > "$dir/stdin" ;;
  stdout) cat "$dir/stdout" ;;
  stdio) echo "to the container's stdout"; echo "to the container's stderr" >&2 ;;
  log-error)
    echo '{"level":"info","msg":"creating container","time":"2024-01-01T00:00:00Z"}' >> "$log"
    echo '{"level":"error","msg":"an earlier problem","time":"2024-01-01T00:00:00Z"}' >> "$log"
    echo 'not json at all' >> "$log"
    echo '{"level":"error","msg":"container_linux.go:380: starting container process caused: exec: \"sh\": executable file not found in $PATH","time":"2024-01-01T00:00:01Z"}' >> "$log"
    echo '{"level":"warning","msg":"a late warning","time":"2024-01-01T00:00:01Z"}' >> "$log"
    echo "stderr is only a fallback" >&2
    exit 1 ;;
  log-missing)
    echo '{"level":"error","msg":"container \"c1\" does not exist","time":"2024-01-01T00:00:00Z"}' >> "$log"
    exit 1 ;;
  log-rotated)
    : > "$log"
    echo '{"level":"error","msg":"written after rotation","time":"2024-01-01T00:00:00Z"}' >> "$log"
    exit 1 ;;
  log-not-running)
    echo '{"level":"error","msg":"container not running","time":"2024-01-01T00:00:00Z"}' >> "$log"
    exit 1 ;;
  stderr) echo "  something broke on stderr  " >&2; exit 3 ;;
  silent) exit 2 ;;
  signal) kill -9 $$ ;;
  daemon) sleep 3 & exit 0 ;;
esac
)SH";

struct Fixture {
  test_support::TempDir temp{"liman-runtime-cli-test"};
  const std::string dir = temp.path();
  RuntimeConfig config;

  Fixture() {
    std::string script = kFakeRuntime;
    script.replace(script.find("@DIR@"), 5, dir);
    config.binary = JoinPath(dir, "fake-runc");
    REQUIRE(WriteFileAtomic(config.binary, script, 0755).ok());
    config.root = "/run/liman-test/default";
    config.log_path = JoinPath(dir, "log.json");
    Mode("ok");
  }

  void Mode(const std::string& mode) { REQUIRE(WriteFileAtomic(JoinPath(dir, "mode"), mode).ok()); }

  std::vector<std::string> Argv() {
    auto text = ReadFile(JoinPath(dir, "argv"));
    REQUIRE(text.ok());
    std::vector<std::string> lines;
    size_t start = 0;
    while (start < text->size()) {
      size_t end = text->find('\n', start);
      lines.push_back(text->substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }

  // The global flags every call starts with.
  std::vector<std::string> Global() const {
    return {"--root", config.root, "--log", config.log_path, "--log-format", "json"};
  }
  std::vector<std::string> Expect(std::vector<std::string> rest) const {
    std::vector<std::string> all = Global();
    all.insert(all.end(), rest.begin(), rest.end());
    return all;
  }
};

}  // namespace

TEST_CASE("RuntimeCli builds runc's command lines") {
  Fixture f;
  RuntimeCli cli(f.config);

  RuntimeCreateOptions create;
  create.bundle = "/b";
  create.pid_file = "/b/init.pid";
  REQUIRE(cli.Create("c1", create).ok());
  CHECK(f.Argv() == f.Expect({"create", "--bundle", "/b", "--pid-file", "/b/init.pid", "c1"}));
  create.console_socket = "/tmp/console.sock";
  create.no_pivot = true;
  create.no_new_keyring = true;
  REQUIRE(cli.Create("c1", create).ok());
  CHECK(f.Argv() == f.Expect({"create", "--bundle", "/b", "--pid-file", "/b/init.pid", "--console-socket",
                              "/tmp/console.sock", "--no-pivot", "--no-new-keyring", "c1"}));

  REQUIRE(cli.Start("c1").ok());
  CHECK(f.Argv() == f.Expect({"start", "c1"}));
  REQUIRE(cli.Kill("c1", SIGKILL, true).ok());
  CHECK(f.Argv() == f.Expect({"kill", "--all", "c1", "9"}));
  REQUIRE(cli.Kill("c1", SIGTERM, false).ok());
  CHECK(f.Argv() == f.Expect({"kill", "c1", "15"}));
  REQUIRE(cli.Delete("c1", true).ok());
  CHECK(f.Argv() == f.Expect({"delete", "--force", "c1"}));
  REQUIRE(cli.Delete("c1", false).ok());
  CHECK(f.Argv() == f.Expect({"delete", "c1"}));
  REQUIRE(cli.Pause("c1").ok());
  CHECK(f.Argv() == f.Expect({"pause", "c1"}));
  REQUIRE(cli.Resume("c1").ok());
  CHECK(f.Argv() == f.Expect({"resume", "c1"}));
  REQUIRE(cli.UpdateFromFile("c1", "/b/resources.json").ok());
  CHECK(f.Argv() == f.Expect({"update", "-r", "/b/resources.json", "c1"}));

  RuntimeExecOptions exec;
  exec.process_file = "/b/exec-process.json";
  exec.pid_file = "/b/e1.pid";
  REQUIRE(cli.Exec("c1", exec).ok());
  CHECK(f.Argv() == f.Expect({"exec", "--process", "/b/exec-process.json", "--pid-file", "/b/e1.pid", "--detach", "c1"}));
  exec.console_socket = "/tmp/e1.sock";
  REQUIRE(cli.Exec("c1", exec).ok());
  CHECK(f.Argv() == f.Expect({"exec", "--process", "/b/exec-process.json", "--pid-file", "/b/e1.pid", "--detach",
                              "--console-socket", "/tmp/e1.sock", "c1"}));

  RuntimeConfig minimal{f.config.binary, "", "", true};
  REQUIRE(RuntimeCli(minimal).Start("c2").ok());
  CHECK(f.Argv() == std::vector<std::string>{"--systemd-cgroup", "start", "c2"});
}

TEST_CASE("RuntimeCli feeds update's resources on stdin and parses ps, events and state output") {
  Fixture f;
  RuntimeCli cli(f.config);

  f.Mode("stdin");
  // Bigger than a pipe buffer: nothing must wait for the runtime to read it.
  std::string resources = fmt::format(R"({{"memory":{{"limit":1048576}},"pad":"{}"}})", std::string(200000, 'x'));
  REQUIRE(cli.Update("c1", resources).ok());
  CHECK(f.Argv() == f.Expect({"update", "--resources", "-", "c1"}));
  CHECK(*ReadFile(JoinPath(f.dir, "stdin")) == resources);

  f.Mode("stdout");
  auto output = [&](const std::string& text) { REQUIRE(WriteFileAtomic(JoinPath(f.dir, "stdout"), text).ok()); };
  output("[1,22,333]\n");
  auto pids = cli.Ps("c1");
  REQUIRE(pids.ok());
  CHECK(*pids == std::vector<pid_t>{1, 22, 333});
  CHECK(f.Argv() == f.Expect({"ps", "--format", "json", "c1"}));
  output("null\n");
  CHECK(cli.Ps("c1")->empty());
  output("USER PID\n");
  CHECK(cli.Ps("c1").status().message() == "runtime ps: not a JSON array: \"USER PID\"");

  output("{\"type\":\"stats\",\"id\":\"c1\",\"data\":{}}\n{\"type\":\"stats\"}\n");
  CHECK(*cli.Stats("c1") == "{\"type\":\"stats\",\"id\":\"c1\",\"data\":{}}");
  CHECK(f.Argv() == f.Expect({"events", "--stats", "c1"}));

  output("{\n  \"ociVersion\": \"1.0.2\",\n  \"status\": \"running\"\n}\n");
  CHECK(*cli.State("c1") == "{\n  \"ociVersion\": \"1.0.2\",\n  \"status\": \"running\"\n}");
  CHECK(f.Argv() == f.Expect({"state", "c1"}));
}

TEST_CASE("RuntimeCli explains failures with the runtime's last logged error of this call") {
  Fixture f;
  RuntimeCli cli(f.config);

  f.Mode("log-error");
  absl::Status status = cli.Create("c1", {"/b", "/b/init.pid"});
  CHECK(status.code() == absl::StatusCode::kUnknown);  // "not found" names the program, not the container
  CHECK(status.message() ==
        "runtime create failed: container_linux.go:380: starting container process caused: exec: \"sh\": executable "
        "file not found in $PATH: exit status 1");

  // The log keeps the lines above; a later failure that logs nothing must not reuse them.
  f.Mode("stderr");
  status = cli.Kill("c1", SIGTERM, false);
  CHECK(status.code() == absl::StatusCode::kUnknown);
  CHECK(status.message() == "runtime kill failed: something broke on stderr: exit status 3");

  f.Mode("silent");
  CHECK(cli.Pause("c1").message() == "runtime pause failed: exit status 2");

  f.Mode("signal");
  CHECK(cli.Start("c1").message() == "runtime start failed: signal: killed");

  f.Mode("log-missing");
  status = cli.Delete("c1", false);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == "runtime delete failed: container \"c1\" does not exist: exit status 1");

  f.Mode("log-not-running");
  status = cli.Kill("c1", SIGKILL, false);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == "process already finished: runtime kill failed: container not running: exit status 1");
  status = cli.Pause("c1");
  CHECK(status.code() == absl::StatusCode::kUnknown);  // only kill treats "not running" as gone

  // A log the runtime truncated during the call is read from its start.
  REQUIRE(WriteFileAtomic(f.config.log_path, std::string(100000, '\n')).ok());
  f.Mode("log-rotated");
  CHECK(cli.Start("c1").message() == "runtime start failed: written after rotation: exit status 1");
}

TEST_CASE("RuntimeCli hands create and exec the container's stdio and reports a missing binary") {
  Fixture f;
  RuntimeCli cli(f.config);
  int out[2], err[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  UniqueFd out_read(out[0]), out_write(out[1]), err_read(err[0]), err_write(err[1]);
  f.Mode("stdio");
  RuntimeCreateOptions create{"/b", "/b/init.pid"};
  create.stdio = {-1, out_write.get(), err_write.get()};
  REQUIRE(cli.Create("c1", create).ok());
  out_write.reset();
  err_write.reset();
  CHECK(ReadAll(out_read.get()) == "to the container's stdout\n");
  CHECK(ReadAll(err_read.get()) == "to the container's stderr\n");

  RuntimeConfig missing = f.config;
  missing.binary = "/nonexistent/runc";
  absl::Status status = RuntimeCli(missing).Start("c1");
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(status.message() == "runtime start: exec \"/nonexistent/runc\": no such file or directory");
}

TEST_CASE("RuntimeCli returns when the runtime exits even if a descendant keeps its pipes open") {
  Fixture f;
  RuntimeCli cli(f.config);
  f.Mode("daemon");
  absl::Time start = absl::Now();
  CHECK(cli.Start("c1").ok());
  CHECK(absl::Now() - start < absl::Seconds(2));
}

TEST_CASE("RuntimeCli starts liman-runtime's create and exec from a read-only view, made again after an upgrade") {
  if (geteuid() != 0) {
    WARN("skipped: not root: overlayfs needs CAP_SYS_ADMIN");
    return;
  }
  test_support::TempDir dir("liman-runtime-cli-view");
  absl::StatusOr<std::string> helper = ReadFile(JoinPath(ParentDirectory(*ReadLink("/proc/self/exe")), "liman-fake-sealed-runtime"));
  REQUIRE(helper.ok());
  RuntimeConfig config;
  config.binary = JoinPath(dir.Subdir("bin"), "liman-runtime");
  config.root = dir / "root";  // made by the first create, as the runtime would
  REQUIRE(WriteFileAtomic(config.binary, *helper, 0755).ok());
  const std::string report = dir / "report";
  REQUIRE(setenv("LIMAN_FAKE_RUNTIME_REPORT", report.c_str(), 1) == 0);
  auto inode = [&] {
    struct stat st;
    REQUIRE(stat(config.binary.c_str(), &st) == 0);
    return std::to_string(st.st_ino);
  };

  RuntimeCli cli(config);
  REQUIRE(cli.Create("c1", RuntimeCreateOptions{"/b", "/b/init.pid"}).ok());
  REQUIRE(cli.Start("c1").ok());
  REQUIRE(cli.Exec("c1", RuntimeExecOptions{"/b/process.json", "/b/exec.pid"}).ok());
  const std::string first = inode();
  // An upgrade replaces the file (a new inode): the next exec runs the new binary.
  REQUIRE(WriteFileAtomic(config.binary, *helper, 0755).ok());
  const std::string second = inode();
  REQUIRE(first != second);
  REQUIRE(cli.Exec("c1", RuntimeExecOptions{"/b/process.json", "/b/exec.pid"}).ok());
  unsetenv("LIMAN_FAKE_RUNTIME_REPORT");

  CHECK(*ReadFile(report) == fmt::format("create sealed {0}\nstart plain {0}\nexec sealed {0}\nexec sealed {1}\n", first, second));
}
