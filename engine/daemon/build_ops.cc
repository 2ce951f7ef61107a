// docker build with the legacy builder (moby's builder/dockerfile, what the 20.10 client uses and
// the 28 client with DOCKER_BUILDKIT=0): the context tar unpacked into a directory of its own, the
// Dockerfile's instructions run one by one, each making an image: RUN in a container of the
// image so far (its output streamed back) and its changes committed; COPY and ADD unpack the
// context's files into a created container's snapshot (resolved inside the context, so a symlink
// cannot reach out of it) and commit it; the others change only the config. Each step's image is
// recorded under its cache key (a hash of the image it starts from and of what makes it), so that
// the same step in a later build is taken from it; the last one takes the build's tags (or is
// recorded dangling).
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <thread>

#include "absl/strings/str_join.h"
#include "common/ascii.h"
#include "common/daemon_memory.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/pipe.h"
#include "common/random_bytes.h"
#include "common/sha256.h"
#include "common/status.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/byte_source.h"
#include "containerd/archive/compression.h"
#include "containerd/archive/diff.h"
#include "containerd/archive/digester.h"
#include "containerd/archive/root_dir.h"
#include "containerd/remotes/reference.h"
#include "engine/daemon/daemon.h"
#include "engine/daemon/dockerfile.h"
#include "fmt/format.h"

namespace liman::engine {

namespace archive = containerd::archive;
using nlohmann::json;

namespace {

std::string ShortImageId(const std::string& id) { return id.substr(id.find(':') + 1, 12); }

// A build step's cache key: what it starts from (the image so far) and `what` makes it.
template <typename State>
std::string StepKey(const State& state, const std::string& what) {
  return Sha256Hex(fmt::format("{}\n{}", state.image ? state.image->id : "scratch", what));
}

// The build's own directory (its unpacked context), removed with everything in it.
class BuildDir {
 public:
  explicit BuildDir(std::string path) : path_(std::move(path)) {}
  ~BuildDir() {
    if (absl::Status removed = RemoveAll(path_); !removed.ok()) LogWarn("build: {}", removed);
  }
  BuildDir(const BuildDir&) = delete;
  BuildDir& operator=(const BuildDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The context tar as the CLI streams it, completed at its end: the 20.10 client, when it adds a
// Dockerfile from outside the context, ends the stream right after the last file's data, without
// its padding or the end-of-archive blocks. Go's tar reader takes that end as the archive's;
// libarchive wants the blocks, so they are added (after a complete archive they are never read).
class CompletedTarSource final : public archive::ByteSource {
 public:
  explicit CompletedTarSource(archive::ByteSource& tar) : tar_(tar) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t capacity) override {
    if (padding_ < 0) {
      LIMAN_ASSIGN_OR_RETURN(size_t n, tar_.Read(buffer, capacity));
      if (n > 0) {
        offset_ += n;
        return n;
      }
      padding_ = static_cast<int64_t>((kBlock - offset_ % kBlock) % kBlock + 2 * kBlock);
    }
    size_t n = std::min(capacity, static_cast<size_t>(padding_));
    std::memset(buffer, 0, n);
    padding_ -= static_cast<int64_t>(n);
    return n;
  }

 private:
  static constexpr uint64_t kBlock = 512;
  archive::ByteSource& tar_;
  uint64_t offset_ = 0;
  int64_t padding_ = -1;  // zeros still to give once the stream has ended
};

// Unpacks the tar `dir_fd`/`name` makes (WriteEntryTar, as `entry_name`) into `target_fd`: the
// writer on a thread of its own, the two joined by a pipe.
absl::Status CopyEntry(int dir_fd, const std::string& name, const std::string& entry_name, int target_fd,
                       const archive::ApplyOptions& options) {
  LIMAN_ASSIGN_OR_RETURN(Pipe pipe, MakePipe("build copy"));
  absl::Status written;
  std::thread writer([&] {
    UniqueFd out = std::move(pipe.write);
    written = archive::WriteEntryTar(dir_fd, name, entry_name, [&](std::string_view data) -> absl::Status {
      if (!WriteAll(out.get(), data)) return ErrnoError("write the build copy pipe");
      return absl::OkStatus();
    });
  });
  archive::FdByteSource source(pipe.read.get());
  absl::StatusOr<archive::ApplyResult> applied = archive::ApplyLayer(
      source, archive::Compression::kNone, fmt::format("/proc/self/fd/{}", target_fd), options);
  pipe.read.reset();  // a writer still writing sees EPIPE and stops
  writer.join();
  LIMAN_RETURN_IF_ERROR(written);
  return applied.status();
}

// COPY's sources: each a path inside the context, or a pattern in its last element.
absl::StatusOr<std::vector<std::string>> ExpandSources(int context_fd, const std::vector<std::string>& patterns) {
  std::vector<std::string> sources;
  for (const std::string& pattern : patterns) {
    std::string clean = CleanAbsolutePath(pattern);
    std::string parent = ParentDirectory(clean);
    std::string base = clean.substr(clean.rfind('/') + 1);
    if (base.find_first_of("*?[") == std::string::npos) {
      sources.push_back(clean);
      continue;
    }
    absl::StatusOr<UniqueFd> dir = OpenInRoot(context_fd, parent, O_PATH | O_DIRECTORY);
    std::vector<std::string> matches;
    if (dir.ok()) {
      LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(fmt::format("/proc/self/fd/{}", dir->get())));
      for (const std::string& name : names)
        if (fnmatch(base.c_str(), name.c_str(), FNM_PERIOD) == 0) matches.push_back(JoinPath(parent, name));
    }
    if (matches.empty())
      return absl::InvalidArgumentError(fmt::format("COPY failed: no source files were specified ({})", pattern));
    std::sort(matches.begin(), matches.end());
    sources.insert(sources.end(), matches.begin(), matches.end());
  }
  return sources;
}

// COPY/ADD's --chown: numeric "uid[:gid]" (a name would need the image's passwd file).
absl::StatusOr<std::pair<uid_t, gid_t>> ParseChown(const std::string& value) {
  std::string_view text = value;
  size_t colon = text.find(':');
  auto number = [&](std::string_view part) -> std::optional<uint32_t> {
    uint32_t out = 0;
    auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), out);
    if (error != std::errc() || end != part.data() + part.size() || part.empty()) return std::nullopt;
    return out;
  };
  std::optional<uint32_t> uid = number(text.substr(0, colon));
  std::optional<uint32_t> gid = colon == std::string_view::npos ? uid : number(text.substr(colon + 1));
  if (!uid || !gid)
    return absl::InvalidArgumentError(fmt::format("--chown={}: only numeric user and group ids are supported", value));
  return std::make_pair(static_cast<uid_t>(*uid), static_cast<gid_t>(*gid));
}

