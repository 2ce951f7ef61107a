#include "containerd/content/local_store.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/file_util.h"
#include "common/logging.h"
#include "common/sha256.h"
#include "common/status.h"
#include "common/wall_clock.h"
#include "containerd/content/adaptors.h"
#include "containerd/content/digest.h"
#include "containerd/content/file_reader.h"
#include "containerd/content/ingest_lock.h"
#include "containerd/content/ingest_record.h"
#include "containerd/content/label_file.h"
#include "containerd/content/local_writer.h"
#include "containerd/filters/filters.h"
#include "fmt/format.h"

namespace liman::containerd::content {
namespace {

constexpr std::string_view kBlobsDir = "blobs/sha256";
constexpr std::string_view kLabelsDir = "labels/sha256";
constexpr std::string_view kIngestDir = "ingest";

absl::Status ContentNotFound(std::string_view digest) {
  return absl::NotFoundError(fmt::format("content {}: not found", digest));
}

absl::Status ContentExists(std::string_view digest) {
  return absl::AlreadyExistsError(fmt::format("content {}: already exists", digest));
}

absl::Status CheckRef(std::string_view ref) {
  if (ref.empty()) return absl::InvalidArgumentError("ref must not be empty");
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return ErrnoError(fmt::format("open {}", Quote(path)));
  if (fsync(fd.get()) != 0) return ErrnoError(fmt::format("fsync {}", Quote(path)));
  return absl::OkStatus();
}

// Entries of `dir` in name order (a stable order for Walk and ListStatuses).
absl::StatusOr<std::vector<std::string>> SortedEntries(const std::string& dir) {
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

absl::StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root) {
  for (std::string_view dir : {kBlobsDir, kLabelsDir, kIngestDir})
    LIMAN_RETURN_IF_ERROR(Annotate(MkdirAll(JoinPath(root, dir), 0755), "open content store"));
  char resolved[PATH_MAX];
  if (realpath(root.c_str(), resolved) == nullptr) return ErrnoError(fmt::format("realpath {}", Quote(root)));
  return std::unique_ptr<LocalStore>(new LocalStore(resolved));
}

LocalStore::LocalStore(std::string root) : root_(std::move(root)) {}

std::string LocalStore::BlobPathOfHex(std::string_view hex) const {
  return JoinPath(JoinPath(root_, kBlobsDir), hex);
}

std::string LocalStore::LabelPathOfHex(std::string_view hex) const {
  return JoinPath(JoinPath(root_, kLabelsDir), hex);
}

absl::StatusOr<std::string> LocalStore::BlobPath(std::string_view digest) const {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(digest));
  return BlobPathOfHex(DigestHex(digest));
}

std::string LocalStore::IngestPath(std::string_view ref) const {
  // Hashing keeps the path short and free of anything a ref may contain ("../", NUL…).
  return JoinPath(JoinPath(root_, kIngestDir), Sha256Hex(ref));
}

absl::StatusOr<ContentInfo> LocalStore::InfoOfHex(std::string_view hex) const {
  ContentInfo info;
  info.digest = fmt::format("{}{}", kSha256Prefix, hex);
  std::string path = BlobPathOfHex(hex);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ContentNotFound(info.digest);
    return ErrnoError(fmt::format("stat {}", Quote(path)));
  }
  if (!S_ISREG(st.st_mode)) return absl::DataLossError(fmt::format("blob {} is not a regular file", Quote(path)));
  info.size = st.st_size;
  info.created_at = absl::TimeFromTimespec(st.st_mtim);
  info.updated_at = info.created_at;
  std::string label_path = LabelPathOfHex(hex);
  LIMAN_ASSIGN_OR_RETURN(info.labels, ReadLabelFile(label_path));
  struct stat label_st;
  if (stat(label_path.c_str(), &label_st) == 0)
    info.updated_at = std::max(info.updated_at, absl::TimeFromTimespec(label_st.st_mtim));
  return info;
}

