// `version`: ctr version's layout (client, then server version, revision and UUID).
#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "fmt/format.h"

namespace liman::ctr {

void AddVersionCommand(CLI::App& app, CommandLine& line) {
  CLI::App* version = app.add_subcommand("version", "print the client and server versions");
  OnRun(version, line, [](Client& client) -> absl::StatusOr<int> {
    WriteOut(fmt::format("Client:\n  Version:  {}\n  Revision: \n\n", LIMAN_VERSION));
    google::protobuf::Empty empty;
    ::containerd::services::version::v1::VersionResponse version;
    auto context = client.Context();
    grpc::Status status = client.Version().Version(context.get(), empty, &version);
    if (!status.ok()) return CallError(status, "version");
    WriteOut(fmt::format("Server:\n  Version:  {}\n  Revision: {}\n", version.version(), version.revision()));
    ::containerd::services::introspection::v1::ServerResponse server;
    auto server_context = client.Context();
    status = client.Introspection().Server(server_context.get(), empty, &server);
    if (!status.ok()) return CallError(status, "introspection server");
    WriteOut(fmt::format("  UUID: {}\n", server.uuid()));
    return 0;
  });
}

}  // namespace liman::ctr
