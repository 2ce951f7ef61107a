#include <poll.h>

#include "common/status.h"
#include "engine/api/routes.h"
#include "fmt/format.h"

namespace liman::engine::api {

http::HeaderList DefaultHeaders() {
  return {{"Api-Version", http::kMaxApiVersion},
          {"Docker-Experimental", "false"},
          {"Ostype", "linux"},
          {"Server", fmt::format("Liman/{} (linux)", LIMAN_VERSION)}};
}

bool ClientGone(int fd, bool whole) {
  struct pollfd check{fd, static_cast<short>(POLLRDHUP), 0};
  if (::poll(&check, 1, 0) <= 0) return false;
  if (check.revents & (POLLHUP | POLLERR)) return true;
  return !whole && (check.revents & POLLRDHUP);
}

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
  router.Add("GET", "/system/df", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(nlohmann::json usage, daemon.SystemDiskUsage());
    call.Json(200, usage);
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