absl::StatusOr<ContentInfo> LocalStore::Info(std::string_view digest) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(digest));
  return InfoOfHex(DigestHex(digest));
}

absl::StatusOr<ContentInfo> LocalStore::Update(const ContentInfo& info, const FieldPaths& paths) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(info.digest));
  constexpr std::string_view kLabelPrefix = "labels.";
  bool replace_all = paths.empty();
  for (const std::string& path : paths) {
    if (path == "labels") {
      replace_all = true;
    } else if (path.size() <= kLabelPrefix.size() || path.compare(0, kLabelPrefix.size(), kLabelPrefix) != 0) {
      return absl::InvalidArgumentError(
          fmt::format("cannot update {} field on content info {}", Quote(path), Quote(info.digest)));
    }
  }
  std::string_view hex = DigestHex(info.digest);
  std::lock_guard<std::mutex> guard(mutex_);
  if (!PathExists(BlobPathOfHex(hex))) return ContentNotFound(info.digest);
  Labels labels = info.labels;
  if (!replace_all) {
    // Only a partial update reads the current labels (replacing all also repairs a bad file).
    LIMAN_ASSIGN_OR_RETURN(labels, ReadLabelFile(LabelPathOfHex(hex)));
    for (const std::string& path : paths) {
      std::string key = path.substr(kLabelPrefix.size());
      if (auto it = info.labels.find(key); it != info.labels.end()) {
        labels[key] = it->second;
      } else {
        labels.erase(key);  // a named label missing from info is removed
      }
    }
  }
  LIMAN_RETURN_IF_ERROR(WriteLabelFile(LabelPathOfHex(hex), labels, WallClockNow()));
  return InfoOfHex(hex);
}

absl::Status LocalStore::Walk(const std::vector<std::string>& filters,
                              const std::function<absl::Status(const ContentInfo&)>& fn) {
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedEntries(JoinPath(root_, kBlobsDir)));
  for (const std::string& hex : names) {
    // Anything that is not a digest (a stray file) is not a blob.
    if (!ValidateDigest(fmt::format("{}{}", kSha256Prefix, hex)).ok()) continue;
    auto info = InfoOfHex(hex);
    if (!info.ok()) {
      if (absl::IsNotFound(info.status())) continue;  // deleted while we walk
      return info.status();
    }
    if (!filter.Match(AdaptInfo(*info))) continue;
    LIMAN_RETURN_IF_ERROR(fn(*info));
  }
  return absl::OkStatus();
}

absl::Status LocalStore::Delete(std::string_view digest) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string_view hex = DigestHex(digest);
  std::string path = BlobPathOfHex(hex);
  std::lock_guard<std::mutex> guard(mutex_);
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return ContentNotFound(digest);
    return ErrnoError(fmt::format("remove {}", Quote(path)));
  }
  return RemoveLabelFile(LabelPathOfHex(hex));
}

absl::StatusOr<std::unique_ptr<ContentReader>> LocalStore::ReaderAt(std::string_view digest) {
  LIMAN_RETURN_IF_ERROR(ValidateDigest(digest));
  std::string path = BlobPathOfHex(DigestHex(digest));
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ContentNotFound(digest);
    return ErrnoError(fmt::format("open {}", Quote(path)));
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError(fmt::format("stat {}", Quote(path)));
  return std::unique_ptr<ContentReader>(new FileContentReader(std::move(fd), st.st_size, std::string(digest)));
}

absl::StatusOr<std::unique_ptr<ContentWriter>> LocalStore::Writer(std::string_view ref, int64_t total,
                                                                  std::string_view expected) {
  LIMAN_RETURN_IF_ERROR(CheckRef(ref));
  if (total < 0) return absl::InvalidArgumentError(fmt::format("writer for ref {}: negative total {}", ref, total));
  if (!expected.empty()) {
    LIMAN_RETURN_IF_ERROR(ValidateDigest(expected));
    if (PathExists(BlobPathOfHex(DigestHex(expected)))) return ContentExists(expected);
  }
  LIMAN_ASSIGN_OR_RETURN(std::unique_ptr<LocalWriter> writer, LocalWriter::Open(this, ref, total, expected));
  return std::unique_ptr<ContentWriter>(std::move(writer));
}

