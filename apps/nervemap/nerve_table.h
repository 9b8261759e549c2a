// The end-of-run summary table of the nerves in a report.json document.
#pragma once

#include "commands.h"
#include "pipeline/pipeline.h"

#include <nlohmann/json.hpp>

namespace nervemap::cli {

void print_nerve_table(const nlohmann::json& report);

//! Run one case with terminal progress, then print its warnings and the nerve table (run and demo).
pipeline::RunResult run_and_summarise(const GlobalOptions& global, const pipeline::RunOptions& options);

} // namespace nervemap::cli
