// The Docker Engine API's routes, grouped as moby's api/server/router: system, containers,
// images. Each handler parses the request, calls the Daemon and writes Docker's response.
#pragma once

#include "engine/daemon/daemon.h"
#include "engine/http/router.h"

namespace liman::engine::api {

void AddSystemRoutes(http::Router& router, Daemon& daemon);
void AddContainerRoutes(http::Router& router, Daemon& daemon);
void AddImageRoutes(http::Router& router, Daemon& daemon);
void AddExecRoutes(http::Router& router, Daemon& daemon);
void AddVolumeRoutes(http::Router& router, Daemon& daemon);
void AddNetworkRoutes(http::Router& router, Daemon& daemon);

// The request's `filters` query parameter as JSON (null when absent); kInvalidArgument when
// it is not JSON.
absl::StatusOr<nlohmann::json> QueryFilters(const http::Call& call);

// The headers every response carries (moby's version middleware): Api-Version, Server, …
http::HeaderList DefaultHeaders();

// True once the client has closed its side (or its whole connection when `whole`).
bool ClientGone(int fd, bool whole);

// A tar that `produce` gives to its sink piece by piece, as the response (docker save, export):
// an error before the first byte is a plain HTTP error; one after it breaks the transfer (logged
// with `what`), so that no truncated archive looks whole.
using TarSink = std::function<absl::Status(std::string_view)>;
absl::Status ReplyTarStream(http::Call& call, std::string_view what,
                            const std::function<absl::Status(const TarSink&)>& produce);

}  // namespace liman::engine::api
