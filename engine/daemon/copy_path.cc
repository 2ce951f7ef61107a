#include "engine/daemon/copy_path.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "engine/daemon/json_log_reader.h"

namespace liman::engine {

CopyPath ParseCopyPath(std::string_view path) {
  // Lexically cleaned, as filepath.Clean: "" and "." elements go, ".." removes the one before
  // (never above the root).
  std::vector<std::string> elements;
  for (absl::string_view element : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    if (element.empty() || element == ".") continue;
    if (element == "..") {
      if (!elements.empty()) elements.pop_back();
      continue;
    }
    elements.emplace_back(element);
  }
  bool current_dir = path == "." || path.ends_with("/.");
  bool trailing_slash = path.ends_with("/");
  CopyPath result;
  std::string clean = "/" + absl::StrJoin(elements, "/");
  result.absolute = clean;
  if (elements.empty()) {
    result.name = ".";
    result.base = current_dir ? "." : "/";
    result.follow = true;
    return result;
  }
  if (current_dir) {
    result.absolute += "/.";
    result.parent = clean;
    result.name = ".";
    result.base = ".";
    result.follow = true;
    return result;
  }
  if (trailing_slash) result.absolute += "/";
  result.name = elements.back();
  result.base = result.name;
  elements.pop_back();
  result.parent = "/" + absl::StrJoin(elements, "/");
  result.follow = trailing_slash;
  return result;
}

uint32_t GoFileMode(mode_t mode) {
  // Go's os.FileMode bits (io/fs): the type bits from the top, then the special permission bits.
  constexpr uint32_t kDir = 1u << 31, kSymlink = 1u << 27, kDevice = 1u << 26, kNamedPipe = 1u << 25,
                     kSocket = 1u << 24, kSetuid = 1u << 23, kSetgid = 1u << 22, kCharDevice = 1u << 21,
                     kSticky = 1u << 20;
  uint32_t go = mode & 0777;
  switch (mode & S_IFMT) {
    case S_IFDIR: go |= kDir; break;
    case S_IFLNK: go |= kSymlink; break;
    case S_IFBLK: go |= kDevice; break;
    case S_IFCHR: go |= kDevice | kCharDevice; break;
    case S_IFIFO: go |= kNamedPipe; break;
    case S_IFSOCK: go |= kSocket; break;
    default: break;
  }
  if (mode & S_ISUID) go |= kSetuid;
  if (mode & S_ISGID) go |= kSetgid;
  if (mode & S_ISVTX) go |= kSticky;
  return go;
}

nlohmann::json CopyPathStat(const std::string& name, const struct stat& st, const std::string& link_target) {
  absl::Time mtime = absl::FromUnixSeconds(st.st_mtim.tv_sec) + absl::Nanoseconds(st.st_mtim.tv_nsec);
  return nlohmann::json{{"name", name},
                        {"size", static_cast<int64_t>(st.st_size)},
                        {"mode", GoFileMode(st.st_mode)},
                        {"mtime", FormatLogTime(mtime)},
                        {"linkTarget", link_target}};
}

std::string PathStatHeader(const nlohmann::json& stat) { return absl::Base64Escape(stat.dump()); }

}  // namespace liman::engine
