// Terminal summary of a loaded case, shared by `info` and `demo`.
#pragma once

#include "anatomy/anatomy.h"
#include "io/io.h"

#include <optional>
#include <string>

namespace nervemap::cli {

//! Print the CT geometry and one table row per structure and tumour label present.
void print_case_summary(const io::CtImage& ct,
                        const std::optional<anatomy::StructureMap>& structures,
                        const std::optional<anatomy::StructureMap>& tumour,
                        bool show_patient);

} // namespace nervemap::cli
