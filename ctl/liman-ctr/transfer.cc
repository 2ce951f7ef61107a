#include "ctl/liman-ctr/transfer.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "common/file_util.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "ctl/liman-ctr/labels.h"
#include "ctl/liman-ctr/table.h"
#include "fmt/format.h"

namespace liman::ctr {
namespace {

namespace transfer = ::liman::services::transfer::v1;

constexpr size_t kChunkSize = 1 << 20;

std::string ShortDigest(const std::string& digest) {
  size_t colon = digest.find(':');
  std::string hex = colon == std::string::npos ? digest : digest.substr(colon + 1);
  return hex.substr(0, 12);
}

int TerminalWidth() {
  struct winsize size;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return 80;
}

absl::Status ParseUser(const std::string& user, transfer::RegistryAuth* auth) {
  size_t colon = user.find(':');
  if (colon == std::string::npos)
    return absl::InvalidArgumentError("--user: expected USER:PASSWORD (reading a password from a prompt is not supported)");
  auth->set_username(user.substr(0, colon));
  auth->set_password(user.substr(colon + 1));
  return absl::OkStatus();
}

// Reads a Pull or Push progress stream to its end and draws it: the table redrawn in place on a
// terminal, the rows that changed as lines otherwise. `seen` gets each message too.
template <typename Message>
grpc::Status ShowTransferProgress(grpc::ClientReader<Message>& reader, const std::function<void(const Message&)>& seen) {
  bool terminal = isatty(STDOUT_FILENO);
  TransferView view;
  Message progress;
  size_t drawn = 0;  // rows on screen from the last redraw
  while (reader.Read(&progress)) {
    std::string lines = view.Update(progress.progress());
    seen(progress);
    if (terminal) {
      std::string frame = drawn ? fmt::format("\033[{}A", drawn) : "";
      frame += view.Render(TerminalWidth());
      drawn = view.Rows();
      WriteOut(frame);
    } else {
      WriteOut(lines);
    }
  }
  return reader.Finish();
}

struct PullOptions {
  std::string ref;
  std::string platform;
  std::string snapshotter;
  std::string user;
  bool plain_http = false;
  std::vector<std::string> labels;
  int max_concurrent_downloads = 0;
};

absl::StatusOr<int> Pull(Client& client, const PullOptions& options) {
  transfer::PullRequest request;
  request.set_ref(options.ref);
  request.set_platform(options.platform);
  request.set_snapshotter(options.snapshotter);
  request.set_plain_http(options.plain_http);
  request.set_max_concurrent_downloads(options.max_concurrent_downloads);
  if (!options.user.empty()) LIMAN_RETURN_IF_ERROR(ParseUser(options.user, request.mutable_auth()));
  for (const auto& [key, value] : ParseLabels(options.labels)) (*request.mutable_labels())[key] = value;

  auto start = std::chrono::steady_clock::now();
  auto context = client.Context();
  auto reader = client.Transfer().Pull(context.get(), request);
  std::optional<transfer::ImageResult> result;
  grpc::Status status = ShowTransferProgress<transfer::PullProgress>(*reader, [&](const transfer::PullProgress& progress) {
    if (progress.has_result()) result = progress.result();
  });
  if (!status.ok()) return CallError(status, fmt::format("pull {}", options.ref));
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (result) {
    WriteOut(fmt::format("{}: resolved to {}\n", result->name(), result->target().digest()));
  }
  WriteOut(fmt::format("done: {:.1f}s\n", elapsed));
  return 0;
}

struct PushOptions {
  std::string remote;
  std::string local;
  std::string platform;
  std::string user;
  bool plain_http = false;
};

absl::StatusOr<int> Push(Client& client, const PushOptions& options) {
  transfer::PushRequest request;
  request.set_name(options.local.empty() ? options.remote : options.local);
  request.set_ref(options.remote);
  request.set_platform(options.platform);
  request.set_plain_http(options.plain_http);
  if (!options.user.empty()) LIMAN_RETURN_IF_ERROR(ParseUser(options.user, request.mutable_auth()));
  auto start = std::chrono::steady_clock::now();
  auto context = client.Context();
  auto reader = client.Transfer().Push(context.get(), request);
  std::optional<transfer::PushProgress> last;
  grpc::Status status = ShowTransferProgress<transfer::PushProgress>(*reader, [&](const transfer::PushProgress& progress) {
    if (progress.has_pushed()) last = progress;
  });
  if (!status.ok()) return CallError(status, fmt::format("push {}", options.remote));
  if (last) WriteOut(fmt::format("{}: pushed {}\n", options.remote, last->pushed().digest()));
  WriteOut(fmt::format("done: {:.1f}s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
  return 0;
}

struct ImportOptions {
  std::string file;
  std::string snapshotter;
  std::string base_name;
  bool no_unpack = false;
  bool all_platforms = false;
  std::vector<std::string> labels;
};

absl::StatusOr<int> Import(Client& client, const ImportOptions& options) {
  UniqueFd owned;
  int fd = STDIN_FILENO;
  if (options.file != "-") {
    owned.reset(open(options.file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!owned) return ErrnoError(fmt::format("open {}", Quote(options.file)));
    fd = owned.get();
  }
  transfer::ImportOptions opts;
  opts.set_snapshotter(options.snapshotter);
  opts.set_no_unpack(options.no_unpack);
  opts.set_base_name(options.base_name);
  opts.set_all_platforms(options.all_platforms);
  for (const auto& [key, value] : ParseLabels(options.labels)) (*opts.mutable_labels())[key] = value;
  std::string buffer(kChunkSize, '\0');
  auto read_next = [&]() -> absl::StatusOr<std::string_view> {
    while (true) {
      ssize_t n = read(fd, buffer.data(), buffer.size());
      if (n >= 0) return std::string_view(buffer.data(), static_cast<size_t>(n));
      if (errno != EINTR) return ErrnoError(fmt::format("read {}", Quote(options.file)));
    }
  };
  absl::StatusOr<transfer::ImportResponse> response = ImportImageArchive(client, opts, read_next);
  if (!response.ok()) return Annotate(response.status(), Quote(options.file));
  for (const auto& image : response->images()) {
    if (options.no_unpack) continue;
    WriteOut(fmt::format("unpacking {} ({})...done\n", image.name(), image.target().digest()));
  }
  return 0;
}

struct ExportOptions {
  std::string file;
  std::vector<std::string> names;
  std::string platform;
  bool skip_docker_manifest = false;
};

absl::StatusOr<int> Export(Client& client, const ExportOptions& options) {
  UniqueFd owned;
  int fd = STDOUT_FILENO;
  if (options.file != "-") {
    owned.reset(open(options.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!owned) return ErrnoError(fmt::format("open {}", Quote(options.file)));
    fd = owned.get();
  }
  transfer::ExportRequest request;
  for (const auto& name : options.names) request.add_names(name);
  request.set_platform(options.platform);
  request.set_skip_docker_manifest(options.skip_docker_manifest);
  LIMAN_RETURN_IF_ERROR(ExportImageArchive(client, request, [&](std::string_view data) -> absl::Status {
    if (!WriteAll(fd, data)) return ErrnoError(fmt::format("write {}", Quote(options.file)));
    return absl::OkStatus();
  }));
  if (owned && fsync(owned.get()) != 0) return ErrnoError(fmt::format("fsync {}", Quote(options.file)));
  return 0;
}

}  // namespace

absl::Status ExportImageArchive(Client& client, const transfer::ExportRequest& request,
                                const std::function<absl::Status(std::string_view)>& sink) {
  auto context = client.Context();
  auto reader = client.Transfer().Export(context.get(), request);
  transfer::ExportChunk chunk;
  absl::Status sink_error;
  while (reader->Read(&chunk)) {
    sink_error = sink(chunk.data());
    if (!sink_error.ok()) {
      context->TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!sink_error.ok()) return sink_error;
  if (!status.ok()) return CallError(status, "export image archive");
  return absl::OkStatus();
}

absl::StatusOr<transfer::ImportResponse> ImportImageArchive(
    Client& client, const transfer::ImportOptions& options,
    const std::function<absl::StatusOr<std::string_view>()>& source) {
  auto context = client.Context();
  transfer::ImportResponse response;
  auto writer = client.Transfer().Import(context.get(), &response);
  transfer::ImportRequest first;
  *first.mutable_options() = options;
  bool open_stream = writer->Write(first);
  absl::Status source_error;
  while (open_stream) {
    absl::StatusOr<std::string_view> data = source();
    if (!data.ok()) {
      source_error = data.status();
      context->TryCancel();
      break;
    }
    if (data->empty()) break;
    transfer::ImportRequest chunk;
    chunk.set_data(data->data(), data->size());
    open_stream = writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!source_error.ok()) return source_error;
  if (!status.ok()) return CallError(status, "import image archive");
  return response;
}

std::string TransferView::Update(const google::protobuf::RepeatedPtrField<transfer::ContentProgress>& progress) {
  std::string lines;
  for (const auto& entry : progress) {
    auto [it, inserted] = rows_.try_emplace(entry.digest());
    if (inserted) order_.push_back(entry.digest());
    Row& row = it->second;
    bool changed = row.status != entry.status();
    row.status = entry.status();
    row.offset = entry.offset();
    if (entry.total() > 0) row.total = entry.total();
    if (!changed) continue;
    lines += entry.digest().empty() ? row.status + "\n" : fmt::format("{} {}", row.status, entry.digest());
    if (!entry.digest().empty()) lines += row.total > 0 ? fmt::format(" ({})\n", HumanBytes(row.total)) : "\n";
  }
  return lines;
}

std::string TransferView::Render(int width) const {
  std::string out;
  for (const std::string& digest : order_) {
    const Row& row = rows_.at(digest);
    std::string head = fmt::format("{:<12}: {:<11}", ShortDigest(digest), row.status);
    std::string tail;
    if (row.total > 0) tail = fmt::format(" {}/{}", HumanBytes(row.offset), HumanBytes(row.total));
    int bar = width - static_cast<int>(head.size() + tail.size()) - 4;
    std::string line = head;
    if (row.total > 0 && bar >= 10) {
      int done = static_cast<int>(static_cast<double>(bar) * std::min(row.offset, row.total) / row.total);
      line += " |" + std::string(done, '+') + std::string(bar - done, '-') + "|";
    }
    line += tail;
    if (static_cast<int>(line.size()) >= width) line.resize(width - 1);
    out += line + "\033[K\n";
  }
  return out;
}

void AddTransferCommands(CLI::App& group, CommandLine& line) {
  auto pull_options = Options<PullOptions>();
  CLI::App* pull = group.add_subcommand("pull", "pull an image from a registry (through the daemon)");
  pull->add_option("ref", pull_options->ref, "image reference")->required();
  pull->add_option("--platform", pull_options->platform, "pull content for this platform (default: the daemon's)");
  pull->add_option("--snapshotter", pull_options->snapshotter, "snapshotter to unpack into (default: the daemon's)");
  pull->add_option("--user,-u", pull_options->user, "registry credentials: USER:PASSWORD");
  pull->add_flag("--plain-http", pull_options->plain_http, "talk plain HTTP to the registry");
  pull->add_option("--label", pull_options->labels, "labels for the image: KEY=VALUE");
  pull->add_option("--max-concurrent-downloads", pull_options->max_concurrent_downloads,
                   "parallel layer downloads (0: the daemon's default)");
  OnRun(pull, line, [pull_options](Client& client) { return Pull(client, *pull_options); });

  auto push_options = Options<PushOptions>();
  CLI::App* push = group.add_subcommand("push", "push an image to a registry (through the daemon)");
  push->add_option("remote", push_options->remote, "where to push: host/repository:tag")->required();
  push->add_option("local", push_options->local, "the image to push (default: remote)");
  push->add_option("--platform", push_options->platform, "push only this platform's manifest of an index");
  push->add_option("--user,-u", push_options->user, "registry credentials: USER:PASSWORD");
  push->add_flag("--plain-http", push_options->plain_http, "talk plain HTTP to the registry");
  OnRun(push, line, [push_options](Client& client) { return Push(client, *push_options); });

  auto import_options = Options<ImportOptions>();
  CLI::App* import = group.add_subcommand("import", "import an OCI layout or `docker save` tar ('-': stdin)");
  import->add_option("file", import_options->file, "archive")->required();
  import->add_option("--snapshotter", import_options->snapshotter, "snapshotter to unpack into");
  import->add_option("--base-name", import_options->base_name, "base image name for OCI layout entries named by a tag only");
  import->add_flag("--no-unpack", import_options->no_unpack, "do not unpack the images");
  import->add_flag("--all-platforms", import_options->all_platforms, "import content of every platform");
  import->add_option("--label", import_options->labels, "labels for the images: KEY=VALUE");
  OnRun(import, line, [import_options](Client& client) { return Import(client, *import_options); });

  auto export_options = Options<ExportOptions>();
  CLI::App* exp = group.add_subcommand("export", "export images as an OCI layout tar ('-': stdout)");
  exp->add_option("file", export_options->file, "output tar")->required();
  exp->add_option("names", export_options->names, "image references")->required();
  exp->add_option("--platform", export_options->platform, "export only this platform's content");
  exp->add_flag("--skip-manifest-json", export_options->skip_docker_manifest, "write no docker manifest.json");
  OnRun(exp, line, [export_options](Client& client) { return Export(client, *export_options); });
}

}  // namespace liman::ctr
