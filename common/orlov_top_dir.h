// Placement of new directories on ext2/3/4: marking a directory as the top of directory
// hierarchies (FS_TOPDIR_FL, chattr(1) 'T'; ioctl_iflags(2)), so that the Orlov allocator places
// each directory made in it in a block group of its own with free inodes and blocks, instead of
// next to its siblings.
//
// Why: ext4 without a journal (this project's test machines' root filesystem) skips every inode
// freed in the last 12 hours (dirtime_expire_interval) when it allocates one, reading each one's
// dtime from the inode table (recently_deleted() in fs/ext4/ialloc.c). Directories that see
// containers and snapshots made and removed all day pile such inodes up in their block group, and
// every new file there scans past them.
#pragma once

#include <string>

namespace liman {

// Sets FS_TOPDIR_FL on `dir`. Other filesystems refuse or ignore the flag: that is fine, and
// logged at debug level only.
void MarkTopOfDirectoryHierarchies(const std::string& dir);

}  // namespace liman
