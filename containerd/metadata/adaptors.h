// The fields each record exposes to containerd filters (containerd's metadata/adaptors.go):
//   image:     name, target.digest, target.mediatype, labels.<k>, annotations.<k>
//   container: id, image, runtime.name, snapshotter, labels.<k>
//   lease:     id, labels.<k>
//   content:   digest, labels.<k>          ingest status: ref
//   snapshot:  kind (active|view|committed), name, parent, labels.<k>
#pragma once

#include "containerd/core/content.h"
#include "containerd/core/snapshots.h"
#include "containerd/filters/filters.h"
#include "containerd/metadata/records.h"

namespace liman::containerd::metadata {

// The adaptors keep a reference to the record: it must outlive the Match call.
filters::Adaptor AdaptImage(const Image& image);
filters::Adaptor AdaptContainer(const Container& container);
filters::Adaptor AdaptLease(const Lease& lease);
filters::Adaptor AdaptContentInfo(const ContentInfo& info);
filters::Adaptor AdaptIngestStatus(const IngestStatus& status);
filters::Adaptor AdaptSnapshotInfo(const SnapshotInfo& info);

}  // namespace liman::containerd::metadata
