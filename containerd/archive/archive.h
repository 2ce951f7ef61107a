// Image layers to directories and back (containerd's diff/apply and overlay diff):
//   byte_source.h  ByteSource, the pull-based streams layers are read from
//   compression.h  media types, gzip (ISA-L) / zstd streaming (de)compression
//   apply.h        ApplyLayer (unpack into an overlay upper or a merged tree), SyncFilesystem
//   diff.h         WriteLayerFromUpper (an overlay upper directory as a compressed layer)
#pragma once

#include "containerd/archive/apply.h"
#include "containerd/archive/byte_source.h"
#include "containerd/archive/compression.h"
#include "containerd/archive/diff.h"
