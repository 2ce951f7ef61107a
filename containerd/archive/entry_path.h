// Names of tar entries as paths inside a root, and the whiteout names of the OCI image spec
// (layer.md "Whiteouts"): `.wh.<name>` deletes <name>, `.wh..wh..opq` makes its directory opaque.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace liman::containerd::archive {

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";  // AUFS bookkeeping
inline constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

// Lexically cleans an entry name into `out` as a path relative to the root, like Go's
// filepath.Clean on a rooted path: "./a//b/../c/" -> "a/c", "/etc/x" -> "etc/x", "./" -> "".
// A name whose ".." climbs above the root is refused (kInvalidArgument): no tar we
// make has one, and Docker refuses them too. `out` is reused to spare an allocation per entry.
absl::Status CleanEntryPath(std::string_view name, std::string& out);

// "a/b/c" -> {"a/b", "c"}; "c" -> {"", "c"}.
struct SplitPath {
  std::string_view parent;
  std::string_view base;
};
SplitPath SplitParent(std::string_view path);

enum class WhiteoutKind { kNone, kWhiteout, kOpaque, kMeta };
// What a base name means; for kWhiteout, `target` is the name it deletes, which must be a plain
// name (not "", "." or ".."): kInvalidArgument otherwise.
struct WhiteoutName {
  WhiteoutKind kind = WhiteoutKind::kNone;
  std::string_view target;
};
absl::Status ParseWhiteout(std::string_view base, WhiteoutName& out);

}  // namespace liman::containerd::archive
