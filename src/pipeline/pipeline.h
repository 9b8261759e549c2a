// nervemap pipeline: one case from input files to outputs — the library behind `nervemap run`,
// `nervemap demo` and the web service's jobs — and the one description of what a case is made of.
#pragma once

#include "core/core.h"
#include "nerves/nerves.h"
#include "report/report.h"

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace nervemap::pipeline {

namespace fs = std::filesystem;

//! The files a case is made of, as a user or a hospital sends them: the same for `nervemap run`, the
//! server's uploads and jobs, and the demo. The server stores it as JSON (to_json / case_inputs_from_json);
//! sources still to come (models chosen per case, DICOM objects, a PACS study) are added here.
struct CaseInputs {
  std::string name;                   //!< shown in the case list (the CT's original file name); never a path
  fs::path ct;                        //!< NIfTI file, DICOM folder or zip of a DICOM series
  std::string series_uid;             //!< which DICOM series, when the CT holds several
  std::optional<fs::path> structures; //!< TotalSegmentator folder, --ml file or multilabel NIfTI
  std::optional<fs::path> label_table_file;    //!< JSON label table of a plain multilabel `structures`
  std::optional<std::string> label_table_task; //!< or the TotalSegmentator task whose --ml file it is
  std::optional<fs::path> tumour;              //!< HECKTOR values (1 GTVp, 2 GTVn) or a binary mask
  bool tumour_binary_as_gtvn = false;          //!< a binary tumour mask is GTVn (--tumor-label GTVn)
  std::optional<fs::path> pet;                 //!< PET (its own grid; SUV for NIfTI)
};

//! The stored form: paths relative to `base` (the case folder), keys as the upload form names them
//! ("ct", "structures", "tumor", "tumor_label", "pet", "series", "name"; "label_table", "label_table_task").
nlohmann::json to_json(const CaseInputs& inputs, const fs::path& base);
//! Read the stored form back; paths are resolved under `base` and must stay inside it (InputError).
CaseInputs case_inputs_from_json(const nlohmann::json& stored, const fs::path& base);

struct RunOptions {
  CaseInputs inputs;
  //! TotalSegmentator weights (a folder of DatasetNNN_* models): segment the structures natively when no
  //! structures are given (segment::segment_structures).
  std::optional<fs::path> models;
  //! One nnU-Net model folder whose labels are catalogue names and GTVp/GTVn (segment::segment_with_model):
  //! segments the structures and, unless a tumour is given, the tumours.
  std::optional<fs::path> model;
  int threads = 0; //!< CPU threads for the segmentation (0: all cores)
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
  report::Report report;         //!< what report.json holds
  std::vector<fs::path> written; //!< every output file, report.json last
};

//! Run the case and write its outputs into options.out (created if missing). Every output is written
//! under a temporary name and renamed; a failure removes what this run created and leaves no report.json.
RunResult run_case(const RunOptions& options, const ProgressFn& progress = {});

} // namespace nervemap::pipeline
