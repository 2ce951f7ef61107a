#include "shim/stdio.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

#include "common/file_util.h"
#include "common/tests/temp_dir.h"
#include "common/unix_socket.h"
#include "fmt/format.h"
#include "shim/tests/test_util.h"

using namespace liman;
using namespace liman::shim;
using namespace liman::shim::testing;

namespace {

using test_support::TempDir;

std::unique_ptr<EventLoop> NewLoop() {
  // The shim ignores SIGPIPE (a reader that went away is EPIPE); so do these tests.
  signal(SIGPIPE, SIG_IGN);
  auto loop = EventLoop::Create();
  REQUIRE(loop.ok());
  return std::move(*loop);
}

// A copy of a child end, as the process would hold it after the runtime handed it over.
UniqueFd Dup(int fd) {
  REQUIRE(fd >= 0);
  UniqueFd copy(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  REQUIRE(copy.valid());
  return copy;
}

void WriteOrFail(int fd, std::string_view data) { REQUIRE(liman::WriteAll(fd, data)); }

// Appends what `fd` (non-blocking) has now to `out`; returns read(2)'s last result.
ssize_t ReadAvailable(int fd, std::string* out) {
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return n;
    out->append(buf, static_cast<size_t>(n));
  }
}

std::string Pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>((i * 7 + i / 251) & 0xFF);
  return data;
}

std::string ReadOr(const std::string& path) {
  auto content = ReadFile(path);
  return content.ok() ? *content : std::string();
}

void MakeFifo(const std::string& path) { REQUIRE(mkfifo(path.c_str(), 0600) == 0); }

void ReapChildren() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

TEST_CASE("stdout and stderr go through pipes into one json-file log") {
  TempDir dir;
  auto loop = NewLoop();
  std::string log = dir / "c1-json.log";
  StdioConfig config{"", "json-file://" + log, "json-file://" + log, false};
  auto io = ProcessIo::Create(loop.get(), config, "c1", "default");
  REQUIRE(io.ok());
  CHECK((*io)->child_stdin() == -1);
  CHECK((*io)->console_socket_path().empty());
  UniqueFd out = Dup((*io)->child_stdout());
  UniqueFd err = Dup((*io)->child_stderr());
  REQUIRE((*io)->Start().ok());
  CHECK((*io)->child_stdout() == -1);

  WriteOrFail(out.get(), "hello\n");
  REQUIRE(RunUntil(*loop, [&] { return ReadOr(log).find("hello") != std::string::npos; }));
  WriteOrFail(err.get(), "oops <&>\n");
  REQUIRE(RunUntil(*loop, [&] { return ReadOr(log).find("oops") != std::string::npos; }));
  WriteOrFail(out.get(), "no newline");
  out.reset();
  err.reset();
  bool drained = false;
  (*io)->WhenDrained(absl::Seconds(10), [&] { drained = true; });
  REQUIRE(RunUntil(*loop, [&] { return drained; }));
  CHECK((*io)->drained());

  std::string content = ReadOr(log);
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = content.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(content.substr(start, end - start));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].rfind("{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"", 0) == 0);
  CHECK(lines[1].rfind("{\"log\":\"oops \\u003c\\u0026\\u003e\\n\",\"stream\":\"stderr\",\"time\":\"", 0) == 0);
  CHECK(lines[2].rfind("{\"log\":\"no newline\",\"stream\":\"stdout\",\"time\":\"", 0) == 0);
}

// A process whose stdout goes to a FIFO the manager made (nobody reads it yet), copying started.
struct FifoStdout {
  FifoStdout() {
    MakeFifo(fifo);
    auto created = ProcessIo::Create(loop.get(), StdioConfig{"", fifo, "", false}, "c1", "default");
    REQUIRE(created.ok());
    io = std::move(*created);
    REQUIRE(io->child_stderr() == -1);
    process_stdout = Dup(io->child_stdout());
    REQUIRE(io->Start().ok());
  }
  TempDir dir;
  std::unique_ptr<EventLoop> loop = NewLoop();
  std::string fifo = dir / "stdout";
  std::unique_ptr<ProcessIo> io;
  UniqueFd process_stdout;
};