// ADD's local archives: a tar, plain or gzip/zstd-compressed (the ustar magic in its first block,
// as moby's IsArchivePath reads it); nullopt for any other file.
absl::StatusOr<std::optional<archive::Compression>> ArchiveCompression(int file_fd) {
  char magic[4] = {};
  ssize_t n = pread(file_fd, magic, sizeof magic, 0);
  if (n < 0) return ErrnoError("read the start of an ADD source");
  archive::Compression compression = archive::DetectCompression(std::string_view(magic, static_cast<size_t>(n)));
  archive::FdByteSource file(file_fd);
  std::unique_ptr<archive::ByteSource> decompressed;
  archive::ByteSource* tar = &file;
  if (compression != archive::Compression::kNone) {
    decompressed = archive::NewDecompressor(file, compression);
    tar = decompressed.get();
  }
  char block[512];
  absl::StatusOr<size_t> read = archive::ReadFull(*tar, block, sizeof block);
  if (lseek(file_fd, 0, SEEK_SET) != 0) return ErrnoError("rewind an ADD source");
  if (!read.ok() || *read < sizeof block || std::memcmp(block + 257, "ustar", 5) != 0) return std::nullopt;
  return compression;
}

// A COPY source inside `source_root`; Docker's message when it is missing from the context.
absl::StatusOr<UniqueFd> OpenSource(int source_root, const std::string& source, bool from_context) {
  absl::StatusOr<UniqueFd> opened = OpenInRoot(source_root, source, O_PATH);
  if (opened.ok()) return opened;
  if (!from_context) return Annotate(opened.status(), fmt::format("COPY failed: stat {}", source));
  return absl::NotFoundError(fmt::format(
      "COPY failed: file not found in build context or excluded by .dockerignore: stat {}: file does not exist",
      source.substr(1)));
}

