// /images/…: pull (POST /images/create, streamed JSON progress), push, list, inspect, tag, delete,
// prune, save (GET /images/get, a tar stream) and load (POST /images/load).
#include "common/fmt_absl.h"
#include "common/logging.h"
#include "common/status.h"
#include "engine/api/routes.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace liman::engine::api {

using nlohmann::json;

namespace {

using ProgressSink = std::function<void(const json&)>;

// A pull's or push's JSON progress messages: the response starts with the first one; an error
// before it (no such tag, registry unreachable) is a plain HTTP error the CLI prints, one after
// it the stream's last message ({"errorDetail", "error"}).
absl::Status ReplyProgress(http::Call& call, const std::function<absl::Status(const ProgressSink&)>& transfer) {
  bool streaming = false;
  absl::Status done = transfer([&](const json& message) {
    if (!streaming) streaming = call.response.StartStream(200, "application/json");
    call.response.Write(message.dump() + "\r\n");
  });
  if (!done.ok() && !streaming) return done;
  if (!done.ok()) {
    std::string text(done.message());
    call.response.Write(json{{"errorDetail", {{"message", text}}}, {"error", text}}.dump() + "\r\n");
  }
  call.response.End();
  return absl::OkStatus();
}

}  // namespace

void AddImageRoutes(http::Router& router, Daemon& daemon) {
  router.Add("POST", "/images/create", [&daemon](http::Call& call) -> absl::Status {
    std::string image = call.request.Query("fromImage").value_or("");
    if (image.empty()) {
      std::string from_source = call.request.Query("fromSrc").value_or("");
      if (from_source.empty()) return absl::InvalidArgumentError("fromImage is required");
      // docker import: the archive is the body ("-"); a URL would be fetched, which is not done here.
      if (from_source != "-") return absl::UnimplementedError("import from a URL is not supported: send the archive");
      Daemon::ImportRequest request{.repo = call.request.Query("repo").value_or(""),
                                    .tag = call.request.Query("tag").value_or(""),
                                    .message = call.request.Query("message").value_or(""),
                                    .changes = call.request.QueryAll("changes")};
      LIMAN_ASSIGN_OR_RETURN(std::string id, daemon.ImportImage(request, [&call] { return call.body_stream->Next(); }));
      call.response.StartStream(200, "application/json");
      call.response.Write(json{{"status", id}}.dump() + "\r\n");
      call.response.End();
      return absl::OkStatus();
    }
    return ReplyProgress(call, [&](const ProgressSink& progress) {
      return daemon.PullImage(image, call.request.Query("tag").value_or(""), call.request.Header("X-Registry-Auth"),
                              progress);
    });
  }, http::BodyMode::kStreamed);
  router.Add("POST", "/images/{name*}/push", [&daemon](http::Call& call) -> absl::Status {
    return ReplyProgress(call, [&](const ProgressSink& progress) {
      return daemon.PushImage(call.Param("name"), call.request.Query("tag").value_or(""),
                              call.request.Header("X-Registry-Auth"), progress);
    });
  });
  // docker save.
  auto save = [&daemon](http::Call& call, const std::vector<std::string>& names) -> absl::Status {
    return ReplyTarStream(call, fmt::format("docker save {}", fmt::join(names, " ")),
                          [&](const TarSink& sink) { return daemon.SaveImages(names, sink); });
  };
  router.Add("GET", "/images/get", [save](http::Call& call) -> absl::Status {
    return save(call, call.request.QueryAll("names"));
  });
  router.Add("GET", "/images/{name*}/get", [save](http::Call& call) -> absl::Status {
    return save(call, {call.Param("name")});
  });
  // docker load: the archive is the request body; each loaded image is a JSON message.
  // docker load: the archive is the request body, passed on to Transfer.Import as it arrives (an
  // image archive can be gigabytes).
  router.Add(
      "POST", "/images/load",
      [&daemon](http::Call& call) -> absl::Status {
        LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> loaded, daemon.LoadImages([&call] { return call.body_stream->Next(); }));
        call.response.StartStream(200, "application/json");
        for (const std::string& line : loaded) call.response.Write(json{{"stream", line + "\n"}}.dump() + "\r\n");
        call.response.End();
        return absl::OkStatus();
      },
      http::BodyMode::kStreamed);
  // docker build, the legacy builder (moby's postBuild with version=1): the context tar is the
  // body; progress and errors go in the stream ({"stream"}, {"aux"}, {"errorDetail","error"}).
  router.Add(
      "POST", "/build",
      [&daemon](http::Call& call) -> absl::Status {
        const http::HttpRequest& request = call.request;
        if (request.Query("version").value_or("1") == "2")
          return absl::InvalidArgumentError("BuildKit is not supported by this engine: use the legacy builder (DOCKER_BUILDKIT=0)");
        if (!request.Query("remote").value_or("").empty())
          return absl::InvalidArgumentError("building from a remote context is not supported: send the context");
        Daemon::BuildRequest build;
        build.dockerfile = request.Query("dockerfile").value_or("");
        if (build.dockerfile.empty()) build.dockerfile = "Dockerfile";
        build.tags = request.QueryAll("t");
        build.quiet = request.QueryBool("q");
        build.force_remove = request.QueryBool("forcerm");
        build.remove = build.force_remove || request.Query("rm").value_or("").empty() || request.QueryBool("rm");
        build.network_mode = request.Query("networkmode").value_or("");
        if (build.network_mode.empty()) build.network_mode = "default";  // the 28 client sends none
        build.target = request.Query("target").value_or("");
        build.no_cache = request.QueryBool("nocache");
        auto string_map = [&](const char* key, std::map<std::string, std::string>& out) -> absl::Status {
          std::string text = request.Query(key).value_or("");
          if (text.empty()) return absl::OkStatus();
          json parsed = json::parse(text, nullptr, false);
          if (!parsed.is_object()) return absl::InvalidArgumentError(fmt::format("invalid {}: not a JSON object", key));
          for (const auto& [name, value] : parsed.items())
            if (value.is_string()) out[name] = value.get<std::string>();
          return absl::OkStatus();
        };
        LIMAN_RETURN_IF_ERROR(string_map("buildargs", build.build_args));
        LIMAN_RETURN_IF_ERROR(string_map("labels", build.labels));
        call.response.StartStream(200, "application/json");
        auto emit = [&call](const json& message) { call.response.Write(message.dump() + "\r\n"); };
        absl::Status built = daemon.BuildImage(build, [&call] { return call.body_stream->Next(); }, emit);
        if (!built.ok()) {
          std::string message(built.message());
          json detail = {{"message", message}};
          // A RUN's exit code becomes the CLI's (jsonmessage's Code).
          static constexpr std::string_view kCodeMark = "returned a non-zero code: ";
          if (size_t at = message.rfind(kCodeMark); at != std::string::npos)
            detail["code"] = std::atoi(message.c_str() + at + kCodeMark.size());
          emit(json{{"errorDetail", detail}, {"error", message}});
        }
        call.response.End();
        return absl::OkStatus();
      },
      http::BodyMode::kStreamed);
  router.Add("POST", "/build/prune", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json pruned, daemon.PruneBuildCache());
    call.Json(200, pruned);
    return absl::OkStatus();
  });
  router.Add("GET", "/images/json", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json list, daemon.ListImages());
    call.Json(200, list);
    return absl::OkStatus();
  });
  router.Add("POST", "/images/prune", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json filters, QueryFilters(call));
    LIMAN_ASSIGN_OR_RETURN(json pruned, daemon.PruneImages(filters));
    call.Json(200, pruned);
    return absl::OkStatus();
  });
  router.Add("GET", "/images/{name*}/json", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json image, daemon.InspectImage(call.Param("name")));
    call.Json(200, image);
    return absl::OkStatus();
  });
  router.Add("GET", "/images/{name*}/history", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json history, daemon.ImageHistory(call.Param("name")));
    call.Json(200, history);
    return absl::OkStatus();
  });
  router.Add("POST", "/images/{name*}/tag", [&daemon](http::Call& call) -> absl::Status {
    std::string repo = call.request.Query("repo").value_or("");
    if (repo.empty()) return absl::InvalidArgumentError("repository name (repo) is required");
    LIMAN_RETURN_IF_ERROR(daemon.TagImage(call.Param("name"), repo, call.request.Query("tag").value_or("")));
    call.response.Reply(201, "", "");
    return absl::OkStatus();
  });
  // docker commit (moby's postCommit): pause unless pause=0; a body of container config fields.
  router.Add("POST", "/commit", [&daemon](http::Call& call) -> absl::Status {
    Daemon::CommitRequest request;
    request.repo = call.request.Query("repo").value_or("");
    request.tag = call.request.Query("tag").value_or("");
    request.comment = call.request.Query("comment").value_or("");
    request.author = call.request.Query("author").value_or("");
    request.pause = !call.request.Query("pause").has_value() || call.request.QueryBool("pause");
    request.changes = call.request.QueryAll("changes");
    LIMAN_ASSIGN_OR_RETURN(request.config, call.BodyJson());
    std::string container = call.request.Query("container").value_or("");
    if (container.empty()) return absl::NotFoundError("No such container: ");
    LIMAN_ASSIGN_OR_RETURN(std::string id, daemon.CommitContainer(container, request));
    call.Json(201, json{{"Id", id}});
    return absl::OkStatus();
  });
  router.Add("DELETE", "/images/{name*}", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json result, daemon.RemoveImage(call.Param("name"), call.request.QueryBool("force")));
    call.Json(200, result);
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
