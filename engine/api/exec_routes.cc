// /containers/{name}/exec and /exec/{id}/start|resize|json.
#include <charconv>

#include "common/status.h"
#include "engine/api/routes.h"
#include "engine/daemon/stream_frame.h"

namespace liman::engine::api {

using nlohmann::json;

void AddExecRoutes(http::Router& router, Daemon& daemon) {
  router.Add("POST", "/containers/{name}/exec", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_ASSIGN_OR_RETURN(std::string id, daemon.CreateExec(call.Param("name"), body));
    call.Json(201, {{"Id", id}});
    return absl::OkStatus();
  });
  router.Add("POST", "/exec/{id}/start", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    bool detach = body.is_object() && body.value("Detach", false);
    LIMAN_ASSIGN_OR_RETURN(bool tty, daemon.ExecTty(call.Param("id")));
    if (detach) {
      LIMAN_RETURN_IF_ERROR(daemon.RunExec(call.Param("id"), -1, ""));
      call.response.Reply(200, "", "");
      return absl::OkStatus();
    }
    const char* type =
        !tty && call.api_minor >= 42 ? "application/vnd.docker.multiplexed-stream" : "application/vnd.docker.raw-stream";
    http::HijackedStream conn = call.response.Hijack(type, std::move(call.leftover));
    absl::Status ran = daemon.RunExec(call.Param("id"), conn.fd, std::move(conn.buffered));
    if (!ran.ok()) {
      // Hijacked already: the error goes down the stream as the system stream (3).
      std::string message = std::string(ran.message()) + "\n";
      (void)SendAll(conn.fd, tty ? message : StreamFrame(StreamId::kSystem, message));
    }
    return absl::OkStatus();
  });
  router.Add("POST", "/exec/{id}/resize", [&daemon](http::Call& call) -> absl::Status {
    auto number = [&](const char* key) {
      std::string text = call.request.Query(key).value_or("0");
      uint32_t value = 0;
      std::from_chars(text.data(), text.data() + text.size(), value);
      return value;
    };
    LIMAN_RETURN_IF_ERROR(daemon.ResizeExec(call.Param("id"), number("w"), number("h")));
    call.response.Reply(200, "text/plain", "");
    return absl::OkStatus();
  });
  router.Add("GET", "/exec/{id}/json", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json exec, daemon.InspectExec(call.Param("id")));
    call.Json(200, exec);
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
