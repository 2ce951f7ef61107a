// liman-shim: containerd's shim v2 for one container (see shim/flags.h for the command line).
#include <cstdio>
#include <string>
#include <vector>

#include "shim/cleanup.h"
#include "shim/flags.h"
#include "shim/serve.h"
#include "shim/start.h"

int main(int argc, char** argv) {
  using namespace liman::shim;
  absl::StatusOr<ShimFlags> flags = ParseShimFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!flags.ok()) {
    std::fprintf(stderr, "liman-shim: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->version) {
    std::printf("liman-shim:\n  Version: %s\n", LIMAN_VERSION);
    return 0;
  }
  if (flags->action == "start") return RunStart(*flags);
  if (flags->action == "delete") return RunCleanup(*flags);
  if (!flags->action.empty()) {
    std::fprintf(stderr, "liman-shim: unknown action \"%s\" (start, delete)\n", flags->action.c_str());
    return 2;
  }
  std::fprintf(stderr, "liman-shim: no action given (start, delete)\n");
  return 2;
}
