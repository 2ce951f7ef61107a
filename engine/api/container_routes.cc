// /containers/…: create, start, stop, kill, restart, update, rename, prune, pause, wait, attach (hijacked), logs,
// resize, inspect, list, top, delete.
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <thread>

#include "common/logging.h"
#include "common/status.h"
#include "engine/api/routes.h"
#include "engine/daemon/copy_path.h"
#include "engine/daemon/stream_frame.h"
#include "fmt/format.h"

namespace liman::engine::api {

using nlohmann::json;

namespace {

// Content type of attach/logs/exec streams: multiplexed gets its own type from API 1.42.
const char* StreamType(const http::Call& call, bool tty) {
  return !tty && call.api_minor >= 42 ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
}

absl::StatusOr<std::optional<int>> OptionalInt(const http::Call& call, const char* key) {
  std::optional<std::string> text = call.request.Query(key);
  if (!text || text->empty()) return std::optional<int>();
  int value = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size())
    return absl::InvalidArgumentError(fmt::format("invalid value for {}: {}", key, Quote(*text)));
  return std::optional<int>(value);
}

absl::Status Attach(Daemon& daemon, http::Call& call) {
  LIMAN_ASSIGN_OR_RETURN(Daemon::LogSource source, daemon.ContainerLogSource(call.Param("name")));
  const http::HttpRequest& request = call.request;
  bool want_stdin = request.QueryBool("stdin") && source.open_stdin;
  bool want_stdout = request.QueryBool("stdout");
  bool want_stderr = request.QueryBool("stderr");
  bool stream = request.QueryBool("stream");
  bool logs = request.QueryBool("logs");
  uint64_t exits = daemon.ContainerExits(source.id);
  // A container not started yet is followed from its first byte; a running one from now on.
  bool running = daemon.ContainerActive(source.id, /*include_created=*/false, exits);
  http::HijackedStream conn = call.response.Hijack(StreamType(call, source.tty), std::move(call.leftover));
  int fd = conn.fd;

  std::atomic<bool> output_done{false};
  std::thread stdin_copier;
  if (want_stdin && stream) {
    stdin_copier = std::thread([&daemon, &source, &conn, &output_done, fd] {
      if (!conn.buffered.empty()) (void)daemon.WriteStdin(source.id, conn.buffered);
      char buffer[32768];
      while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (!daemon.WriteStdin(source.id, std::string_view(buffer, static_cast<size_t>(n))).ok()) break;
      }
      // The client closed its stdin (half-close): with StdinOnce the container's stdin ends too.
      if (!output_done && source.stdin_once) (void)daemon.CloseStdin(source.id);
    });
  }

  if (stream || logs) {
    LogReadOptions options;
    options.stdout_stream = want_stdout;
    options.stderr_stream = want_stderr;
    options.follow = stream;
    options.from_end = running && !logs;
    options.max_files = source.max_files;
    if (!logs && !running) options.from_end = false;
    bool tty = source.tty;
    absl::Status read = ReadJsonLog(
        source.log_path, options,
        [&](const LogEntry& entry) { return SendAll(fd, tty ? entry.log : StreamFrame(entry.stderr_stream ? StreamId::kStderr : StreamId::kStdout, entry.log)); },
        [&] { return !daemon.ContainerActive(source.id, /*include_created=*/true, exits) || ClientGone(fd, true); });
    (void)read;
  }
  output_done = true;
  ::shutdown(fd, SHUT_RDWR);
  if (stdin_copier.joinable()) stdin_copier.join();
  return absl::OkStatus();
}

absl::Status Logs(Daemon& daemon, http::Call& call) {
  LIMAN_ASSIGN_OR_RETURN(Daemon::LogSource source, daemon.ContainerLogSource(call.Param("name")));
  const http::HttpRequest& request = call.request;
  LogReadOptions options;
  options.stdout_stream = request.QueryBool("stdout");
  options.stderr_stream = request.QueryBool("stderr");
  if (!options.stdout_stream && !options.stderr_stream)
    return absl::InvalidArgumentError("Bad parameters: you must choose at least one stream");
  options.follow = request.QueryBool("follow");
  options.max_files = source.max_files;
  absl::Time now = absl::Now();
  if (std::optional<std::string> since = request.Query("since"); since && !since->empty() && *since != "0") {
    LIMAN_ASSIGN_OR_RETURN(absl::Time time, ParseLogTime(*since, now));
    options.since = time;
  }
  if (std::optional<std::string> until = request.Query("until"); until && !until->empty() && *until != "0") {
    LIMAN_ASSIGN_OR_RETURN(absl::Time time, ParseLogTime(*until, now));
    options.until = time;
  }
  if (std::optional<std::string> tail = request.Query("tail"); tail && !tail->empty() && *tail != "all") {
    int64_t lines = 0;
    auto [end, error] = std::from_chars(tail->data(), tail->data() + tail->size(), lines);
    if (error == std::errc() && end == tail->data() + tail->size() && lines >= 0) options.tail = lines;
  }
  bool timestamps = request.QueryBool("timestamps");
  uint64_t exits = daemon.ContainerExits(source.id);
  int fd = call.response.fd();
  call.response.StartStream(200, StreamType(call, source.tty));
  absl::Status read = ReadJsonLog(
      source.log_path, options,
      [&](const LogEntry& entry) {
        std::string line = timestamps ? FormatLogTime(entry.time) + " " + entry.log : entry.log;
        return call.response.Write(source.tty ? line : StreamFrame(entry.stderr_stream ? StreamId::kStderr : StreamId::kStdout, line));
      },
      [&] { return !daemon.ContainerActive(source.id, /*include_created=*/false, exits) || ClientGone(fd, false); });
  if (!read.ok()) call.response.Write(source.tty ? std::string(read.message()) : StreamFrame(StreamId::kSystem, std::string(read.message())));
  call.response.End();
  return absl::OkStatus();
}