absl::StatusOr<IngestStatus> LocalStore::Status(std::string_view ref) {
  LIMAN_RETURN_IF_ERROR(CheckRef(ref));
  auto status = ReadIngestRecord(IngestPath(ref));
  if ((!status.ok() && absl::IsNotFound(status.status())) || (status.ok() && status->ref != ref))
    return absl::NotFoundError(fmt::format("ingest ref {}: not found", Quote(ref)));
  return status;
}

absl::StatusOr<std::vector<IngestStatus>> LocalStore::ListStatuses(const std::vector<std::string>& filters) {
  LIMAN_ASSIGN_OR_RETURN(filters::Filter filter, filters::Parse(filters));
  std::string ingest_root = JoinPath(root_, kIngestDir);
  LIMAN_ASSIGN_OR_RETURN(std::vector<std::string> names, SortedEntries(ingest_root));
  std::vector<IngestStatus> statuses;
  for (const std::string& name : names) {
    auto status = ReadIngestRecord(JoinPath(ingest_root, name));
    if (!status.ok()) {
      // Not found: being created, committed or aborted right now. Anything else is a damaged
      // record, which the next Writer for its ref restarts; it must not hide the others.
      if (!absl::IsNotFound(status.status())) LogWarn("list ingests: skipping {}: {}", Quote(name), status.status());
      continue;
    }
    if (filter.Match(AdaptStatus(*status))) statuses.push_back(*std::move(status));
  }
  std::sort(statuses.begin(), statuses.end(),
            [](const IngestStatus& a, const IngestStatus& b) { return a.ref < b.ref; });
  return statuses;
}

absl::Status LocalStore::Abort(std::string_view ref) {
  LIMAN_RETURN_IF_ERROR(CheckRef(ref));
  LIMAN_ASSIGN_OR_RETURN(IngestLock lock, IngestLock::Acquire(IngestPath(ref), ref, /*create=*/false));
  return Annotate(RemoveAll(lock.dir()), fmt::format("abort ref {}", Quote(ref)));
}

absl::Status LocalStore::LinkBlob(const std::string& source, const std::string& digest, const Labels& labels,
                                  absl::Time committed_at) {
  std::string_view hex = DigestHex(digest);
  std::string target = BlobPathOfHex(hex);
  std::lock_guard<std::mutex> guard(mutex_);
  if (PathExists(target)) return ContentExists(digest);
  // Labels first: the blob never appears without them. A leftover label file (of a blob
  // deleted before a crash) must not dress the new blob either.
  std::string label_path = LabelPathOfHex(hex);
  LIMAN_RETURN_IF_ERROR(labels.empty() ? RemoveLabelFile(label_path) : WriteLabelFile(label_path, labels, committed_at));
  // RENAME_NOREPLACE (renameat2(2)): a blob committed meanwhile by another process is kept.
  if (renameat2(AT_FDCWD, source.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return ContentExists(digest);
    if (errno != EINVAL) return ErrnoError(fmt::format("rename {} to {}", Quote(source), Quote(target)));
    // A filesystem without RENAME_NOREPLACE: link(2) also refuses an existing target.
    if (link(source.c_str(), target.c_str()) != 0) {
      if (errno == EEXIST) return ContentExists(digest);
      return ErrnoError(fmt::format("link {} to {}", Quote(source), Quote(target)));
    }
    unlink(source.c_str());
  }
  return FsyncDir(JoinPath(root_, kBlobsDir));
}

}  // namespace liman::containerd::content