// What COPY's sources in the context are, for the step's cache key: each source's name and tar
// (WriteEntryTar: names, modes, owners, whole-second times, contents) hashed.
absl::StatusOr<std::string> HashSources(int source_root, const std::vector<std::string>& patterns) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> sources, ExpandSources(source_root, patterns));
  archive::Sha256Digester digester;
  auto sink = [&digester](std::string_view data) {
    digester.Update(data);
    return absl::OkStatus();
  };
  for (const std::string& source : sources) {
    LIMAN_RETURN_IF_ERROR(OpenSource(source_root, source, true).status());
    digester.Update(source + "\n");
    if (source == "/") {
      LIMAN_RETURN_IF_ERROR(archive::WriteEntryTar(source_root, ".", ".", sink));
      continue;
    }
    LIMAN_ASSIGN_OR_RETURN(UniqueFd parent, OpenInRoot(source_root, ParentDirectory(source), O_PATH | O_DIRECTORY));
    std::string name = source.substr(source.rfind('/') + 1);
    LIMAN_RETURN_IF_ERROR(archive::WriteEntryTar(parent.get(), name, name, sink));
  }
  return digester.Digest();
}

struct BuildCopyOptions {
  bool from_context = true;  // the sources are the context's (for the not-found message)
  std::optional<std::pair<uid_t, gid_t>> owner;
  bool extract_archives = false;  // ADD
  std::optional<std::pair<uid_t, gid_t>> archive_owner;  // an archive's entries keep theirs without
};

// COPY's files: `patterns` resolved inside `source_root` (the context, or a stage's root) into
// `destination` inside `root_fd`, owned by `copy.owner`. A directory's contents go into the
// destination; a file into it when it names a directory ("dir/", ".", several sources, an existing
// directory), else as it.
absl::Status CopyBuildFiles(int source_root, const std::vector<std::string>& patterns,
                            const std::string& requested_destination, const std::string& destination,
                            const BuildCopyOptions& copy, int root_fd) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> sources, ExpandSources(source_root, patterns));
  bool into_directory = requested_destination.ends_with('/') || requested_destination == "." ||
                        requested_destination.ends_with("/.") || sources.size() > 1 ||
                        OpenInRoot(root_fd, destination, O_PATH | O_DIRECTORY).ok();
  archive::ApplyOptions options;
  options.overlay_whiteouts = false;
  options.whiteouts = false;
  options.read_ahead = false;
  options.owner = copy.owner;
  std::vector<archive::DirTimes> unused_times;
  for (const std::string& source : sources) {
    LIMAN_ASSIGN_OR_RETURN(UniqueFd opened, OpenSource(source_root, source, copy.from_context));
    struct stat st;
    if (fstat(opened.get(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(source)));
    std::string target = destination;
    std::string entry_name = ".";
    if (copy.extract_archives && S_ISREG(st.st_mode)) {
      // ADD unpacks a local archive into the destination directory (its owners kept unless
      // --chown).
      UniqueFd file(open(fmt::format("/proc/self/fd/{}", opened.get()).c_str(), O_RDONLY | O_CLOEXEC));
      if (!file) return ErrnoError(fmt::format("open {}", Quote(source)));
      LIMAN_ASSIGN_OR_RETURN(std::optional<archive::Compression> compression, ArchiveCompression(file.get()));
      if (compression) {
        archive::ParentDirs dirs(root_fd, {}, &unused_times);
        LIMAN_ASSIGN_OR_RETURN(int target_fd, dirs.Get(std::string_view(destination).substr(1), /*create=*/true));
        archive::ApplyOptions unpack = options;
        unpack.owner = copy.archive_owner;
        archive::FdByteSource tar(file.get());
        absl::StatusOr<archive::ApplyResult> applied =
            archive::ApplyLayer(tar, *compression, fmt::format("/proc/self/fd/{}", target_fd), unpack);
        if (!applied.ok()) return Annotate(applied.status(), fmt::format("ADD {}", source.substr(1)));
        continue;
      }
    }
    if (!S_ISDIR(st.st_mode)) {
      if (into_directory) {
        entry_name = source.substr(source.rfind('/') + 1);
      } else {
        target = ParentDirectory(destination);
        entry_name = destination.substr(destination.rfind('/') + 1);
      }
    }
    archive::ParentDirs dirs(root_fd, {}, &unused_times);
    LIMAN_ASSIGN_OR_RETURN(int target_fd, dirs.Get(std::string_view(target).substr(1), /*create=*/true));
    if (source == "/") {
      LIMAN_RETURN_IF_ERROR(CopyEntry(source_root, ".", entry_name, target_fd, options));
      continue;
    }
    LIMAN_ASSIGN_OR_RETURN(UniqueFd parent_fd, OpenInRoot(source_root, ParentDirectory(source), O_PATH | O_DIRECTORY));
    LIMAN_RETURN_IF_ERROR(
        CopyEntry(parent_fd.get(), source.substr(source.rfind('/') + 1), entry_name, target_fd, options));
  }
  return absl::OkStatus();
}

}  // namespace