absl::Status Wait(Daemon& daemon, http::Call& call) {
  LIMAN_RETURN_IF_ERROR(daemon.InspectContainer(call.Param("name")).status());
  std::string condition = call.request.Query("condition").value_or("");
  if (!condition.empty() && condition != "not-running" && condition != "next-exit" && condition != "removed")
    return absl::InvalidArgumentError(fmt::format("invalid condition: {}", Quote(condition)));
  // Headers go out at once: `docker run` waits for them before it starts the container.
  int fd = call.response.fd();
  call.response.StartStream(200, "application/json");
  absl::StatusOr<WaitResult> result =
      daemon.WaitContainer(call.Param("name"), condition, [fd] { return ClientGone(fd, false); });
  json body;
  if (result.ok()) {
    // A start error was the start request's answer already; the exit code carries it here.
    body = {{"StatusCode", result->status_code}, {"Error", nullptr}};
  } else {
    body = {{"StatusCode", -1}, {"Error", {{"Message", std::string(result.status().message())}}}};
  }
  call.response.Write(body.dump() + "\n");
  call.response.End();
  return absl::OkStatus();
}

// docker cp (moby's router/container/copy.go): HEAD stats a path, GET sends it as a tar, PUT
// unpacks a tar into a directory. HEAD and GET carry the stat in X-Docker-Container-Path-Stat.
void AddArchiveRoutes(http::Router& router, Daemon& daemon) {
  auto path_of = [](http::Call& call) -> absl::StatusOr<std::string> {
    std::string path = call.request.Query("path").value_or("");
    if (path.empty()) return absl::InvalidArgumentError("bad parameter: path cannot be empty");
    return path;
  };
  router.Add("HEAD", "/containers/{name}/archive", [&daemon, path_of](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::string path, path_of(call));
    LIMAN_ASSIGN_OR_RETURN(json stat, daemon.StatContainerPath(call.Param("name"), path));
    call.response.Reply(200, "", "", {{"X-Docker-Container-Path-Stat", PathStatHeader(stat)}});
    return absl::OkStatus();
  });
  // An error before the first byte is a plain HTTP error; one after it breaks the transfer, so that
  // no truncated archive looks whole.
  router.Add("GET", "/containers/{name}/archive", [&daemon, path_of](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::string path, path_of(call));
    absl::Status sent = daemon.ArchiveContainerPath(
        call.Param("name"), path,
        [&call](const json& stat) -> absl::Status {
          if (!call.response.StartStream(200, "application/x-tar", {{"X-Docker-Container-Path-Stat", PathStatHeader(stat)}}))
            return absl::CancelledError("the client went away");
          return absl::OkStatus();
        },
        [&call](std::string_view data) -> absl::Status {
          if (!call.response.Write(data)) return absl::CancelledError("the client went away");
          return absl::OkStatus();
        });
    if (!sent.ok() && !call.response.replied()) return sent;
    if (!sent.ok()) {
      LogWarn("docker cp from {}:{}: {}", call.Param("name"), path, sent);
      call.response.Abort();
      return absl::OkStatus();
    }
    call.response.End();
    return absl::OkStatus();
  });
  router.Add(
      "PUT", "/containers/{name}/archive",
      [&daemon, path_of](http::Call& call) -> absl::Status {
        absl::StatusOr<std::string> path = path_of(call);
        absl::Status extracted = path.status();
        if (path.ok())
          extracted = daemon.ExtractToContainer(call.Param("name"), *path, call.request.QueryBool("copyUIDGID"),
                                                call.request.QueryBool("noOverwriteDirNonDir"),
                                                [&call] { return call.body_stream->Next(); });
        // A refusal before the archive's end is answered at once; the server drops the rest.
        LIMAN_RETURN_IF_ERROR(extracted);
        call.response.Reply(200, "", "");
        return absl::OkStatus();
      },
      http::BodyMode::kStreamed);
}

}  // namespace

