// events-server SOCKET: a stand-in for the manager's event endpoint (containerd's ttrpc
// `containerd.services.events.ttrpc.v1.Events/Forward`, where shims publish). Prints one line of
// JSON per event received — {"timestamp":…,"namespace":…,"topic":…,"event":{"@type":…,…}} —
// flushed at once so that tests can poll the output file. Runs until SIGTERM or SIGINT, then
// removes its socket.
#pragma once

#include <vector>

#include "integration/shimctl/cli.h"

namespace liman::shimctl {

std::vector<Command> EventsServerCommands();

}  // namespace liman::shimctl
