// Pulling an image: containerd's Client.Pull with unpack, into a content store and a
// snapshotter. The caller records the image (name → target) in its image store.
//
// The root manifest (index or manifest list, or a single manifest) is fetched; an index's
// manifest for the wanted platform is chosen; index, manifest and config are stored in the
// content store with containerd's labels:
//   index:     containerd.io/gc.ref.content.m.<i>            → each manifest of the index
//   manifest:  containerd.io/gc.ref.content.config           → the config
//              containerd.io/gc.ref.content.l.<i>            → each layer
//   config:    containerd.io/gc.ref.snapshot.<snapshotter>   → the image's top chain id (after unpack)
//   layers:    containerd.io/uncompressed                    → the layer's diff id (after unpack)
//   all:       containerd.io/distribution.source.<host>      → the repositories it came from
//
// Layers whose snapshot (named by chain id) already exists are neither fetched nor unpacked.
// The others are fetched concurrently, each in a single pass: the network stream is written into
// the content store (whose commit checks size and digest) and at the same time decompressed and
// unpacked into a staging directory of the snapshotter, its diff id checked against the config.
// Snapshots are then created in chain order: Prepare("extract-<unique> <chainid>", parent
// chain id) → AdoptStagingDir → one syncfs for everything unpacked so far → Commit(chain id),
// labelled containerd.io/snapshot.ref=<chain id> as containerd does. A layer blob already in the
// content store is unpacked from there. Without a StagingSnapshotter, layers are fetched into the
// content store concurrently and unpacked one after the other into mounted snapshots.
//
// On failure nothing half-done remains visible: ingests are aborted, prepared snapshots removed,
// staging directories deleted; what was committed stays (it is complete and verified, as in
// containerd). Errors name the reference and, for a layer, its digest.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/core/snapshots.h"
#include "containerd/remotes/auth.h"
#include "containerd/remotes/image_spec.h"
#include "containerd/remotes/registry.h"
#include "containerd/remotes/unpacker.h"

namespace liman::containerd::remotes {

struct PullOptions {
  // The platform whose manifest to choose from an index; default: the host's (uname).
  std::optional<Platform> platform;
  // How to reach and authenticate to the registry.
  RegistryOptions registry;
  // Layers downloaded (and unpacked) at the same time.
  int max_concurrent_downloads = 3;
  std::function<void(const PullProgress&)> progress;
  // Where layers are mounted to be unpacked when the snapshotter has no staging directories.
  std::string temp_dir = "/tmp";
  bool sync_fs = false;  // UnpackOptions::sync_fs
};

struct PullResult {
  std::string name;     // the normalized reference: "docker.io/library/busybox:latest"
  Descriptor target;    // the root manifest (index or manifest): the image's target
  Descriptor manifest;  // the platform's manifest (== target for a single-manifest image)
  std::string config_digest;
  std::string chain_id;  // the top snapshot's name ("" for an image without layers)
};

// Pulls and unpacks `ref` (normalized like docker pull). `snapshotter_name` is the name the
// GC label on the config uses ("overlayfs").
absl::StatusOr<PullResult> Pull(std::string_view ref, const PullOptions& options, ContentStore& content,
                                Snapshotter& snapshotter, StagingSnapshotter* staging,
                                std::string_view snapshotter_name);

}  // namespace liman::containerd::remotes
