// /volumes: create, list, inspect, delete, prune.
#include "common/status.h"
#include "engine/api/routes.h"

namespace liman::engine::api {

using nlohmann::json;

void AddVolumeRoutes(http::Router& router, Daemon& daemon) {
  router.Add("POST", "/volumes/create", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json body, call.BodyJson());
    LIMAN_ASSIGN_OR_RETURN(json volume, daemon.CreateVolume(body));
    call.Json(201, volume);
    return absl::OkStatus();
  });
  router.Add("GET", "/volumes", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json list, daemon.ListVolumes());
    call.Json(200, list);
    return absl::OkStatus();
  });
  router.Add("POST", "/volumes/prune", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json filters, QueryFilters(call));
    LIMAN_ASSIGN_OR_RETURN(json pruned, daemon.PruneVolumes(filters));
    call.Json(200, pruned);
    return absl::OkStatus();
  });
  router.Add("GET", "/volumes/{name}", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_ASSIGN_OR_RETURN(json volume, daemon.InspectVolume(call.Param("name")));
    call.Json(200, volume);
    return absl::OkStatus();
  });
  router.Add("DELETE", "/volumes/{name}", [&daemon](http::Call& call) -> absl::Status {
    LIMAN_RETURN_IF_ERROR(daemon.RemoveVolume(call.Param("name"), call.request.QueryBool("force")));
    call.NoContent();
    return absl::OkStatus();
  });
}

}  // namespace liman::engine::api
