// The end-of-run tables: the nerves of a report, and a segmentation evaluation.
#pragma once

#include "commands.h"
#include "pipeline/pipeline.h"

namespace nervemap::eval {
struct Evaluation;
}

namespace nervemap::cli {

//! One line per nerve: risk, distance, length, corridor radius range, most likely course.
void print_nerve_table(const report::Report& report);

//! Dice, HD95 and NSD per structure as a table (eval and demo).
void print_evaluation(const eval::Evaluation& evaluation);

//! Run one case with terminal progress, then print its warnings and the nerve table (run and demo).
pipeline::RunResult run_and_summarise(const GlobalOptions& global, const pipeline::RunOptions& options);

} // namespace nervemap::cli
