// Pushing an image from a content store to a registry: containerd's remotes.PushContent with
// docker's choices.
//
// The root is the image's target, or with a platform and an index target that platform's
// manifest alone (docker push sends the one manifest it runs, not an index whose other
// platforms were never pulled). Children go before their parents, so the registry never sees a
// manifest that names a blob it lacks: each manifest's layers and config, then the manifest (by
// digest when an index follows), then the index, under the reference's tag (or digest).
//
// Each blob the registry does not have (HEAD) is mounted from another repository of the same
// registry when the content store's distribution-source label names one there, else uploaded in
// one PUT read from the content store; the registry verifies the digest. Errors name the
// reference and the blob.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/remotes/auth.h"
#include "containerd/remotes/image_spec.h"
#include "containerd/remotes/registry.h"
#include "containerd/remotes/unpacker.h"

namespace liman::containerd::remotes {

struct PushOptions {
  // With an index target: push this platform's manifest only.
  std::optional<Platform> platform;
  // How to reach and authenticate to the registry (its `push` is set by Push).
  RegistryOptions registry;
  // kExists, kUploading, kUploaded, kMounted per blob; kDone with the root.
  std::function<void(const PullProgress&)> progress;
  // Aborts an upload (kCancelled) once it turns true; checked at every chunk.
  const std::atomic<bool>* cancelled = nullptr;
  // Blobs of a manifest uploaded at the same time (dockerd's max-concurrent-uploads).
  int max_concurrent_uploads = 5;
};

struct PushResult {
  std::string name;     // the normalized reference pushed to
  Descriptor manifest;  // what the tag names on the registry now (a manifest, or the index)
};

// Pushes `target` (an image's root descriptor, in `content`) to `ref`.
absl::StatusOr<PushResult> Push(std::string_view ref, const Descriptor& target, const PushOptions& options,
                                ContentStore& content);

}  // namespace liman::containerd::remotes
