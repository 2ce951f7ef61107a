// `content ls|get|rm` (ctr content list/get/delete).
#include <google/protobuf/util/time_util.h>

#include <ctime>

#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

namespace content = ::containerd::services::content::v1;

absl::StatusOr<int> ListContent(Client& client, const std::vector<std::string>& filters, bool quiet) {
  content::ListContentRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  auto context = client.Context();
  auto reader = client.Content().List(context.get(), request);
  content::ListContentResponse response;
  TabWriter table(1, 8, 1, '\t');
  std::string quiet_out;
  if (!quiet) table.Write("DIGEST\tSIZE\tAGE\tLABELS\n");
  double now = static_cast<double>(std::time(nullptr));
  while (reader->Read(&response)) {
    for (const auto& info : response.info()) {
      if (quiet) {
        quiet_out += info.digest() + "\n";
        continue;
      }
      double age = now - static_cast<double>(info.created_at().seconds()) - info.created_at().nanos() / 1e9;
      std::string labels;
      for (const auto& [key, value] : info.labels()) labels += (labels.empty() ? "" : ",") + key + "=" + value;
      table.Write(fmt::format("{}\t{}\t{}\t{}\n", info.digest(), HumanSize(static_cast<double>(info.size())),
                              HumanDuration(age), labels.empty() ? "-" : labels));
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallError(status, "list content");
  WriteOut(quiet ? quiet_out : table.Flush());
  return 0;
}

absl::StatusOr<int> GetContent(Client& client, const std::string& digest) {
  content::ReadContentRequest request;
  request.set_digest(digest);
  auto context = client.Context();
  auto reader = client.Content().Read(context.get(), request);
  content::ReadContentResponse response;
  while (reader->Read(&response)) WriteOut(response.data());
  grpc::Status status = reader->Finish();
  if (!status.ok()) return CallError(status, fmt::format("read {}", digest));
  return 0;
}

absl::StatusOr<int> RemoveContent(Client& client, const std::vector<std::string>& digests) {
  absl::Status first;
  for (const std::string& digest : digests) {
    content::DeleteContentRequest request;
    request.set_digest(digest);
    google::protobuf::Empty empty;
    auto context = client.Context();
    grpc::Status status = client.Content().Delete(context.get(), request, &empty);
    if (status.ok()) continue;
    absl::Status error = CallError(status, fmt::format("delete {}", digest));
    fmt::print(stderr, "liman-ctr: {}\n", error.message());
    if (first.ok()) first = error;
  }
  if (!first.ok()) return absl::Status(first.code(), "unable to delete one or more blobs");
  return 0;
}

}  // namespace

void AddContentCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("content", "manage content");
  group->require_subcommand(1);

  struct ListOptions {
    bool quiet = false;
    std::vector<std::string> filters;
  };
  auto list_options = Options<ListOptions>();
  CLI::App* list = group->add_subcommand("ls", "list all blobs in the store")->alias("list");
  list->add_flag("--quiet,-q", list_options->quiet, "print only the blob digest");
  list->add_option("filters", list_options->filters, "filters (containerd syntax)");
  OnRun(list, line, [list_options](Client& client) {
    return ListContent(client, list_options->filters, list_options->quiet);
  });

  auto digest = std::make_shared<std::string>();
  CLI::App* get = group->add_subcommand("get", "get the data for an object");
  get->add_option("digest", *digest, "blob digest")->required();
  OnRun(get, line, [digest](Client& client) { return GetContent(client, *digest); });

  auto digests = std::make_shared<std::vector<std::string>>();
  CLI::App* remove = group->add_subcommand("rm", "permanently delete one or more blobs")
                         ->alias("delete")->alias("del")->alias("remove");
  remove->add_option("digests", *digests, "blob digests")->required();
  OnRun(remove, line, [digests](Client& client) { return RemoveContent(client, *digests); });
}

}  // namespace liman::ctr
