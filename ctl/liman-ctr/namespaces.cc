// `namespaces ls|create|rm` (aliases as ctr: namespace, ns; list; remove, delete).
#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::ctr {

namespace ns = ::containerd::services::namespaces::v1;

void AddNamespacesCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("namespaces", "manage namespaces");
  group->alias("namespace")->alias("ns")->require_subcommand(1);

  struct ListOptions {
    bool quiet = false;
  };
  auto list_options = Options<ListOptions>();
  CLI::App* list = group->add_subcommand("ls", "list namespaces")->alias("list");
  list->add_flag("--quiet,-q", list_options->quiet, "print only the namespace name");
  OnRun(list, line, [list_options](Client& client) -> absl::StatusOr<int> {
    ns::ListNamespacesRequest request;
    ns::ListNamespacesResponse response;
    auto context = client.Context();
    grpc::Status status = client.Namespaces().List(context.get(), request, &response);
    if (!status.ok()) return CallError(status, "list namespaces");
    if (list_options->quiet) {
      std::string out;
      for (const auto& n : response.namespaces()) out += n.name() + "\n";
      WriteOut(out);
      return 0;
    }
    TabWriter table(1, 8, 1, ' ');
    table.Write("NAME\tLABELS\t\n");
    for (const auto& n : response.namespaces())
      table.Write(fmt::format("{}\t{}\t\n", n.name(), FormatLabels(ToMap(n.labels()), "")));
    WriteOut(table.Flush());
    return 0;
  });

  struct CreateOptions {
    std::string name;
    std::vector<std::string> labels;
  };
  auto create_options = Options<CreateOptions>();
  CLI::App* create = group->add_subcommand("create", "create a new namespace")->alias("c");
  create->add_option("name", create_options->name, "namespace")->required();
  create->add_option("labels", create_options->labels, "labels: KEY=VALUE");
  OnRun(create, line, [create_options](Client& client) -> absl::StatusOr<int> {
    ns::CreateNamespaceRequest request;
    request.mutable_namespace_()->set_name(create_options->name);
    for (const auto& [key, value] : ParseLabels(create_options->labels))
      (*request.mutable_namespace_()->mutable_labels())[key] = value;
    ns::CreateNamespaceResponse response;
    auto context = client.Context();
    grpc::Status status = client.Namespaces().Create(context.get(), request, &response);
    if (!status.ok()) return CallError(status, fmt::format("create namespace {}", Quote(create_options->name)));
    return 0;
  });

  struct RemoveOptions {
    std::vector<std::string> names;
  };
  auto remove_options = Options<RemoveOptions>();
  CLI::App* remove = group->add_subcommand("rm", "remove one or more namespaces")->alias("remove")->alias("delete");
  remove->add_option("names", remove_options->names, "namespaces")->required();
  OnRun(remove, line, [remove_options](Client& client) -> absl::StatusOr<int> {
    absl::Status first;
    for (const std::string& name : remove_options->names) {
      ns::DeleteNamespaceRequest request;
      request.set_name(name);
      google::protobuf::Empty empty;
      auto context = client.Context();
      grpc::Status status = client.Namespaces().Delete(context.get(), request, &empty);
      if (!status.ok()) {
        absl::Status error = CallError(status, fmt::format("delete namespace {}", Quote(name)));
        fmt::print(stderr, "liman-ctr: {}\n", error.message());
        if (first.ok()) first = error;
        continue;
      }
      WriteOut(name + "\n");
    }
    if (!first.ok()) return absl::Status(first.code(), "unable to delete one or more namespaces");
    return 0;
  });
}

}  // namespace liman::ctr
