// Compiled seccomp programs kept under the runtime root, so that a profile such as Docker's
// default (about 20 ms of libseccomp work, most of an `exec`) is compiled once, not at every
// create and exec.
//
// A cache file holds the exact profile it was compiled from, written as a canonical byte string
// (with the libseccomp version, the kernel's seccomp API level and release, which change what
// libseccomp emits). A lookup compares that string byte for byte, so a file can only ever answer
// for the very profile it was made from; the name (a hash) only finds it. The directory is 0700
// root's under the runtime root; files are replaced whole (rename), and a torn or foreign file is
// a miss, never an error.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/oci_spec.h"
#include "runtime/seccomp.h"

namespace liman::runtime {

// The canonical description of `seccomp` on this host: equal profiles give equal strings.
std::string SeccompCacheKey(const oci::Seccomp& seccomp);

class SeccompCache {
 public:
  // At most this many programs are kept; storing one more removes the least recently written.
  static constexpr size_t kMaxEntries = 32;

  // `dir` empty: no caching, every call compiles.
  explicit SeccompCache(std::string dir) : dir_(std::move(dir)) {}

  // The cached program for `seccomp`, else CompileSeccomp's, stored for next time. Compile errors
  // are CompileSeccomp's; cache trouble only costs the compile.
  absl::StatusOr<SeccompProgram> Compile(const oci::Seccomp& seccomp) const;

 private:
  std::string dir_;
};

}  // namespace liman::runtime
