// The daemons' multi-call binary: `limand` is this file, `liman-containerd` a link to it, and the
// name it is started under picks the daemon (as busybox, or k3s for its bundled daemons).
//
// Why one binary: the two daemons share most of their code (gRPC, protobuf, abseil, SQLite, the
// containerd API, libstdc++). As two executables each mapped its own copy of it; as one file they
// map the same page cache: their idle PSS together went from 35.5 MB to 30.8 MB (smaps_rollup).
#include <cstdio>
#include <cstring>

#include "absl/synchronization/mutex.h"
#include "containerd/daemon_main.h"
#include "engine/daemon_main.h"

int main(int argc, char** argv) {
  // Debian builds abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: every
  // lock of gRPC's and our mutexes updated a global lock graph (GraphCycles::GetId alone was 1.9%
  // of limand's CPU in `docker run`). Lock order is for tests and sanitizers to check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const char* invoked = argc > 0 && argv[0] != nullptr ? argv[0] : "";
  const char* slash = strrchr(invoked, '/');
  const char* name = slash != nullptr ? slash + 1 : invoked;
  if (strcmp(name, "limand") == 0) return liman::engine::DaemonMain(argc, argv);
  if (strcmp(name, "liman-containerd") == 0) return liman::containerd::DaemonMain(argc, argv);
  fprintf(stderr, "run \"%s\" as limand or liman-containerd (a link to it): the name picks the daemon\n", invoked);
  return 2;
}
