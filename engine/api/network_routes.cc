// /networks: list, inspect, create, remove, connect, disconnect, prune.
#include "common/status.h"
#include "engine/api/routes.h"

namespace liman::engine::api {

using nlohmann::json;

void AddNetworkRoutes(http::Router& router, Daemon& daemon) {
  router.Add("GET", "/networks", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json filters, QueryFilters(call));
    LIMAN_ASSIGN_OR_RETURN(json list, daemon.ListNetworks(filters));
    call.Json(200, list);
    return absl::OkStatus();
  });
  router.Add("GET", "/networks/{id}", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json network, daemon.InspectNetwork(call.Param("id")));
    call.Json(200, network);
    return absl::OkStatus();
  });
  router.Add("POST", "/networks/create", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_ASSIGN_OR_RETURN(json created, daemon.CreateNetwork(body));
    call.Json(201, created);
    return absl::OkStatus();
  });
  router.Add("DELETE", "/networks/{id}", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.RemoveNetwork(call.Param("id")));
    call.NoContent();
    return absl::OkStatus();
  });
  router.Add("POST", "/networks/{id}/connect", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_RETURN_IF_ERROR(daemon.ConnectNetwork(call.Param("id"), body));
    call.response.Reply(200, "", "");
    return absl::OkStatus();
  });
  router.Add("POST", "/networks/{id}/disconnect", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_RETURN_IF_ERROR(daemon.DisconnectNetwork(call.Param("id"), body));
    call.response.Reply(200, "", "");
    return absl::OkStatus();
  });
  router.Add("POST", "/networks/prune", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json pruned, daemon.PruneNetworks());
    call.Json(200, pruned);
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
