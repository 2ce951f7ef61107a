// Not a test: `bench-remotes-pull REF [--no-staging] [--root DIR] [--keep]` pulls REF into a
// fresh LocalStore and OverlaySnapshotter under a temporary directory (in DIR, default /tmp),
// prints the wall time and the time to the first byte of every layer, and removes everything.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "common/file_util.h"
#include "common/fmt_absl.h"
#include "containerd/content/local_store.h"
#include "containerd/remotes/pull.h"
#include "containerd/snapshots/overlay_snapshotter.h"

using namespace liman;
using namespace liman::containerd;

int main(int argc, char** argv) {
  std::string ref, root_parent = "/tmp";
  bool staging = true, keep = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--no-staging") {
      staging = false;
    } else if (arg == "--keep") {
      keep = true;
    } else if (arg == "--root" && i + 1 < argc) {
      root_parent = argv[++i];
    } else {
      ref = arg;
    }
  }
  if (ref.empty()) {
    fmt::print(stderr, "usage: bench-remotes-pull REF [--no-staging] [--root DIR] [--keep]\n");
    return 2;
  }
  std::string pattern = JoinPath(root_parent, "liman-bench-pull-XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) return 1;
  auto content = content::LocalStore::Open(JoinPath(pattern, "content"));
  auto snapshotter = snapshots::OverlaySnapshotter::Open(JoinPath(pattern, "snapshots"));
  if (!content.ok() || !snapshotter.ok()) {
    fmt::print(stderr, "open stores: {} {}\n", content.status(), snapshotter.status());
    return 1;
  }
  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::mutex mutex;
  std::map<std::string, double> first_byte;
  remotes::PullOptions options;
  options.progress = [&](const remotes::PullProgress& p) {
    using Stage = remotes::PullProgress::Stage;
    if (p.stage == Stage::kDownloading && p.offset > 0 && !first_byte.count(p.digest)) {
      first_byte[p.digest] = seconds();
      fmt::print("{:7.3f}s first byte {}\n", seconds(), p.digest.substr(0, 19));
    } else if (p.stage != Stage::kDownloading) {
      static const char* names[] = {"resolved", "exists", "downloading", "downloaded", "unpacked", "committed", "done"};
      fmt::print("{:7.3f}s {} {}\n", seconds(), names[static_cast<int>(p.stage)], p.digest.substr(0, 19));
    }
  };
  auto result =
      remotes::Pull(ref, options, **content, **snapshotter, staging ? snapshotter->get() : nullptr, "overlayfs");
  double total = seconds();
  if (!result.ok()) {
    fmt::print(stderr, "{}\n", result.status());
  } else {
    fmt::print("pulled {} ({}) in {:.3f}s\n", result->name, result->target.digest, total);
  }
  snapshotter->reset();
  content->reset();
  if (!keep)
    RemoveAll(pattern).IgnoreError();
  else
    fmt::print("kept {}\n", pattern);
  return result.ok() ? 0 : 1;
}
