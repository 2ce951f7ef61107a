// How the container's first processes report a failure: a fixed-size record (errno plus a
// message naming the step and its arguments) written over the sync socket. Filled with snprintf,
// so reporting never allocates.
#pragma once

#include <cstdarg>
#include <cstdint>

namespace liman::runtime {

struct ChildError {
  int32_t err = 0;
  char message[1024] = {};
};

// Records `err` and the printf-formatted step into *error; returns false for `return Fail(...)`.
bool Fail(ChildError* error, int err, const char* format, ...) __attribute__((format(printf, 3, 4)));

}  // namespace liman::runtime