// The state of one build: the image so far and what the next step derives from it.
struct Daemon::BuildState {
  std::string build_id = RandomHex(6);
  int context_fd = -1;
  std::optional<ImageContents> image;  // none after FROM scratch
  std::string image_ref;               // what a container of the image so far is created from
  json run_config = json::object();
  bool cmd_set = false;
  std::string author;
  std::map<std::string, std::string> args;  // ARGs declared in this stage, with their values
  bool no_cache = false;
  std::function<void(const std::string&)> say;  // a line of the build's output
  int steps = 0;
  // Earlier stages' images by index ("0") and by name (FROM … AS name), for FROM and COPY --from.
  struct Stage {
    std::optional<ImageContents> image;
    std::string image_ref;
  };
  std::map<std::string, Stage> stages;
  int stage_index = -1;
  std::string stage_name;
};

absl::Status Daemon::BuildImage(const BuildRequest& request,
                                const std::function<absl::StatusOr<std::string_view>()>& context,
                                const std::function<void(const json&)>& emit) {
  auto say = [&](const std::string& text) {
    if (!request.quiet) emit(json{{"stream", text}});
  };
  BuildState state;
  state.no_cache = request.no_cache;
  state.say = say;
  LIMAN_RETURN_IF_ERROR(MkdirAll(JoinPath(options_.exec_root, "build"), 0700));
  BuildDir dir(JoinPath(options_.exec_root, "build/" + state.build_id));
  LIMAN_RETURN_IF_ERROR(MkdirAll(dir.path(), 0700));
  {
    archive::PieceByteSource stream(context);
    CompletedTarSource source(stream);
    archive::ApplyOptions options;
    options.overlay_whiteouts = false;
    options.whiteouts = false;
    options.read_ahead = false;
    options.owner = std::make_pair(uid_t{0}, gid_t{0});
    absl::StatusOr<archive::ApplyResult> unpacked =
        archive::ApplyLayer(source, archive::Compression::kNone, dir.path(), options);
    if (!unpacked.ok()) return Annotate(unpacked.status(), "unpack the build context");
  }
  UniqueFd context_fd(open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!context_fd) return ErrnoError(fmt::format("open {}", Quote(dir.path())));
  state.context_fd = context_fd.get();
  absl::StatusOr<UniqueFd> dockerfile_fd = OpenInRoot(context_fd.get(), request.dockerfile, O_RDONLY);
  if (!dockerfile_fd.ok())
    return absl::InvalidArgumentError(fmt::format("Cannot locate specified Dockerfile: {}", request.dockerfile));
  struct stat dockerfile_stat;
  if (fstat(dockerfile_fd->get(), &dockerfile_stat) != 0 || !S_ISREG(dockerfile_stat.st_mode))
    return absl::InvalidArgumentError(fmt::format("the Dockerfile {} is not a regular file", Quote(request.dockerfile)));
  LIMAN_ASSIGN_OR_RETURN(std::string text, ReadFile(fmt::format("/proc/self/fd/{}", dockerfile_fd->get())));
  LIMAN_ASSIGN_OR_RETURN(std::vector<DockerfileInstruction> instructions, ParseDockerfile(text));

  absl::Status built = RunBuildSteps(request, instructions, state, say, emit);
  if (built.ok() && !request.labels.empty()) {
    // --label: one more config-only image on top, as moby's builder adds them.
    std::vector<std::string> pairs;
    for (const auto& [key, value] : request.labels) {
      if (!state.run_config.contains("Labels") || !state.run_config["Labels"].is_object())
        state.run_config["Labels"] = json::object();
      state.run_config["Labels"][key] = value;
      pairs.push_back(json(key).dump() + "=" + json(value).dump());
    }
    ++state.steps;
    std::string created_by = "/bin/sh -c #(nop)  LABEL " + absl::StrJoin(pairs, " ");
    std::string key = StepKey(state, created_by + "\n" + state.run_config.dump());
    absl::StatusOr<bool> cached = UseCachedStep(state, key, say);
    built = cached.status();
    if (cached.ok() && !*cached) built = CommitBuildStep(state, "", created_by, key);
  }
  if (built.ok()) built = TagBuiltImage(request, state, say, emit);
  ReleaseFreeMemory();
  return built;
}

