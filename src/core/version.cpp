#include "core/core.h"
#include "core/version.h"

namespace nervemap {
const char* version() { return NERVEMAP_VERSION; }
} // namespace nervemap
