// The end-of-run summary table of the nerves in a report.json document.
#pragma once

#include <nlohmann/json.hpp>

namespace nervemap::cli {

void print_nerve_table(const nlohmann::json& report);

} // namespace nervemap::cli
