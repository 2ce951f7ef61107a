// liman-fake-sealed-runtime: stands in for liman-runtime in the shim's unit tests (a script cannot:
// the shim starts liman-runtime's create and exec from an open descriptor, and execveat(2) runs
// only binaries that way). Appends one line per call to $LIMAN_FAKE_RUNTIME_REPORT:
//   <command> <"sealed" if /proc/self/exe is on a read-only overlayfs, else "plain"> <its inode>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/read_only_view.h"

int main(int argc, char** argv) {
  const char* report = getenv("LIMAN_FAKE_RUNTIME_REPORT");
  if (report == nullptr) return 2;
  // The command is the first argument that is not a global flag (--root R, --log L, ...).
  const char* command = "";
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "--", 2) != 0) {
      command = argv[i];
      break;
    }
    if (strcmp(argv[i], "--systemd-cgroup") != 0) ++i;  // skip the flag's value
  }
  int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  struct stat st = {};
  if (self < 0 || fstat(self, &st) != 0) return 3;
  FILE* out = fopen(report, "a");
  if (out == nullptr) return 4;
  fprintf(out, "%s %s %llu\n", command, liman::OnReadOnlyOverlay(self) ? "sealed" : "plain",
          static_cast<unsigned long long>(st.st_ino));
  return fclose(out) == 0 ? 0 : 5;
}
