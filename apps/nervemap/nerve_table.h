// The end-of-run tables: the nerves of a report.json document, and a segmentation evaluation.
#pragma once

#include "commands.h"
#include "pipeline/pipeline.h"

#include <nlohmann/json.hpp>

namespace nervemap::eval {
struct Evaluation;
}

namespace nervemap::cli {

void print_nerve_table(const nlohmann::json& report);

//! Dice, HD95 and NSD per structure as a table (eval and demo).
void print_evaluation(const eval::Evaluation& evaluation);

//! Run one case with terminal progress, then print its warnings and the nerve table (run and demo).
pipeline::RunResult run_and_summarise(const GlobalOptions& global, const pipeline::RunOptions& options);

} // namespace nervemap::cli
