// Images: a name for a target descriptor, per namespace (containerd's metadata/images.go).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/metadata/db_state.h"
#include "containerd/metadata/records.h"

namespace liman::containerd::metadata {

class ImageStore {
 public:
  explicit ImageStore(DbState& state) : state_(state) {}

  absl::StatusOr<Image> Get(std::string_view ns, std::string_view name);
  // Sorted by name; `filters` in containerd's syntax (see adaptors.h for the fields).
  absl::StatusOr<std::vector<Image>> List(std::string_view ns, const std::vector<std::string>& filters);
  // Sets created_at/updated_at. kInvalidArgument for an empty name, bad labels or a bad target
  // (digest, size > 0, media type required); kAlreadyExists.
  absl::StatusOr<Image> Create(std::string_view ns, Image image);
  // containerd's field paths: "labels", "labels.<k>", "target" (as a whole), "annotations",
  // "annotations.<k>"; none: replace everything but created_at. Others: kInvalidArgument.
  absl::StatusOr<Image> Update(std::string_view ns, const Image& image, const FieldPaths& paths);
  // What the image held becomes collectable; `sync` collects before returning.
  absl::Status Delete(std::string_view ns, std::string_view name, bool sync = false);

 private:
  DbState& state_;
};

}  // namespace liman::containerd::metadata
