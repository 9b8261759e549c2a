#include "core/version.h"

#include "core/core.h"

namespace nervemap {
const char* version() {
  return NERVEMAP_VERSION;
}
} // namespace nervemap