void AddContainerRoutes(http::Router& router, Daemon& daemon) {
  router.Add("POST", "/containers/create", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_ASSIGN_OR_RETURN(json created, daemon.CreateContainer(call.request.Query("name").value_or(""), body));
    call.Json(201, created);
    return absl::OkStatus();
  });
  router.Add("GET", "/containers/{name}/export", [&daemon](http::Call& call) -> absl::Status {
    return ReplyTarStream(call, "docker export " + call.Param("name"),
                          [&](const TarSink& sink) { return daemon.ExportContainer(call.Param("name"), sink); });
  });
  router.Add("GET", "/containers/{name}/changes", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json changes, daemon.ContainerChanges(call.Param("name")));
    call.Json(200, changes);
    return absl::OkStatus();
  });
  router.Add("GET", "/containers/json", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json filters, QueryFilters(call));
    LIMAN_ASSIGN_OR_RETURN(std::optional<int> limit, OptionalInt(call, "limit"));
    LIMAN_ASSIGN_OR_RETURN(json list, daemon.ListContainers(call.request.QueryBool("all"), limit.value_or(-1), filters));
    call.Json(200, list);
    return absl::OkStatus();
  });
  router.Add("GET", "/containers/{name}/json", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json record, daemon.InspectContainer(call.Param("name")));
    call.Json(200, record);
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/start", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(bool started, daemon.StartContainer(call.Param("name")));
    call.response.Reply(started ? 204 : 304, "", "");
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/stop", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<int> timeout, OptionalInt(call, "t"));
    LIMAN_ASSIGN_OR_RETURN(bool stopped,
                           daemon.StopContainer(call.Param("name"), timeout, call.request.Query("signal").value_or("")));
    call.response.Reply(stopped ? 204 : 304, "", "");
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/restart", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<int> timeout, OptionalInt(call, "t"));
    LIMAN_RETURN_IF_ERROR(daemon.RestartContainer(call.Param("name"), timeout));
    call.NoContent();
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/update", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_ASSIGN_OR_RETURN(json answer, daemon.UpdateContainer(call.Param("name"), body));
    call.Json(200, answer);
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/rename", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.RenameContainer(call.Param("name"), call.request.Query("name").value_or("")));
    call.NoContent();
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/prune", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json filters, QueryFilters(call));
    LIMAN_ASSIGN_OR_RETURN(json pruned, daemon.PruneContainers(filters));
    call.Json(200, pruned);
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/kill", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.KillContainer(call.Param("name"), call.request.Query("signal").value_or("")));
    call.NoContent();
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/pause", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.PauseContainer(call.Param("name"), true));
    call.NoContent();
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/unpause", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.PauseContainer(call.Param("name"), false));
    call.NoContent();
    return absl::OkStatus();
  });
  router.Add("POST", "/containers/{name}/wait", [&daemon](http::Call& call) { return Wait(daemon, call); });
  router.Add("POST", "/containers/{name}/attach", [&daemon](http::Call& call) { return Attach(daemon, call); });
  router.Add("GET", "/containers/{name}/logs", [&daemon](http::Call& call) { return Logs(daemon, call); });
  router.Add("POST", "/containers/{name}/resize", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<int> height, OptionalInt(call, "h"));
    LIMAN_ASSIGN_OR_RETURN(std::optional<int> width, OptionalInt(call, "w"));
    LIMAN_RETURN_IF_ERROR(daemon.ResizeContainer(call.Param("name"), "", static_cast<uint32_t>(width.value_or(0)),
                                                 static_cast<uint32_t>(height.value_or(0))));
    call.response.Reply(200, "text/plain", "");
    return absl::OkStatus();
  });
  router.Add("GET", "/containers/{name}/top", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json top, daemon.ContainerTop(call.Param("name")));
    call.Json(200, top);
    return absl::OkStatus();
  });
  router.Add("GET", "/containers/{name}/stats", [&daemon](http::Call& call) -> absl::Status {
    // stream defaults to true; the first sample decides between an error and a stream.
    std::optional<std::string> stream_text = call.request.Query("stream");
    bool stream = !stream_text || call.request.QueryBool("stream");
    bool started = false;
    absl::Status streamed = daemon.StreamStats(call.Param("name"), stream, call.request.QueryBool("one-shot"),
                                               [&](const json& sample) {
                                                 if (!started) started = call.response.StartStream(200, "application/json");
                                                 return call.response.Write(sample.dump() + "\n");
                                               });
    if (!started) return streamed.ok() ? absl::InternalError("no stats") : streamed;
    call.response.End();
    return absl::OkStatus();
  });
  AddArchiveRoutes(router, daemon);
  router.Add("DELETE", "/containers/{name}", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.RemoveContainer(call.Param("name"), call.request.QueryBool("force"), call.request.QueryBool("v")));
    call.NoContent();
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
