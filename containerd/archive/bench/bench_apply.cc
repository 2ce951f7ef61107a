// bench-archive-apply: unpacks a layer file (tar, tar.gz or tar.zst, detected from its bytes) into a
// fresh temporary directory, several times, and prints the throughput. The file is read into
// memory first, so the figures are decompression + hashing + parsing + writing, not the disk read.
//
//   bench-archive-apply [--merged] [--no-read-ahead] [--decode-only] [--sync] [--repeat N]
//                       [--dir PARENT] LAYER
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/file_util.h"
#include "containerd/archive/apply.h"
#include "containerd/archive/layer_stream.h"

using namespace liman;
using namespace liman::containerd::archive;

namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: bench-archive-apply [--merged] [--no-read-ahead] [--decode-only] [--sync] [--repeat N] "
               "[--dir PARENT] LAYER\n");
  return 2;
}

double MiB(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

// CPU time of the whole process (both threads): on a shared machine wall time says little.
double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  ApplyOptions options;
  bool decode_only = false, sync = false;
  int repeat = 3;
  std::string parent = "/var/tmp", layer;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--merged") options.overlay_whiteouts = false;
    else if (arg == "--no-read-ahead") options.read_ahead = false;
    else if (arg == "--decode-only") decode_only = true;
    else if (arg == "--sync") sync = true;
    else if (arg == "--repeat" && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else if (arg == "--dir" && i + 1 < argc) parent = argv[++i];
    else if (!arg.empty() && arg[0] != '-' && layer.empty()) layer = arg;
    else return Usage();
  }
  if (layer.empty() || repeat < 1) return Usage();
  absl::StatusOr<std::string> data = ReadFile(layer);
  if (!data.ok()) {
    std::fprintf(stderr, "bench-archive-apply: %s\n", std::string(data.status().message()).c_str());
    return 1;
  }
  std::printf("%s: %.1f MiB, %s, read-ahead %s\n", layer.c_str(), MiB(data->size()),
              decode_only ? "decode only" : (options.overlay_whiteouts ? "overlay upper" : "merged tree"),
              options.read_ahead ? "on" : "off");
  for (int run = 1; run <= repeat; ++run) {
    std::string dir = JoinPath(parent, "bench-archive-apply-XXXXXX");
    if (mkdtemp(dir.data()) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    MemoryByteSource source(*data);
    auto start = std::chrono::steady_clock::now();
    double cpu_start = CpuSeconds();
    int64_t tar_size = 0;
    absl::Status status;
    if (decode_only) {
      LayerStream stream(source, Compression::kNone, LayerStreamOptions{.read_ahead = options.read_ahead});
      status = stream.Drain();
      tar_size = stream.size();
    } else {
      absl::StatusOr<ApplyResult> result = ApplyLayer(source, Compression::kNone, dir, options);
      status = result.status();
      if (result.ok()) tar_size = result->tar_size;
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu_seconds = CpuSeconds() - cpu_start;
    double sync_seconds = 0;
    if (status.ok() && sync) {
      auto sync_start = std::chrono::steady_clock::now();
      status = SyncFilesystem(dir);
      sync_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - sync_start).count();
    }
    (void)RemoveAll(dir);
    if (!status.ok()) {
      std::fprintf(stderr, "bench-archive-apply: %s\n", std::string(status.message()).c_str());
      return 1;
    }
    std::printf("run %d: %.3f s (cpu %.3f s)  %.0f MiB/s compressed  %.0f MiB/s tar (%.1f MiB)", run, seconds,
                cpu_seconds, MiB(data->size()) / seconds, MiB(tar_size) / seconds, MiB(tar_size));
    if (sync) std::printf("  syncfs %.3f s", sync_seconds);
    std::printf("\n");
  }
  return 0;
}
