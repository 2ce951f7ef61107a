// `snapshots [--snapshotter NAME] ls|tree|rm` (ctr snapshots list/tree/delete).
#include <cstdlib>
#include <functional>
#include <map>

#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

namespace snapshots = ::containerd::services::snapshots::v1;

// Go's snapshots.Kind.String().
std::string KindName(snapshots::Kind kind) {
  switch (kind) {
    case snapshots::VIEW: return "View";
    case snapshots::ACTIVE: return "Active";
    case snapshots::COMMITTED: return "Committed";
    default: return "Unknown";
  }
}

absl::StatusOr<std::vector<snapshots::Info>> ListSnapshots(Client& client, const std::string& snapshotter) {
  snapshots::ListSnapshotsRequest request;
  request.set_snapshotter(snapshotter);
  auto context = client.Context();
  auto reader = client.Snapshots().List(context.get(), request);
  snapshots::ListSnapshotsResponse response;
  std::vector<snapshots::Info> infos;
  while (reader->Read(&response))
    for (const auto& info : response.info()) infos.push_back(info);
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallError(status, fmt::format("list snapshots of {}", Quote(snapshotter)));
  return infos;
}

// ctr's snapshotTree: roots are the snapshots without a parent, in walk order; a parent seen
// only as a parent still gets a node (but is no root).
std::string Tree(const std::vector<snapshots::Info>& infos) {
  struct Node {
    std::vector<std::string> children;
  };
  std::map<std::string, Node> nodes;
  std::vector<std::string> roots;
  for (const auto& info : infos) {
    nodes[info.name()];
    if (info.parent().empty()) {
      roots.push_back(info.name());
      continue;
    }
    nodes[info.parent()].children.push_back(info.name());
  }
  std::string out;
  std::function<void(const std::string&, int)> print = [&](const std::string& name, int level) {
    std::string prefix;
    for (int i = 0; i < level; ++i) prefix += "  ";
    if (level > 0) prefix += "\\_";
    out += prefix + " " + name + "\n";
    for (const std::string& child : nodes[name].children) print(child, level + 1);
  };
  for (const std::string& root : roots) print(root, 0);
  return out;
}

}  // namespace

void AddSnapshotsCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("snapshots", "manage snapshots");
  group->alias("snapshot")->require_subcommand(1);
  auto snapshotter = std::make_shared<std::string>(kDefaultSnapshotter);
  if (const char* env = std::getenv("CONTAINERD_SNAPSHOTTER"); env && *env) *snapshotter = env;
  group->add_option("--snapshotter", *snapshotter, "snapshotter name (env CONTAINERD_SNAPSHOTTER)")
      ->capture_default_str();

  CLI::App* list = group->add_subcommand("ls", "list snapshots")->alias("list");
  OnRun(list, line, [snapshotter](Client& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(auto infos, ListSnapshots(client, *snapshotter));
    TabWriter table(1, 8, 1, ' ');
    table.Write("KEY\tPARENT\tKIND\t\n");
    for (const auto& info : infos)
      table.Write(fmt::format("{}\t{}\t{}\t\n", info.name(), info.parent(), KindName(info.kind())));
    WriteOut(table.Flush());
    return 0;
  });

  CLI::App* tree = group->add_subcommand("tree", "display tree view of snapshot branches");
  OnRun(tree, line, [snapshotter](Client& client) -> absl::StatusOr<int> {
    LIMAN_ASSIGN_OR_RETURN(auto infos, ListSnapshots(client, *snapshotter));
    WriteOut(Tree(infos));
    return 0;
  });

  auto keys = std::make_shared<std::vector<std::string>>();
  CLI::App* remove = group->add_subcommand("rm", "remove snapshots")->alias("delete")->alias("del")->alias("remove");
  remove->add_option("keys", *keys, "snapshot keys")->required();
  OnRun(remove, line, [snapshotter, keys](Client& client) -> absl::StatusOr<int> {
    for (const std::string& key : *keys) {
      snapshots::RemoveSnapshotRequest request;
      request.set_snapshotter(*snapshotter);
      request.set_key(key);
      google::protobuf::Empty empty;
      auto context = client.Context();
      grpc::Status status = client.Snapshots().Remove(context.get(), request, &empty);
      if (!status.ok()) return CallError(status, fmt::format("failed to remove {}", Quote(key)));
    }
    return 0;
  });
}

}  // namespace liman::ctr
