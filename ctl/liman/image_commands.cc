// Image commands: pull and push (with progress), images, history, rmi, tag, save, load, image
// inspect|history|prune.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "ctl/liman-ctr/table.h"
#include "ctl/liman/cli.h"
#include "ctl/liman/format.h"
#include "ctl/liman/pull_progress.h"
#include "fmt/format.h"

namespace liman::cli {

using nlohmann::json;

namespace {

struct PullOptions {
  bool quiet = false;
  std::string name;
};

absl::StatusOr<int> Pull(EngineClient& client, const PullOptions& options) {
  ImageReference reference = ParseImageReference(options.name);
  if (reference.tag_defaulted && !options.quiet) WriteOut("Using default tag: latest\n");
  fflush(stdout);
  LIMAN_RETURN_IF_ERROR(PullImage(client, reference, stdout, options.quiet));
  WriteOut(reference.String() + "\n");
  return 0;
}

struct PushOptions {
  bool quiet = false, all_tags = false;
  std::string name;
};

absl::StatusOr<int> Push(EngineClient& client, const PushOptions& options) {
  ImageReference reference = ParseImageReference(options.name);
  if (reference.tag_defaulted && !options.all_tags && !options.quiet) WriteOut("Using default tag: latest\n");
  fflush(stdout);
  LIMAN_RETURN_IF_ERROR(PushImage(client, reference, options.all_tags, stdout, options.quiet));
  return 0;
}

struct SaveOptions {
  std::string output;
  std::vector<std::string> images;
};

// docker save: the archive to -o FILE (written beside it, then renamed: an interrupted save
// leaves no partial FILE) or to stdout when that is not a terminal.
absl::StatusOr<int> Save(EngineClient& client, const SaveOptions& options) {
  if (options.output.empty() && isatty(STDOUT_FILENO))
    return absl::InvalidArgumentError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  std::string path = "/images/get?";
  for (const std::string& image : options.images) path += "names=" + QueryEscape(image) + "&";
  path.pop_back();
  if (options.output.empty()) {
    LIMAN_RETURN_IF_ERROR(client.Stream("GET", path, nullptr, [](std::string_view data) {
      return WriteAll(STDOUT_FILENO, data);
    }));
    return 0;
  }
  std::string temp = fmt::format("{}.liman-tmp-{}", options.output, getpid());
  UniqueFd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(temp)));
  absl::Status write_error;
  absl::Status saved = client.Stream("GET", path, nullptr, [&](std::string_view data) {
    if (WriteAll(fd.get(), data)) return true;
    write_error = ErrnoError(fmt::format("write {}", Quote(temp)));
    return false;
  });
  if (saved.ok()) saved = write_error;
  if (saved.ok() && fsync(fd.get()) != 0) saved = ErrnoError(fmt::format("fsync {}", Quote(temp)));
  if (saved.ok() && rename(temp.c_str(), options.output.c_str()) != 0)
    saved = ErrnoError(fmt::format("rename {} to {}", Quote(temp), Quote(options.output)));
  if (!saved.ok()) unlink(temp.c_str());
  LIMAN_RETURN_IF_ERROR(saved);
  return 0;
}

struct LoadOptions {
  std::string input;
  bool quiet = false;
};

// docker load: the archive from -i FILE or stdin; prints the daemon's "Loaded image: …" lines.
absl::StatusOr<int> Load(EngineClient& client, const LoadOptions& options) {
  std::string archive;
  if (!options.input.empty()) {
    LIMAN_ASSIGN_OR_RETURN(archive, ReadFile(options.input));
  } else {
    if (isatty(STDIN_FILENO)) return absl::InvalidArgumentError("requested load from stdin, but stdin is empty");
    char buffer[1 << 16];
    while (true) {
      ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read stdin");
      if (n == 0) break;
      archive.append(buffer, static_cast<size_t>(n));
    }
  }
  std::string answer;
  LIMAN_RETURN_IF_ERROR(client.StreamBytes("POST", fmt::format("/images/load?quiet={}", options.quiet ? 1 : 0), archive,
                                           "application/x-tar", [&](std::string_view data) {
                                             answer.append(data);
                                             return true;
                                           }));
  for (absl::string_view line : absl::StrSplit(answer, '\n', absl::SkipWhitespace())) {
    json message = json::parse(line, nullptr, false);
    if (!message.is_object()) continue;
    if (message.contains("error")) return absl::UnknownError(message.value("error", ""));
    WriteOut(message.value("stream", ""));
  }
  return 0;
}

struct ImagesOptions {
  bool all = false, quiet = false, no_trunc = false, digests = false;
  std::string format;
  std::vector<std::string> filters;
  std::string reference;
};

