// `images ls|rm|tag` on the images service; pull, import and export go through Liman's Transfer
// service (transfer.cc).
#include <cstdio>

#include "common/status.h"
#include "ctl/liman-ctr/command.h"
#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/table.h"
#include "ctl/liman-ctr/transfer.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

namespace images = ::containerd::services::images::v1;

absl::StatusOr<int> ListImages(Client& client, const std::vector<std::string>& filters, bool quiet) {
  images::ListImagesRequest request;
  for (const auto& filter : filters) request.add_filters(filter);
  images::ListImagesResponse response;
  auto context = client.Context();
  grpc::Status status = client.Images().List(context.get(), request, &response);
  if (!status.ok()) return CallError(status, "failed to list images");
  if (quiet) {
    std::string out;
    for (const auto& image : response.images()) out += image.name() + "\n";
    WriteOut(out);
    return 0;
  }
  TabWriter table(1, 8, 1, ' ');
  table.Write("REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t\n");
  Platform host = HostPlatform();
  for (const auto& image : response.images()) {
    Descriptor target = FromProto(image.target());
    absl::StatusOr<int64_t> size = ImageSize(client.Blobs(), target, host);
    if (!size.ok())
      fmt::print(stderr, "liman-ctr: failed calculating size for image {}: {}\n", image.name(),
                 size.status().message());
    std::string platforms = "-";
    absl::StatusOr<std::vector<std::string>> found = ImagePlatforms(client.Blobs(), target);
    if (!found.ok()) {
      fmt::print(stderr, "liman-ctr: failed resolving platform for image {}: {}\n", image.name(),
                 found.status().message());
    } else if (!found->empty()) {
      platforms.clear();
      for (const auto& p : *found) platforms += (platforms.empty() ? "" : ",") + p;
    }
    table.Write(fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t\n", image.name(), target.media_type, target.digest,
                            HumanBytes(size.ok() ? *size : 0), platforms,
                            FormatLabels(ToMap(image.labels()), "-")));
  }
  WriteOut(table.Flush());
  return 0;
}

absl::StatusOr<int> RemoveImages(Client& client, const std::vector<std::string>& names, bool sync) {
  absl::Status first;
  for (const std::string& name : names) {
    images::DeleteImageRequest request;
    request.set_name(name);
    request.set_sync(sync);
    google::protobuf::Empty empty;
    auto context = client.Context();
    grpc::Status status = client.Images().Delete(context.get(), request, &empty);
    if (!status.ok()) {
      absl::Status error = CallError(status, fmt::format("unable to delete {}", name));
      fmt::print(stderr, "liman-ctr: {}\n", error.message());
      if (first.ok()) first = error;
      continue;
    }
    WriteOut(name + "\n");
  }
  if (!first.ok()) return absl::Status(first.code(), "unable to delete one or more images");
  return 0;
}

absl::StatusOr<int> TagImage(Client& client, const std::string& source, const std::vector<std::string>& targets,
                             bool force) {
  images::GetImageRequest get;
  get.set_name(source);
  images::GetImageResponse found;
  auto context = client.Context();
  grpc::Status status = client.Images().Get(context.get(), get, &found);
  if (!status.ok()) return CallError(status, fmt::format("get image {}", source));
  for (const std::string& target : targets) {
    images::CreateImageRequest create;
    *create.mutable_image() = found.image();
    create.mutable_image()->set_name(target);
    create.mutable_image()->clear_created_at();
    create.mutable_image()->clear_updated_at();
    images::CreateImageResponse created;
    auto create_context = client.Context();
    status = client.Images().Create(create_context.get(), create, &created);
    if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS && force) {
      images::DeleteImageRequest remove;
      remove.set_name(target);
      google::protobuf::Empty empty;
      auto remove_context = client.Context();
      status = client.Images().Delete(remove_context.get(), remove, &empty);
      if (!status.ok()) return CallError(status, fmt::format("delete image {}", target));
      auto again = client.Context();
      status = client.Images().Create(again.get(), create, &created);
    }
    if (!status.ok()) return CallError(status, fmt::format("create image {}", target));
    WriteOut(target + "\n");
  }
  return 0;
}

}  // namespace

void AddImagesCommands(CLI::App& app, CommandLine& line) {
  CLI::App* group = app.add_subcommand("images", "manage images");
  group->alias("image")->alias("i")->require_subcommand(1);

  struct ListOptions {
    bool quiet = false;
    std::vector<std::string> filters;
  };
  auto list_options = Options<ListOptions>();
  CLI::App* list = group->add_subcommand("ls", "list images known to the daemon")->alias("list");
  list->add_flag("--quiet,-q", list_options->quiet, "print only the image refs");
  list->add_option("filters", list_options->filters, "filters (containerd syntax)");
  OnRun(list, line, [list_options](Client& client) {
    return ListImages(client, list_options->filters, list_options->quiet);
  });

  struct RemoveOptions {
    bool sync = false;
    std::vector<std::string> names;
  };
  auto remove_options = Options<RemoveOptions>();
  CLI::App* remove = group->add_subcommand("rm", "remove one or more images by reference")
                         ->alias("remove")->alias("delete")->alias("del");
  remove->add_flag("--sync", remove_options->sync, "synchronously remove image and all associated resources");
  remove->add_option("names", remove_options->names, "image references")->required();
  OnRun(remove, line, [remove_options](Client& client) {
    return RemoveImages(client, remove_options->names, remove_options->sync);
  });

  struct TagOptions {
    bool force = false;
    std::string source;
    std::vector<std::string> targets;
  };
  auto tag_options = Options<TagOptions>();
  CLI::App* tag = group->add_subcommand("tag", "tag an image");
  tag->add_flag("--force", tag_options->force, "force target_ref to be created, regardless if it already exists");
  tag->add_option("source", tag_options->source, "source image")->required();
  tag->add_option("targets", tag_options->targets, "new references")->required();
  OnRun(tag, line, [tag_options](Client& client) {
    return TagImage(client, tag_options->source, tag_options->targets, tag_options->force);
  });

  AddTransferCommands(*group, line);
}

}  // namespace liman::ctr