absl::Status Daemon::RunBuildSteps(const BuildRequest& request, const std::vector<DockerfileInstruction>& instructions,
                                   BuildState& state, const std::function<void(const std::string&)>& say,
                                   const std::function<void(const json&)>& emit) {
  // ARGs before the first FROM are for FROM lines only (moby's meta args).
  std::map<std::string, std::string> meta_args;
  bool from_seen = false;
  int total = static_cast<int>(instructions.size());
  for (const DockerfileInstruction& instruction : instructions) {
    // --target: the build ends with the stage it names.
    if (instruction.keyword == "FROM" && from_seen && !request.target.empty() &&
        state.stage_name == AsciiLower(request.target))
      break;
    ++state.steps;
    say(fmt::format("Step {}/{} : {}\n", state.steps, total, instruction.Text()));
    VariableLookup args_lookup = [&](const std::string& name) -> std::optional<std::string> {
      // FROM sees the meta args only, every stage of it.
      const auto& scope = from_seen && instruction.keyword != "FROM" ? state.args : meta_args;
      auto found = scope.find(name);
      if (found == scope.end()) return std::nullopt;
      return found->second;
    };
    const std::string& keyword = instruction.keyword;
    absl::Status step;
    if (keyword == "ARG") {
      std::string declaration = instruction.arguments;
      size_t equals = declaration.find('=');
      std::string name = declaration.substr(0, equals);
      auto& scope = from_seen ? state.args : meta_args;
      // The value: --build-arg's, else the default here, else (in a stage) the meta ARG's. One
      // without any is declared but not set.
      if (auto given = request.build_args.find(name); given != request.build_args.end()) {
        scope[name] = given->second;
      } else if (equals != std::string::npos) {
        LIMAN_ASSIGN_OR_RETURN(scope[name], ExpandVariables(declaration.substr(equals + 1), args_lookup));
      } else if (auto meta = meta_args.find(name); from_seen && meta != meta_args.end()) {
        scope[name] = meta->second;
      }
      if (!from_seen) continue;
      step = BuildConfigStep(instruction, state, nullptr);
    } else if (keyword == "FROM") {
      step = BuildFrom(instruction, state, args_lookup, emit);
      from_seen = true;
    } else if (!from_seen) {
      return absl::InvalidArgumentError(
          fmt::format("failed to process \"{}\": no FROM before it", instruction.Text()));
    } else if (keyword == "RUN") {
      step = BuildRun(request, instruction, state, say);
    } else if (keyword == "COPY" || keyword == "ADD") {
      step = BuildCopy(instruction, state, emit);
    } else if (keyword == "MAINTAINER") {
      state.author = instruction.arguments;
      step = BuildConfigStep(instruction, state, nullptr);
    } else if (keyword == "SHELL") {
      if (!instruction.exec_form || instruction.exec_form->empty())
        return absl::InvalidArgumentError("SHELL requires the arguments to be in JSON form");
      state.run_config["Shell"] = *instruction.exec_form;
      step = BuildConfigStep(instruction, state, nullptr);
    } else if (keyword == "HEALTHCHECK") {
      LIMAN_ASSIGN_OR_RETURN(state.run_config["Healthcheck"], HealthcheckConfig(instruction));
      step = BuildConfigStep(instruction, state, nullptr);
    } else {
      step = BuildConfigStep(instruction, state, &args_lookup);
    }
    LIMAN_RETURN_IF_ERROR(step);
    say(fmt::format(" ---> {}\n", ShortImageId(state.image ? state.image->id : "scratch")));
  }
  if (!request.target.empty() && state.stage_name != AsciiLower(request.target))
    return absl::InvalidArgumentError(fmt::format("failed to reach build target {} in Dockerfile", request.target));
  if (!state.image) return absl::InvalidArgumentError("No image was generated. Is your Dockerfile empty?");
  return absl::OkStatus();
}

