#include <poll.h>

#include "common/logging.h"
#include "common/status.h"
#include "engine/api/routes.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace liman::engine::api {

using nlohmann::json;

http::HeaderList DefaultHeaders() {
  return {{"Api-Version", http::kMaxApiVersion},
          {"Docker-Experimental", "false"},
          {"Ostype", "linux"},
          {"Server", fmt::format("Liman/{} (linux)", LIMAN_VERSION)}};
}

absl::Status ReplyTarStream(http::Call& call, std::string_view what,
                            const std::function<absl::Status(const TarSink&)>& produce) {
  absl::Status produced = produce([&call](std::string_view data) -> absl::Status {
    if (!call.response.replied() && !call.response.StartStream(200, "application/x-tar"))
      return absl::CancelledError("the client went away");
    if (!call.response.Write(data)) return absl::CancelledError("the client went away");
    return absl::OkStatus();
  });
  if (!produced.ok() && !call.response.replied()) return produced;
  if (!produced.ok()) {
    LogWarn("{}: {}", what, produced);
    call.response.Abort();
    return absl::OkStatus();
  }
  if (!call.response.replied()) call.response.StartStream(200, "application/x-tar");  // no bytes at all
  call.response.End();
  return absl::OkStatus();
}

bool ClientGone(int fd, bool whole) {
  struct pollfd check{fd, static_cast<short>(POLLRDHUP), 0};
  if (::poll(&check, 1, 0) <= 0) return false;
  if (check.revents & (POLLHUP | POLLERR)) return true;
  return !whole && (check.revents & POLLRDHUP);
}

namespace {

// `since` and `until` as the CLI sends them (moby's timetypes.ParseTimestamps): seconds since the
// epoch (negative ones too), and a fraction of a second whose digits past the ninth are dropped.
absl::StatusOr<std::optional<absl::Time>> EventTime(const http::Call& call, std::string_view key) {
  std::string text = call.request.Query(key).value_or("");
  if (text.empty()) return std::optional<absl::Time>();
  size_t dot = text.find('.');
  std::string seconds = text.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
  auto digits = [](std::string_view s) { return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos; };
  std::string_view unsigned_seconds = std::string_view(seconds).substr(seconds.starts_with('-') ? 1 : 0);
  if (!digits(unsigned_seconds) || unsigned_seconds.size() > 18 || (dot != std::string::npos && !digits(fraction)))
    return absl::InvalidArgumentError(fmt::format("invalid value for {}: {}", key, Quote(text)));
  fraction.resize(9, '0');
  return std::optional<absl::Time>(absl::FromUnixSeconds(std::stoll(seconds)) + absl::Nanoseconds(std::stoll(fraction)));
}

}  // namespace

void AddSystemRoutes(http::Router& router, Daemon& daemon) {
  router.Add("GET", "/_ping", [](http::Call& call) {
    call.response.Reply(200, "text/plain; charset=utf-8", "OK",
                        {{"Builder-Version", "1"}, {"Cache-Control", "no-cache, no-store, must-revalidate"},
                         {"Pragma", "no-cache"}});
    return absl::OkStatus();
  });
  router.Add("GET", "/version", [&daemon](http::Call& call) {
    call.Json(200, daemon.Version());
    return absl::OkStatus();
  });
  router.Add("GET", "/info", [&daemon](http::Call& call) {
    call.Json(200, daemon.Info());
    return absl::OkStatus();
  });
  // docker login: the credentials checked against the registry; the CLI keeps them.
  router.Add("POST", "/auth", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    if (!body.is_object()) return absl::InvalidArgumentError("the auth config must be a JSON object");
    auto text = [&](const char* key) -> absl::StatusOr<std::string> {
      if (!body.contains(key) || body[key].is_null()) return std::string();
      if (!body[key].is_string())
        return absl::InvalidArgumentError(fmt::format("json: cannot unmarshal {} into Go struct field AuthConfig.{} of type string",
                                                      body[key].type_name(), key));
      return body[key].get<std::string>();
    };
    Daemon::RegistryLogin login;
    LIMAN_ASSIGN_OR_RETURN(login.username, text("username"));
    LIMAN_ASSIGN_OR_RETURN(login.password, text("password"));
    LIMAN_ASSIGN_OR_RETURN(login.identity_token, text("identitytoken"));
    LIMAN_ASSIGN_OR_RETURN(login.server_address, text("serveraddress"));
    // A refusal is 401 here only: the CLI answers a 401 to a pull or push with a login prompt.
    if (absl::Status done = daemon.Login(login); absl::IsUnauthenticated(done)) {
      call.Json(401, json{{"message", std::string(done.message())}});
      return absl::OkStatus();
    } else if (!done.ok()) {
      return done;
    }
    call.Json(200, json{{"Status", "Login Succeeded"}, {"IdentityToken", ""}});
    return absl::OkStatus();
  });
  // docker events: the kept events from `since`, then new ones as they come, until `until` or
  // the client goes away; one JSON message a line, the headers sent at once.
  router.Add("GET", "/events", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(std::optional<absl::Time> since, EventTime(call, "since"));
    LIMAN_ASSIGN_OR_RETURN(std::optional<absl::Time> until, EventTime(call, "until"));
    LIMAN_ASSIGN_OR_RETURN(nlohmann::json filters, QueryFilters(call));
    LIMAN_ASSIGN_OR_RETURN(EventFilter filter, EventFilter::Parse(filters));
    if (!call.response.StartStream(200, "application/json")) return absl::OkStatus();
    int fd = call.response.fd();
    daemon.events().Follow(
        since, until, filter,
        [&call](const EngineEvent& event) { return call.response.Write(event.ToJson().dump() + "\n"); },
        [fd] { return ClientGone(fd, false); });
    call.response.End();
    return absl::OkStatus();
  });
  router.Add("GET", "/system/df", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(nlohmann::json usage, daemon.SystemDiskUsage());
    call.Json(200, usage);
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
