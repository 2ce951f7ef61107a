// docker cp's paths and stat header (moby's container.ResolvePath and StatPath, and the
// X-Docker-Container-Path-Stat header of GET and HEAD /containers/{id}/archive).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "nlohmann/json.hpp"

namespace liman::engine {

// A path in a container as docker cp means it. The last element is the entry itself (a symlink
// is not followed) unless the path ends in "/" or "/.", which name a directory to be resolved.
struct CopyPath {
  std::string absolute;    // "/" + the cleaned path, its trailing "/" or "/." kept
  std::string parent;      // the directory holding the entry ("" for the root)
  std::string name;        // the entry in `parent`; "." for the directory the path resolves to
  std::string base;        // what stat calls it and the archive's top entry: Go's filepath.Base
  bool follow = false;     // a trailing "/": the whole path resolves, its last symlink followed
};
CopyPath ParseCopyPath(std::string_view path);

// Go's os.FileMode for a stat(2) mode: permission bits, then ModeDir, ModeSymlink, ModeDevice,
// ModeCharDevice, ModeNamedPipe, ModeSocket, ModeSetuid, ModeSetgid, ModeSticky.
uint32_t GoFileMode(mode_t mode);

// {"name","size","mode","mtime","linkTarget"} for `st`.
nlohmann::json CopyPathStat(const std::string& name, const struct stat& st, const std::string& link_target);

// The header's value: the stat's JSON in standard base64.
std::string PathStatHeader(const nlohmann::json& stat);

}  // namespace liman::engine
