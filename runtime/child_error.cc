#include "runtime/child_error.h"

#include <cstdio>

namespace liman::runtime {

bool Fail(ChildError* error, int err, const char* format, ...) {
  error->err = err;
  va_list args;
  va_start(args, format);
  vsnprintf(error->message, sizeof error->message, format, args);
  va_end(args);
  return false;
}

}  // namespace liman::runtime
