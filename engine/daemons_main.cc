// The daemons' multi-call binary: `limand` is this file, `liman-containerd` a link to it, and the
// name it is started under picks the daemon (as busybox, or k3s for its bundled daemons).
//
// Why one binary: the two daemons share most of their code (gRPC, protobuf, abseil, SQLite, the
// containerd API, libstdc++). As two executables each mapped its own copy of it; as one file they
// map the same page cache: their idle PSS together went from 35.5 MB to 30.8 MB (smaps_rollup).
#include <cstdio>
#include <cstring>

#include "containerd/daemon_main.h"
#include "engine/daemon_main.h"

int main(int argc, char** argv) {
  const char* invoked = argc > 0 && argv[0] != nullptr ? argv[0] : "";
  const char* slash = strrchr(invoked, '/');
  const char* name = slash != nullptr ? slash + 1 : invoked;
  if (strcmp(name, "limand") == 0) return liman::engine::DaemonMain(argc, argv);
  if (strcmp(name, "liman-containerd") == 0) return liman::containerd::DaemonMain(argc, argv);
  fprintf(stderr, "run \"%s\" as limand or liman-containerd (a link to it): the name picks the daemon\n", invoked);
  return 2;
}
