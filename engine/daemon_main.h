// limand's entry point. It is linked into the daemons' multi-call binary (daemons_main.cc), which
// runs it when started as `limand`.
#pragma once

namespace liman::engine {

int DaemonMain(int argc, char** argv);

}  // namespace liman::engine
