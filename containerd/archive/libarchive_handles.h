// Owning pointers to libarchive's handles, each freed by libarchive's own function
// (archive_read_free(3), archive_write_free(3), archive_entry_free(3)).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <memory>

namespace liman::containerd::archive {

struct ArchiveReadFree {
  void operator()(::archive* reader) const { archive_read_free(reader); }
};
struct ArchiveWriteFree {
  void operator()(::archive* writer) const { archive_write_free(writer); }
};
struct ArchiveEntryFree {
  void operator()(archive_entry* entry) const { archive_entry_free(entry); }
};

using ArchiveReader = std::unique_ptr<::archive, ArchiveReadFree>;
using ArchiveWriter = std::unique_ptr<::archive, ArchiveWriteFree>;
using ArchiveEntry = std::unique_ptr<archive_entry, ArchiveEntryFree>;

}  // namespace liman::containerd::archive