TEST_CASE("A FIFO nobody reads fills up, the process waits, a late reader gets every byte in order") {
  FifoStdout fixture;
  std::unique_ptr<EventLoop>& loop = fixture.loop;
  const std::string& fifo = fixture.fifo;
  std::unique_ptr<ProcessIo>& io = fixture.io;
  UniqueFd& process_stdout = fixture.process_stdout;

  // Four times what a FIFO holds (64 KiB): more than FIFO, pipe and the shim's buffer together.
  const std::string data = Pattern(256 * 1024);
  std::atomic<size_t> written{0};
  std::thread writer([&] {
    size_t offset = 0;
    while (offset < data.size()) {
      ssize_t n = write(process_stdout.get(), data.data() + offset, std::min<size_t>(4096, data.size() - offset));
      if (n <= 0) break;
      offset += static_cast<size_t>(n);
      written = offset;
    }
    process_stdout.reset();
  });

  int rounds = 0;
  RunFor(*loop, absl::Milliseconds(500), &rounds);
  CHECK(written < data.size());  // the process is blocked on its own pipe
  CHECK(rounds < 60);            // and the shim is not spinning meanwhile

  UniqueFd reader(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  REQUIRE(reader.valid());
  std::string got;
  REQUIRE(RunUntil(*loop, [&] {
    ReadAvailable(reader.get(), &got);
    return got.size() >= data.size();
  }, absl::Seconds(20)));
  writer.join();
  CHECK(got.size() == data.size());
  CHECK(got == data);

  bool drained = false;
  io->WhenDrained(absl::Seconds(10), [&] { drained = true; });
  REQUIRE(RunUntil(*loop, [&] { return drained; }));
  // Everything was read, so the shim closes its end and the reader sees EOF.
  REQUIRE(RunUntil(*loop, [&] { return ReadAvailable(reader.get(), &got) == 0; }));
  CHECK(got.size() == data.size());
}

TEST_CASE("A process that exits while the FIFO is full: its last bytes wait, no read while paused") {
  FifoStdout fixture;
  std::unique_ptr<EventLoop>& loop = fixture.loop;
  const std::string& fifo = fixture.fifo;
  std::unique_ptr<ProcessIo>& io = fixture.io;
  UniqueFd& process_stdout = fixture.process_stdout;
  bool drained = false;
  io->WhenDrained(absl::Seconds(30), [&] { drained = true; });

  // Fits in pipe + shim buffer + FIFO, so the writer finishes and closes: the source then has
  // data and EPOLLHUP while the sink is full. Reading it now would have nowhere to go.
  const std::string data = Pattern(150 * 1024);
  std::atomic<bool> written{false};
  std::thread writer([&] {
    WriteOrFail(process_stdout.get(), data);
    process_stdout.reset();
    written = true;
  });
  REQUIRE(RunUntil(*loop, [&] { return written.load(); }));
  writer.join();
  int rounds = 0;
  RunFor(*loop, absl::Milliseconds(400), &rounds);
  CHECK(rounds < 60);  // EPOLLHUP, which no mask stops, is not making the loop spin
  CHECK(!drained);     // bytes are still in the process's pipe

  UniqueFd reader(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  REQUIRE(reader.valid());
  std::string got;
  ssize_t last = -1;
  REQUIRE(RunUntil(*loop, [&] {
    last = ReadAvailable(reader.get(), &got);
    return last == 0;  // EOF: the shim closed its end after the reader took everything
  }));
  CHECK(got == data);
  CHECK(drained);
}

TEST_CASE("Output left in the FIFO when the process is done waits there for a late reader") {
  FifoStdout fixture;
  std::unique_ptr<EventLoop>& loop = fixture.loop;
  const std::string& fifo = fixture.fifo;
  std::unique_ptr<ProcessIo>& io = fixture.io;
  UniqueFd& process_stdout = fixture.process_stdout;
  const std::string data = Pattern(10000);
  WriteOrFail(process_stdout.get(), data);
  process_stdout.reset();
  bool drained = false;
  io->WhenDrained(absl::Seconds(10), [&] { drained = true; });
  REQUIRE(RunUntil(*loop, [&] { return drained; }));  // all of it is in the FIFO now
  RunFor(*loop, absl::Milliseconds(300));             // nobody reads for a while

  UniqueFd reader(open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  REQUIRE(reader.valid());
  std::string got;
  REQUIRE(RunUntil(*loop, [&] { return ReadAvailable(reader.get(), &got) == 0; }));
  CHECK(got == data);
}

TEST_CASE("stdin: a client closing the FIFO is not EOF; CloseStdin delivers what was written, then EOF") {
  TempDir dir;
  auto loop = NewLoop();
  std::string fifo = dir / "stdin";
  MakeFifo(fifo);
  auto io = ProcessIo::Create(loop.get(), StdioConfig{fifo, "", "", false}, "c1", "default");
  REQUIRE(io.ok());
  CHECK((*io)->child_stdout() == -1);
  UniqueFd process_stdin = Dup((*io)->child_stdin());
  REQUIRE(fcntl(process_stdin.get(), F_SETFL, O_NONBLOCK) == 0);
  REQUIRE((*io)->Start().ok());

  auto client_write = [&](std::string_view text) {
    // Does not block nor fail with ENXIO: the shim holds the FIFO open for reading.
    UniqueFd client(open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    REQUIRE(client.valid());
    WriteOrFail(client.get(), text);
  };
  std::string got;
  client_write("hello ");
  REQUIRE(RunUntil(*loop, [&] {
    ReadAvailable(process_stdin.get(), &got);
    return got == "hello ";
  }));
  RunFor(*loop, absl::Milliseconds(100));
  errno = 0;
  CHECK(ReadAvailable(process_stdin.get(), &got) == -1);
  CHECK(errno == EAGAIN);  // no EOF although the client closed its end

  client_write("world");
  REQUIRE((*io)->CloseStdin().ok());
  ssize_t last = -1;
  REQUIRE(RunUntil(*loop, [&] {
    last = ReadAvailable(process_stdin.get(), &got);
    return last == 0;
  }));
  CHECK(got == "hello world");
}

TEST_CASE("A terminal: master from the console socket, output to the log, stdin with VEOF, resize") {
  TempDir dir;
  auto loop = NewLoop();
  std::string fifo = dir / "stdin";
  MakeFifo(fifo);
  std::string log = dir / "tty.log";
  StdioConfig config{fifo, "json-file://" + log, "json-file://" + log, true};
  auto io = ProcessIo::Create(loop.get(), config, "c1", "default");
  REQUIRE(io.ok());
  CHECK((*io)->terminal());
  CHECK((*io)->child_stdin() == -1);
  CHECK((*io)->child_stdout() == -1);
  CHECK((*io)->child_stderr() == -1);
  std::string socket = (*io)->console_socket_path();
  REQUIRE(!socket.empty());
  CHECK(!(*io)->Resize(80, 24).ok());  // no console yet

  // What the runtime does: open a pty, send the master, keep the slave for the process.
  UniqueFd master(posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  REQUIRE(master.valid());
  REQUIRE(grantpt(master.get()) == 0);
  REQUIRE(unlockpt(master.get()) == 0);
  UniqueFd slave(open(ptsname(master.get()), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  REQUIRE(slave.valid());
  {
    auto connection = ConnectUnix(socket);
    REQUIRE(connection.ok());
    REQUIRE(SendFd(connection->get(), master.get(), "/dev/pts/x").ok());
  }
  master.reset();
  REQUIRE((*io)->Start().ok());
  CHECK(!PathExists(socket));  // the socket and its directory are gone once used

  REQUIRE((*io)->Resize(100, 40).ok());
  winsize size{};
  REQUIRE(ioctl(slave.get(), TIOCGWINSZ, &size) == 0);
  CHECK(size.ws_col == 100);
  CHECK(size.ws_row == 40);

  WriteOrFail(slave.get(), "hi\n");
  // ONLCR: the line discipline turns the process's \n into \r\n.
  REQUIRE(RunUntil(*loop, [&] { return ReadOr(log).find("{\"log\":\"hi\\r\\n\",\"stream\":\"stdout\"") != std::string::npos; }));

  {
    UniqueFd client(open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    REQUIRE(client.valid());
    WriteOrFail(client.get(), "abc\nxyz");
  }
  std::string line;
  REQUIRE(RunUntil(*loop, [&] {
    ReadAvailable(slave.get(), &line);
    return line == "abc\n";
  }));
  // After a partial line, one VEOF only hands "xyz" over; the shim sends the second that reads
  // as end of input.
  REQUIRE((*io)->CloseStdin().ok());
  std::string rest;
  REQUIRE(RunUntil(*loop, [&] {
    char buf[64];
    ssize_t n = read(slave.get(), buf, sizeof buf);
    if (n > 0) rest.append(buf, static_cast<size_t>(n));
    return n == 0;
  }));
  CHECK(rest == "xyz");

  bool drained = false;
  (*io)->WhenDrained(absl::Seconds(10), [&] { drained = true; });
  RunFor(*loop, absl::Milliseconds(50));
  CHECK(!drained);  // the slave is still open
  slave.reset();    // the process exits: the master reads EIO
  REQUIRE(RunUntil(*loop, [&] { return drained; }));
  CHECK(ReadOr(log).find("\"stream\":\"stderr\"") == std::string::npos);
}

TEST_CASE("binary:// starts the logger with containerd's argv, env and fds 3, 4, 5") {
  TempDir dir;
  auto loop = NewLoop();
  std::string script = dir / "logger.sh";
  REQUIRE(WriteFileAtomic(script,
                          fmt::format("#!/bin/sh\n"
                                      "printf '%s|' \"$@\" > {0}/args\n"
                                      "printf '%s|%s|%s' \"$CONTAINER_ID\" \"$CONTAINER_NAMESPACE\" \"${{HOME-unset}}\" > {0}/env\n"
                                      "exec 5>&-\n"
                                      "cat <&3 > {0}/out &\n"
                                      "cat <&4 > {0}/err\n"
                                      "wait\n"
                                      "printf done > {0}/done\n",
                                      dir.path()),
                          0755)
              .ok());
  std::string uri = fmt::format("binary://{}?--tag=t+1&flag&--tag=ignored", script);
  auto io = ProcessIo::Create(loop.get(), StdioConfig{"", uri, uri, false}, "c1", "ns1");
  REQUIRE(io.ok());
  // Ready: fd 5 was closed before Create returned.
  CHECK(ReadOr(dir / "args") == "--tag|t 1|flag||");
  UniqueFd out = Dup((*io)->child_stdout());
  UniqueFd err = Dup((*io)->child_stderr());
  REQUIRE((*io)->Start().ok());
  WriteOrFail(out.get(), "to stdout\n");
  WriteOrFail(err.get(), "to stderr\n");
  out.reset();
  err.reset();
  bool drained = false;
  (*io)->WhenDrained(absl::Seconds(10), [&] { drained = true; });  // nothing of ours to copy
  REQUIRE(RunUntil(*loop, [&] { return drained && PathExists(dir / "done"); }));
  CHECK(ReadOr(dir / "out") == "to stdout\n");
  CHECK(ReadOr(dir / "err") == "to stderr\n");
  CHECK(ReadOr(dir / "env") == "c1|ns1|unset");
  io->reset();
  ReapChildren();
}

TEST_CASE("A logging binary that never gets ready is killed; one that cannot start is reported") {
  TempDir dir;
  auto loop = NewLoop();
  std::string script = dir / "slow.sh";
  REQUIRE(WriteFileAtomic(script, "#!/bin/sh\nexec sleep 30\n", 0755).ok());
  auto uri = ParseStdioUri("binary://" + script);
  REQUIRE(uri.ok());
  absl::Time start = absl::Now();
  auto logger = BinaryLogger::Start(loop.get(), *uri, "c1", "ns", absl::Milliseconds(200));
  REQUIRE(!logger.ok());
  CHECK(logger.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(absl::Now() - start < absl::Seconds(5));
  int status = 0;
  REQUIRE(waitpid(-1, &status, 0) > 0);
  CHECK(WIFSIGNALED(status));

  auto missing = ProcessIo::Create(loop.get(), StdioConfig{"", "binary:///nonexistent/logger", "", false}, "c1", "ns");
  REQUIRE(!missing.ok());
  CHECK(missing.status().message() == "exec \"/nonexistent/logger\": no such file or directory");
}

TEST_CASE("file:// appends raw bytes; WhenDrained gives up after the grace period") {
  TempDir dir;
  auto loop = NewLoop();
  std::string file = dir / "logs/out.txt";
  REQUIRE(MkdirAll(dir / "logs").ok());
  REQUIRE(WriteFileAtomic(file, "before\n").ok());
  auto io = ProcessIo::Create(loop.get(), StdioConfig{"", "file://" + file, "", false}, "c1", "default");
  REQUIRE(io.ok());
  UniqueFd out = Dup((*io)->child_stdout());
  REQUIRE((*io)->Start().ok());
  WriteOrFail(out.get(), "raw \x01 bytes");
  REQUIRE(RunUntil(*loop, [&] { return ReadOr(file) == "before\nraw \x01 bytes"; }));

  // `out` stays open, as when the process left a child holding its stdout.
  absl::Time start = absl::Now();
  bool drained = false;
  std::unique_ptr<ProcessIo>& owned = *io;
  owned->WhenDrained(absl::Milliseconds(200), [&] {
    drained = true;
    owned.reset();  // the callback may destroy the ProcessIo
  });
  REQUIRE(RunUntil(*loop, [&] { return drained; }));
  CHECK(absl::Now() - start >= absl::Milliseconds(200));
  CHECK(owned == nullptr);
  RunFor(*loop, absl::Milliseconds(50));
}

TEST_CASE("Stdio set-up errors name the stream and the path") {
  TempDir dir;
  auto loop = NewLoop();
  auto missing = ProcessIo::Create(loop.get(), StdioConfig{"", "/nonexistent/fifo", "", false}, "c1", "ns");
  REQUIRE(!missing.ok());
  CHECK(missing.status().message() == "open stdout FIFO \"/nonexistent/fifo\": no such file or directory");

  auto file_stdin = ProcessIo::Create(loop.get(), StdioConfig{"file:///x", "", "", false}, "c1", "ns");
  REQUIRE(!file_stdin.ok());
  CHECK(file_stdin.status().code() == absl::StatusCode::kInvalidArgument);

  REQUIRE(WriteFileAtomic(dir / "regular", "").ok());
  auto regular = ProcessIo::Create(loop.get(), StdioConfig{"", "", dir / "regular", false}, "c1", "ns");
  REQUIRE(!regular.ok());
  CHECK(regular.status().code() == absl::StatusCode::kInvalidArgument);

  auto bad = ProcessIo::Create(loop.get(), StdioConfig{"", "json-file:///x?max-size=huge", "", false}, "c1", "ns");
  REQUIRE(!bad.ok());
  CHECK(bad.status().message() == "stdout json-file log \"/x\": invalid size: \"huge\"");

  auto plain = ProcessIo::Create(loop.get(), StdioConfig{}, "c1", "ns");
  REQUIRE(plain.ok());
  CHECK(absl::IsFailedPrecondition((*plain)->Resize(80, 24)));
  CHECK((*plain)->CloseStdin().ok());
  REQUIRE((*plain)->Start().ok());
  bool drained = false;
  (*plain)->WhenDrained(absl::Seconds(1), [&] { drained = true; });
  REQUIRE(RunUntil(*loop, [&] { return drained; }));
}