absl::Status Daemon::BuildFrom(const DockerfileInstruction& instruction, BuildState& state,
                               const VariableLookup& args, const std::function<void(const json&)>& emit) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> words, SplitWords(instruction.arguments, args));
  if (words.size() != 1 && !(words.size() == 3 && AsciiLower(words[1]) == "as"))
    return absl::InvalidArgumentError(fmt::format("FROM requires either one or three arguments"));
  // The stage that ends here stays reachable by its index and name.
  if (state.stage_index >= 0) {
    BuildState::Stage done{state.image, state.image_ref};
    state.stages[std::to_string(state.stage_index)] = done;
    if (!state.stage_name.empty()) state.stages[state.stage_name] = done;
  }
  ++state.stage_index;
  state.stage_name = words.size() == 3 ? AsciiLower(words[2]) : "";
  state.args.clear();
  state.cmd_set = false;
  state.author.clear();
  state.run_config = json::object();
  if (auto stage = state.stages.find(AsciiLower(words[0])); stage != state.stages.end()) {
    state.image = stage->second.image;
    state.image_ref = stage->second.image_ref;
  } else if (words[0] == "scratch") {
    state.image.reset();
    state.image_ref.clear();
    return absl::OkStatus();
  } else {
    LIMAN_ASSIGN_OR_RETURN(auto found, FindOrPullImage(words[0], emit));
    state.image = std::move(found.first);
    state.image_ref = std::move(found.second);
  }
  if (state.image) {
    state.run_config = state.image->config.value("config", json::object());
    if (!state.run_config.is_object()) state.run_config = json::object();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Daemon::ImageContents, std::string>> Daemon::FindOrPullImage(
    const std::string& name, const std::function<void(const json&)>& emit) {
  absl::StatusOr<containerd::remotes::Reference> reference = containerd::remotes::ParseReference(name);
  if (!reference.ok()) return absl::InvalidArgumentError(std::string(reference.status().message()));
  absl::StatusOr<ImageContents> base = FindImageContents(reference->String());
  if (absl::IsNotFound(base.status())) {
    // Pulled as docker pull would, its progress in the build's output.
    std::string name = reference->Name();
    if (!reference->digest.empty()) name += "@" + reference->digest;
    LIMAN_RETURN_IF_ERROR(PullImage(name, reference->digest.empty() ? reference->tag : "", "", emit));
    base = FindImageContents(reference->String());
  }
  LIMAN_RETURN_IF_ERROR(base.status());
  return std::make_pair(*std::move(base), reference->String());
}

absl::Status Daemon::BuildConfigStep(const DockerfileInstruction& instruction, BuildState& state,
                                     const VariableLookup* args) {
  if (args) LIMAN_RETURN_IF_ERROR(ApplyConfigInstruction(instruction, state.run_config, state.cmd_set, *args));
  std::string created_by = "/bin/sh -c #(nop)  " + instruction.Text();
  // The config it leaves and the ARGs' values (an ARG step changes only those) make the key.
  std::string key = StepKey(state, fmt::format("{}\n{}\n{}\n{}", created_by, state.run_config.dump(),
                                               json(state.args).dump(), state.author));
  LIMAN_ASSIGN_OR_RETURN(bool cached, UseCachedStep(state, key, state.say));
  if (cached) return absl::OkStatus();
  return CommitBuildStep(state, "", created_by, key);
}

absl::Status Daemon::CommitBuildStep(BuildState& state, const std::string& layer_from, const std::string& created_by,
                                     const std::string& key) {
  std::string record = BuildCacheImageName(key);
  LIMAN_ASSIGN_OR_RETURN(ImageContents image, WriteImage(NewImage{.base = state.image,
                                                                  .layer_from = layer_from,
                                                                  .run_config = state.run_config,
                                                                  .history = created_by.empty() ? json()
                                                                             : json{{"created_by", created_by}},
                                                                  .author = state.author,
                                                                  .name = record}));
  state.image = std::move(image);
  state.image_ref = record;
  return absl::OkStatus();
}

absl::StatusOr<bool> Daemon::UseCachedStep(BuildState& state, const std::string& key,
                                           const std::function<void(const std::string&)>& say) {
  if (state.no_cache) return false;
  std::string record = BuildCacheImageName(key);
  absl::StatusOr<ImageContents> cached = ImageContentsByName(record);
  if (absl::IsNotFound(cached.status())) return false;
  LIMAN_RETURN_IF_ERROR(cached.status());
  state.image = *std::move(cached);
  state.image_ref = record;
  state.run_config = state.image->config.value("config", json::object());
  if (!state.run_config.is_object()) state.run_config = json::object();
  say(" ---> Using cache\n");
  return true;
}

// A container of `image_ref` with `config`, for RUN (`command`) and COPY (nothing runs: "#(nop)").
absl::StatusOr<std::string> Daemon::CreateBuildContainer(const std::string& image_ref, const json& config,
                                                        const json& command, const std::string& network_mode) {
  json body = config;
  body["Image"] = image_ref;
  body["Cmd"] = command;
  body["Entrypoint"] = json::array();
  body["AttachStdout"] = true;
  body["AttachStderr"] = true;
  body["Tty"] = false;
  body["OpenStdin"] = false;
  body["HostConfig"] = {{"NetworkMode", network_mode.empty() ? "default" : network_mode}};
  LIMAN_ASSIGN_OR_RETURN(json created, CreateContainer("", body));
  return created.value("Id", "");
}

absl::Status Daemon::BuildRun(const BuildRequest& request, const DockerfileInstruction& instruction,
                              BuildState& state, const std::function<void(const std::string&)>& say) {
  if (!state.image) return absl::InvalidArgumentError("RUN needs an image to run in: FROM scratch has no shell");
  json command;
  if (instruction.exec_form) {
    command = *instruction.exec_form;
  } else {
    command = state.run_config.contains("Shell") && state.run_config["Shell"].is_array()
                  ? state.run_config["Shell"]
                  : json::array({"/bin/sh", "-c"});
    command.push_back(instruction.arguments);
  }
  // Build arguments are the RUN's environment (not the image's).
  json config = state.run_config;
  json env = config.value("Env", json::array());
  for (const auto& [name, value] : state.args)
    if (!EnvLookup(env)(name)) env.push_back(name + "=" + value);
  config["Env"] = env;
  std::string created_by = absl::StrJoin(command.get<std::vector<std::string>>(), " ");
  std::string key = StepKey(state, fmt::format("RUN\n{}\n{}\n{}", command.dump(), env.dump(), request.network_mode));
  LIMAN_ASSIGN_OR_RETURN(bool cached, UseCachedStep(state, key, say));
  if (cached) return absl::OkStatus();
  LIMAN_ASSIGN_OR_RETURN(std::string id, CreateBuildContainer(state.image_ref, config, command, request.network_mode));
  say(fmt::format(" ---> Running in {}\n", id.substr(0, 12)));
  uint64_t exits = ContainerExits(id);
  absl::Status result = StartContainer(id).status();
  if (result.ok()) {
    // Its output, as it comes, until it has exited and all of it is read.
    LIMAN_ASSIGN_OR_RETURN(LogSource source, ContainerLogSource(id));
    LogReadOptions options;
    options.follow = true;
    options.max_files = source.max_files;
    (void)ReadJsonLog(
        source.log_path, options,
        [&](const LogEntry& entry) {
          say(entry.log);
          return true;
        },
        [&] { return !ContainerActive(id, /*include_created=*/true, exits); });
    LIMAN_ASSIGN_OR_RETURN(WaitResult waited, WaitContainer(id, "not-running", [] { return false; }));
    if (waited.status_code != 0) {
      std::vector<std::string> words = command.get<std::vector<std::string>>();
      result = absl::UnknownError(fmt::format("The command '{}' returned a non-zero code: {}",
                                              absl::StrJoin(words, " "), waited.status_code));
    }
  }
  if (result.ok()) result = CommitBuildStep(state, id, created_by, key);
  // Docker keeps a failed step's container unless --force-rm.
  if (result.ok() ? request.remove : request.force_remove) {
    if (absl::Status removed = RemoveContainer(id, true, true); !removed.ok()) LogWarn("build: {}", removed);
    if (result.ok()) say(fmt::format("Removing intermediate container {}\n", id.substr(0, 12)));
  }
  return result;
}

absl::Status Daemon::BuildCopy(const DockerfileInstruction& instruction, BuildState& state,
                               const std::function<void(const json&)>& emit) {
  std::optional<std::pair<uid_t, gid_t>> owner = std::make_pair(uid_t{0}, gid_t{0});
  bool chown_given = false;
  std::string from;
  for (const std::string& flag : instruction.flags) {
    if (flag.starts_with("chown=")) {
      LIMAN_ASSIGN_OR_RETURN(owner, ParseChown(flag.substr(6)));
      chown_given = true;
    } else if (flag.starts_with("from=") && instruction.keyword == "COPY") {
      from = flag.substr(5);
    } else {
      return absl::InvalidArgumentError(fmt::format("{}: unknown flag: --{}", instruction.keyword, flag));
    }
  }
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> words,
                         InstructionWords(instruction, EnvLookup(state.run_config.value("Env", json::array()))));
  if (words.size() < 2) return absl::InvalidArgumentError(fmt::format("{} requires at least two arguments", instruction.keyword));
  std::string requested_destination = words.back();
  words.pop_back();
  for (const std::string& word : words)
    if (word.find("://") != std::string::npos)
      return absl::UnimplementedError(fmt::format("{} from a URL is not supported: {}", instruction.keyword, word));
  std::string working_dir = state.run_config.value("WorkingDir", "");
  std::string destination =
      CleanAbsolutePath(requested_destination.starts_with('/')
                            ? requested_destination
                            : JoinPath(working_dir.empty() ? "/" : working_dir, requested_destination));
  json nop = json::array({"/bin/sh", "-c", "#(nop) " + instruction.Text()});

  // --from: the files of an earlier stage's image (or of an image), seen through a container of it.
  std::string source_ref;
  std::string source_identity;  // for the cache key: the image's ID, or the context files' hash
  if (!from.empty()) {
    if (auto stage = state.stages.find(AsciiLower(from)); stage != state.stages.end()) {
      if (!stage->second.image) return absl::InvalidArgumentError(fmt::format("COPY --from={}: the stage is empty", from));
      source_ref = stage->second.image_ref;
      source_identity = stage->second.image->id;
    } else {
      LIMAN_ASSIGN_OR_RETURN(auto found, FindOrPullImage(from, emit));
      source_ref = found.second;
      source_identity = found.first.id;
    }
  } else {
    LIMAN_ASSIGN_OR_RETURN(source_identity, HashSources(state.context_fd, words));
  }
  std::string created_by =
      fmt::format("/bin/sh -c #(nop) {} {} in {} ", instruction.keyword, absl::StrJoin(words, " "), destination);
  std::string key = StepKey(state, fmt::format("{}\n{}\n{}\n{}\n{}", instruction.Text(), destination,
                                               requested_destination, source_identity, state.run_config.dump()));
  LIMAN_ASSIGN_OR_RETURN(bool cached, UseCachedStep(state, key, state.say));
  if (cached) return absl::OkStatus();
  std::string source_container;
  if (!source_ref.empty()) {
    LIMAN_ASSIGN_OR_RETURN(source_container, CreateBuildContainer(source_ref, json::object(), nop, "none"));
  }
  // FROM scratch: an image without layers to copy into.
  if (!state.image) {
    absl::Status base = CommitBuildStep(state, "", "", StepKey(state, "scratch\n" + state.run_config.dump()));
    if (!base.ok()) {
      if (!source_container.empty()) (void)RemoveContainer(source_container, true, true);
      return base;
    }
  }
  absl::StatusOr<std::string> created = CreateBuildContainer(state.image_ref, state.run_config, nop, "none");
  absl::Status copied = created.status();
  if (created.ok()) {
    auto copy_into = [&](int source_root) {
      return InContainerFiles(*created, [&](int root_fd) {
        BuildCopyOptions copy{.from_context = from.empty(),
                              .owner = owner,
                              .extract_archives = instruction.keyword == "ADD",
                              .archive_owner = chown_given ? owner : std::nullopt};
        return CopyBuildFiles(source_root, words, requested_destination, destination, copy, root_fd);
      });
    };
    copied = from.empty() ? copy_into(state.context_fd) : InContainerFiles(source_container, copy_into);
  }
  if (copied.ok()) copied = CommitBuildStep(state, *created, created_by, key);
  for (const std::string& id : {created.value_or(""), source_container})
    if (!id.empty())
      if (absl::Status removed = RemoveContainer(id, true, true); !removed.ok()) LogWarn("build: {}", removed);
  return copied;
}

absl::Status Daemon::TagBuiltImage(const BuildRequest& request, BuildState& state,
                                   const std::function<void(const std::string&)>& say,
                                   const std::function<void(const json&)>& emit) {
  const ImageContents& image = *state.image;
  emit(json{{"aux", {{"ID", image.id}}}});
  if (request.quiet) {
    emit(json{{"stream", image.id + "\n"}});
  } else {
    say(fmt::format("Successfully built {}\n", ShortImageId(image.id)));
  }
  if (request.tags.empty()) {
    // Without a tag an image the build made is listed dangling (its cache record is hidden).
    if (IsBuildCacheImageName(state.image_ref)) return RecordDanglingImage(image);
    return absl::OkStatus();
  }
  for (const std::string& tag : request.tags) {
    absl::StatusOr<containerd::remotes::Reference> reference = containerd::remotes::ParseReference(tag);
    if (!reference.ok()) return absl::InvalidArgumentError(std::string(reference.status().message()));
    LIMAN_RETURN_IF_ERROR(NameImage(image, reference->String()));
    say(fmt::format("Successfully tagged {}\n", containerd::remotes::FamiliarString(*reference)));
  }
  return absl::OkStatus();
}

}  // namespace liman::engine
