// liman-containerd's entry point. It is linked into the daemons' multi-call binary (engine/
// daemons_main.cc), which runs it when started as `liman-containerd`.
#pragma once

namespace liman::containerd {

int DaemonMain(int argc, char** argv);

}  // namespace liman::containerd
