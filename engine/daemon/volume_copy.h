// Docker's copy-up into volumes (moby's CopyImagePathContent and copyExistingContents): a volume
// mounted where the image has a directory, and still empty, is filled with that directory's
// files and takes its owner and mode; `-v NAME:/path:nocopy` and `--mount …,volume-nocopy`
// ask for none.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace liman::engine {

// Copies the directory `image_path` of the root filesystem open at `root_fd` (resolved inside
// it: its symlinks cannot lead out) into `volume_dir` when that has no entries: regular files,
// directories, symlinks, FIFOs and devices with their modes, owners and modification times
// (hard links become copies). Nothing is done when `image_path` is missing or no directory.
absl::Status CopyImagePathIntoVolume(int root_fd, const std::string& image_path, const std::string& volume_dir);

}  // namespace liman::engine
