// nervemap pipeline: one case from input files to outputs — the library behind `nervemap run`,
// `nervemap demo` and the web service's jobs.
#pragma once

#include "core/core.h"
#include "nerves/nerves.h"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nervemap::pipeline {

namespace fs = std::filesystem;

struct RunOptions {
  fs::path ct;
  std::string series_uid;
  std::optional<fs::path> structures;
  //! TotalSegmentator weights (a folder of DatasetNNN_* models): segment the structures natively when no
  //! --structures are given (segment::segment_structures).
  std::optional<fs::path> models;
  //! One nnU-Net model folder whose labels are catalogue names and GTVp/GTVn (segment::segment_with_model):
  //! segments the structures and, unless `tumour` is given, the tumours.
  std::optional<fs::path> model;
  int threads = 0;                     //!< CPU threads for the segmentation (0: all cores)
  std::optional<fs::path> label_table; //!< JSON file or TotalSegmentator task name
  std::optional<fs::path> tumour;
  bool tumour_binary_as_gtvn = false;
  bool resample_masks = false;
  bool anonymize = false;
  nerves::PatientKeys keys;
  fs::path rules_dir = nerves::default_rules_dir();
  fs::path out;
};

//! Called as stages advance: stage name (reading, segmenting, estimating, risk, writing) and overall
//! progress 0–1 (segmenting reports its own steps as "segmenting: <step>").
using ProgressFn = std::function<void(const std::string& stage, double progress)>;

struct RunResult {
  nlohmann::json report;
  std::vector<fs::path> written;
};

//! Run the case and write its outputs into options.out (created if missing). Every output is written
//! under a temporary name and renamed; a failure removes what this run created and leaves no report.json.
RunResult run_case(const RunOptions& options, const ProgressFn& progress = {});

} // namespace nervemap::pipeline
