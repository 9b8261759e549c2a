// nervemap report: the report.json document (design §6) built from the pipeline's plain data.
#pragma once

#include "anatomy/anatomy.h"
#include "core/core.h"
#include "nerves/nerves.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nervemap::report {

namespace fs = std::filesystem;

struct TumourSummary {
  std::string label; //!< GTVp or GTVn
  int value = 0;     //!< 201 or 202 in labels.nii.gz
  double volume_ml = 0;
  int components = 0; //!< 26-connected components
};

//! Volume and connected components of each tumour label present.
std::vector<TumourSummary> summarise_tumours(const anatomy::StructureMap& tumour);

struct ReportInputs {
  std::string ct_name; //!< base name only
  Geometry ct_geometry;
  PatientInfo patient; //!< empty with --anonymize or for NIfTI input
  std::string rules_version;
  std::vector<std::string> models;
  std::vector<anatomy::StructureSummary> structures;
  std::vector<TumourSummary> tumours;
  std::vector<nerves::NervePath> nerves;
  std::vector<std::string> warnings;
};

//! The report.json document; `created` is the current UTC time.
nlohmann::json build_report(const ReportInputs& inputs);

//! The JSON Schema of report.json (schemas/report.schema.json, embedded at build time).
const nlohmann::json& report_schema();
//! Problems found validating a document against the schema (empty when valid).
std::vector<std::string> schema_errors(const nlohmann::json& document);
//! Throws std::logic_error (an internal error: nervemap wrote an invalid report) unless valid.
void validate_report(const nlohmann::json& document);

//! Write JSON atomically (temporary name, then rename).
void write_json(const fs::path& path, const nlohmann::json& document);

} // namespace nervemap::report