absl::StatusOr<int> Images(EngineClient& client, const ImagesOptions& options) {
  std::vector<std::string> filter_words = options.filters;
  if (!options.reference.empty()) filter_words.push_back("reference=" + options.reference);
  LIMAN_ASSIGN_OR_RETURN(std::string filters, FiltersQuery(filter_words));
  std::string query = fmt::format("?all={}", options.all ? 1 : 0) + filters;
  LIMAN_ASSIGN_OR_RETURN(json images, client.Call("GET", "/images/json" + query));
  std::vector<json> rows;
  for (const json& image : images) {
    std::string id = image.value("Id", "");
    if (id.rfind("sha256:", 0) == 0 && !options.no_trunc) id = id.substr(7, 12);
    double created = image.value("Created", 0.0);
    std::vector<std::string> tags;
    if (image.contains("RepoTags") && image["RepoTags"].is_array())
      for (const json& tag : image["RepoTags"]) tags.push_back(tag.get<std::string>());
    if (tags.empty()) tags.push_back("<none>:<none>");
    for (const std::string& tag : tags) {
      size_t colon = tag.rfind(':');
      rows.push_back({{"ID", id},
                      {"Repository", tag.substr(0, colon)},
                      {"Tag", colon == std::string::npos ? "<none>" : tag.substr(colon + 1)},
                      {"Digest", "<none>"},
                      {"CreatedSince", Ago(created)},
                      {"CreatedAt", absl::FormatTime("%Y-%m-%d %H:%M:%S %z %Z", absl::FromUnixSeconds(static_cast<int64_t>(created)),
                                                     absl::UTCTimeZone())},
                      {"Size", ctr::HumanSizeWithPrecision(image.value("Size", 0.0), 3)}});
    }
  }
  if (options.quiet) {
    std::set<std::string> seen;
    for (const json& row : rows)
      if (seen.insert(row["ID"].get<std::string>()).second) WriteOut(row["ID"].get<std::string>() + "\n");
    return 0;
  }
  LIMAN_ASSIGN_OR_RETURN(std::string text, FormatRows(options.format, "{{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}",
                                                      rows, {{"ID", "IMAGE ID"}, {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"}}));
  WriteOut(text);
  return 0;
}

struct HistoryOptions {
  bool no_trunc = false, quiet = false;
  std::string format, image;
};

// docker history: one row per step of the image's config, newest first, as docker's CLI
// formats them (IDs and CREATED BY cut unless --no-trunc, CreatedAt in RFC 3339).
absl::StatusOr<int> History(EngineClient& client, const HistoryOptions& options) {
  LIMAN_ASSIGN_OR_RETURN(json history, client.Call("GET", fmt::format("/images/{}/history", QueryEscape(options.image))));
  std::vector<json> rows;
  for (const json& step : history) {
    std::string id = step.value("Id", "");
    if (id.rfind("sha256:", 0) == 0 && !options.no_trunc) id = id.substr(7, 12);
    std::string created_by = absl::StrReplaceAll(step.value("CreatedBy", ""), {{"\t", " "}});
    double created = step.value("Created", 0.0);
    rows.push_back({{"ID", id},
                    {"CreatedSince", Ago(created)},
                    {"CreatedAt", absl::FormatTime(absl::RFC3339_sec, absl::FromUnixSeconds(static_cast<int64_t>(created)),
                                                   absl::UTCTimeZone())},
                    {"CreatedBy", options.no_trunc ? created_by : Ellipsis(created_by, 45)},
                    {"Size", ctr::HumanSizeWithPrecision(step.value("Size", 0.0), 3)},
                    {"Comment", step.value("Comment", "")}});
  }
  if (options.quiet) {
    for (const json& row : rows) WriteOut(row["ID"].get<std::string>() + "\n");
    return 0;
  }
  LIMAN_ASSIGN_OR_RETURN(std::string text,
                         FormatRows(options.format, "{{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", rows,
                                    {{"ID", "IMAGE"}, {"CreatedSince", "CREATED"}, {"CreatedAt", "CREATED AT"},
                                     {"CreatedBy", "CREATED BY"}}));
  WriteOut(text);
  return 0;
}

void AddHistoryCommand(CLI::App* parent, CommandLine& line) {
  auto history = Options<HistoryOptions>();
  CLI::App* command = parent->add_subcommand("history", "Show the history of an image");
  command->add_flag("--no-trunc", history->no_trunc, "don't truncate output");
  command->add_flag("-q,--quiet", history->quiet, "only show image IDs");
  command->add_option("--format", history->format, "pretty-print images using a Go template");
  command->add_option("image", history->image, "IMAGE")->required();
  OnRun(command, line, [history](EngineClient& client) { return History(client, *history); });
}

struct RmiOptions {
  bool force = false, no_prune = false;
  std::vector<std::string> names;
};

struct TagOptions {
  std::string source, target;
};

}  // namespace

void AddImageCommands(CLI::App& app, CommandLine& line) {
  auto pull = Options<PullOptions>();
  CLI::App* pull_command = app.add_subcommand("pull", "Pull an image from a registry");
  pull_command->add_flag("-q,--quiet", pull->quiet, "suppress verbose output");
  pull_command->add_option("name", pull->name, "NAME[:TAG|@DIGEST]")->required();
  OnRun(pull_command, line, [pull](EngineClient& client) { return Pull(client, *pull); });

  auto push = Options<PushOptions>();
  CLI::App* push_command = app.add_subcommand("push", "Upload an image to a registry");
  push_command->add_flag("-a,--all-tags", push->all_tags, "push all tags of an image to the repository");
  push_command->add_flag("-q,--quiet", push->quiet, "suppress verbose output");
  push_command->add_option("name", push->name, "NAME[:TAG]")->required();
  OnRun(push_command, line, [push](EngineClient& client) { return Push(client, *push); });

  auto images = Options<ImagesOptions>();
  CLI::App* images_command = app.add_subcommand("images", "List images");
  images_command->add_flag("-a,--all", images->all, "show all images (default hides intermediate images)");
  images_command->add_flag("-q,--quiet", images->quiet, "only show image IDs");
  images_command->add_flag("--no-trunc", images->no_trunc, "don't truncate output");
  images_command->add_flag("--digests", images->digests, "show digests");
  AddRepeated(images_command, "-f,--filter", images->filters, "filter output based on conditions provided");
  images_command->add_option("--format", images->format, "pretty-print images using a Go template");
  images_command->add_option("reference", images->reference, "[REPOSITORY[:TAG]]");
  OnRun(images_command, line, [images](EngineClient& client) { return Images(client, *images); });

  AddHistoryCommand(&app, line);

  auto rmi = Options<RmiOptions>();
  CLI::App* rmi_command = app.add_subcommand("rmi", "Remove one or more images");
  rmi_command->add_flag("-f,--force", rmi->force, "force removal of the image");
  rmi_command->add_flag("--no-prune", rmi->no_prune, "do not delete untagged parents");
  rmi_command->add_option("images", rmi->names, "IMAGE...")->required();
  OnRun(rmi_command, line, [rmi](EngineClient& client) -> absl::StatusOr<int> {
    return ForEachName(rmi->names, [&](const std::string& name) -> absl::Status {
      LIMAN_ASSIGN_OR_RETURN(json deleted, client.Call("DELETE", fmt::format("/images/{}?force={}&noprune={}", QueryEscape(name),
                                                                              rmi->force ? 1 : 0, rmi->no_prune ? 1 : 0)));
      for (const json& item : deleted) {
        if (item.contains("Untagged")) WriteOut(fmt::format("Untagged: {}\n", item["Untagged"].get<std::string>()));
        if (item.contains("Deleted")) WriteOut(fmt::format("Deleted: {}\n", item["Deleted"].get<std::string>()));
      }
      return absl::OkStatus();
    });
  });

  auto tag = Options<TagOptions>();
  CLI::App* tag_command = app.add_subcommand("tag", "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE");
  tag_command->add_option("source", tag->source, "SOURCE_IMAGE[:TAG]")->required();
  tag_command->add_option("target", tag->target, "TARGET_IMAGE[:TAG]")->required();
  OnRun(tag_command, line, [tag](EngineClient& client) -> absl::StatusOr<int> {
    ImageReference target = ParseImageReference(tag->target);
    if (!target.digest.empty()) return absl::InvalidArgumentError("refusing to create a tag with a digest reference");
    LIMAN_RETURN_IF_ERROR(client.Call("POST", fmt::format("/images/{}/tag?repo={}&tag={}", QueryEscape(tag->source),
                                                          QueryEscape(target.name), QueryEscape(target.tag)))
                              .status());
    return 0;
  });

  auto save = Options<SaveOptions>();
  CLI::App* save_command = app.add_subcommand("save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
  save_command->add_option("-o,--output", save->output, "write to a file, instead of STDOUT");
  save_command->add_option("images", save->images, "IMAGE...")->required();
  OnRun(save_command, line, [save](EngineClient& client) { return Save(client, *save); });

  auto load = Options<LoadOptions>();
  CLI::App* load_command = app.add_subcommand("load", "Load an image from a tar archive or STDIN");
  load_command->add_option("-i,--input", load->input, "read from tar archive file, instead of STDIN");
  load_command->add_flag("-q,--quiet", load->quiet, "suppress the load output");
  OnRun(load_command, line, [load](EngineClient& client) { return Load(client, *load); });

  CLI::App* image_group = app.add_subcommand("image", "Manage images");
  image_group->require_subcommand(1);
  AddInspectCommand(image_group, line, "image", "Display detailed information on one or more images");
  AddHistoryCommand(image_group, line);
  AddPruneCommand(image_group, line, "Remove unused images",
                  {.path = "/images/prune",
                   .warning = "This will remove all dangling images.",
                   .deleted_key = "ImagesDeleted",
                   .deleted_title = "Deleted Images:",
                   .all_warning = "This will remove all images without at least one container associated to them."});
}

}  // namespace liman::cli
