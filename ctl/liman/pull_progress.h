// Image pulls and pushes as the docker CLI shows them: POST /images/create and
// /images/{name}/push stream JSON messages that are drawn as one line per layer, updated in place
// with progress bars on a terminal (docker's jsonmessage.DisplayJSONMessagesStream), or as plain
// status lines otherwise.
#pragma once

#include <cstdio>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "ctl/liman/engine_client.h"
#include "nlohmann/json.hpp"

namespace liman::cli {

struct ImageReference {
  std::string name;  // "127.0.0.1:5000/liman/busybox"
  std::string tag;   // "latest" when none was given (and no digest)
  std::string digest;
  bool tag_defaulted = false;
  std::string String() const;  // name:tag or name@digest
};
ImageReference ParseImageReference(const std::string& text);

// Pulls `reference`, drawing the progress to `out` (nothing but errors when quiet).
absl::Status PullImage(EngineClient& client, const ImageReference& reference, FILE* out, bool quiet);
// Pushes `reference` (every tag of its repository with `all_tags`), drawing the progress alike.
absl::Status PushImage(EngineClient& client, const ImageReference& reference, bool all_tags, FILE* out, bool quiet);

// One JSON message drawn as docker does; kept as a class for the per-layer line bookkeeping.
class ProgressDisplay {
 public:
  ProgressDisplay(FILE* out, bool terminal, unsigned width) : out_(out), terminal_(terminal), width_(width) {}
  // An {"error"} message is returned as an error.
  absl::Status Show(const nlohmann::json& message);

 private:
  std::string ProgressBar(const nlohmann::json& progress) const;
  FILE* out_;
  bool terminal_;
  unsigned width_;
  std::map<std::string, int> lines_;  // layer id -> its line, counted from the first
};

}  // namespace liman::cli
