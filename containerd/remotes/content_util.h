// Content store chores shared by pull, unpack and import: ingest refs as containerd names
// them, ingests that wait for a concurrent writer, whole small blobs in and out, labels.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "containerd/core/content.h"
#include "containerd/remotes/image_spec.h"

namespace liman::containerd::remotes {

// containerd's remotes.MakeRefKey: "manifest-<digest>", "index-…", "layer-…", "config-…",
// "unknown-…".
std::string IngestRef(const Descriptor& desc);

// Opens ingest IngestRef(desc) for `desc`, waiting (with backoff) while another writer holds
// it, as containerd does; restarts a resumed ingest from 0. kAlreadyExists when the blob is
// committed (also by that other writer). `cancelled` (may be null) ends the wait.
absl::StatusOr<std::unique_ptr<ContentWriter>> OpenIngest(ContentStore& content, const Descriptor& desc,
                                                          const std::atomic<bool>* cancelled = nullptr);

// Closes `writer` (if any) and aborts its ingest `ref`; failures are logged.
void AbortIngest(ContentStore& content, std::unique_ptr<ContentWriter>& writer, const std::string& ref);

// Writes `data` as blob `desc` with `labels`. A blob that is already there keeps its content and
// gets the labels. Nothing is left behind on failure.
absl::Status WriteBlob(ContentStore& content, const Descriptor& desc, std::string_view data, const Labels& labels);

// The whole blob `digest`, refused (kOutOfRange) above `limit` bytes.
absl::StatusOr<std::string> ReadBlob(ContentStore& content, std::string_view digest, int64_t limit);

// Sets `labels` (only those keys) on blob `digest`.
absl::Status AddBlobLabels(ContentStore& content, std::string_view digest, const Labels& labels);

}  // namespace liman::containerd::remotes
