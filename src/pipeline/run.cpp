#include "anatomy/anatomy.h"
#include "io/io.h"
#include "pipeline/internal.h"
#include "pipeline/pipeline.h"
#include "report/report.h"
#include "risk/risk.h"
#include "segment/segment.h"

#include <fmt/format.h>

namespace nervemap::pipeline {

namespace {

struct Segmentation {
  anatomy::StructureMap structures;
  std::optional<anatomy::StructureMap> tumour;
  std::vector<std::string> models;
};

//! The structures (imported, or segmented here) and the tumour a model found.
Segmentation
find_structures(const RunOptions& o, const io::CtImage& ct, const ProgressFn& progress, Warnings& warnings) {
  Segmentation out;
  const CaseInputs& in = o.inputs;
  if (in.structures) {
    if (o.models || o.model)
      warnings.add("--structures given: the structures are imported and the CT is not segmented");
    anatomy::ImportOptions import;
    import.resample_masks = o.resample_masks;
    import.label_table_file = in.label_table_file;
    import.label_table_task = in.label_table_task;
    out.structures = anatomy::import_structures(*in.structures, ct.volume.geometry, import, warnings);
    return out;
  }
  // Native segmentation (nnU-Net models on the runtime in src/segment) takes most of the run time.
  segment::InferenceOptions seg;
  seg.threads = o.threads;
  seg.progress = [&](const std::string& step, double f) {
    if (progress)
      progress("segmenting: " + step, 0.02 + 0.28 * f);
  };
  if (progress)
    progress("segmenting", 0.02);
  if (o.model) {
    segment::ModelStructures found = segment::segment_with_model(ct.volume, *o.model, seg, warnings);
    out.structures = std::move(found.structures);
    out.models = std::move(found.models);
    out.tumour = std::move(found.tumour);
  } else {
    out.structures = segment::segment_structures(ct.volume, *o.models, seg, warnings, false, &out.models);
  }
  return out;
}

std::string ct_base_name(const fs::path& ct) {
  std::string name = ct.filename().string();
  return name.empty() ? ct.parent_path().filename().string() : name; // a folder given as "dir/"
}

} // namespace

RunResult run_case(const RunOptions& o, const ProgressFn& progress) {
  auto report_progress = [&](const char* stage, double p) {
    if (progress)
      progress(stage, p);
  };
  const CaseInputs& in = o.inputs;
  if (!in.structures && !o.models && !o.model)
    throw InputError(
        "no structures given: pass --structures with a TotalSegmentator output folder, --ml file or "
        "multilabel NIfTI, --models with TotalSegmentator's weights or --model with a trained model folder "
        "to segment the CT here");
  if (o.models && o.model)
    throw InputError(
        "give either --models (TotalSegmentator's weights) or --model (one model folder), not both");
  // Validate the rule base before reading anything large.
  const nerves::RuleBase rules = nerves::load_rule_base(o.rules_dir);

  OutputTransaction tx(o.out);
  tx.prepare();
  Warnings warnings;
  report_progress("reading", 0.0);
  io::CtImage ct = io::read_ct(in.ct, in.series_uid, warnings);
  Segmentation found = find_structures(o, ct, progress, warnings);
  std::optional<anatomy::StructureMap> tumour = std::move(found.tumour);
  if (in.tumour)
    tumour = anatomy::import_tumour(
        *in.tumour, ct.volume.geometry, in.tumour_binary_as_gtvn, o.resample_masks, warnings);
  if (in.pet)
    warnings.add("a PET was given but no model of this run reads PET: it was not used");
  report_progress("estimating", 0.3);
  nerves::EstimationOptions est;
  est.keys = o.keys;
  auto nerve_paths = nerves::estimate_nerves(rules, found.structures, &ct.volume, est, warnings);

  report_progress("risk", 0.7);
  const risk::GradeThresholds thresholds = risk::load_thresholds(risk::default_thresholds_path());
  auto risks = risk::assess(nerve_paths, tumour ? &*tumour : nullptr, thresholds);

  report_progress("writing", 0.9);
  report::ReportInputs summary;
  summary.ct_name = ct_base_name(in.ct);
  summary.ct_geometry = ct.volume.geometry;
  if (!o.anonymize)
    summary.patient = ct.patient;
  summary.rules_version = rules.version;
  summary.models = std::move(found.models);
  summary.structures = anatomy::summarise(found.structures);
  if (tumour)
    summary.tumours = report::summarise_tumours(*tumour);
  summary.nerves = std::move(nerve_paths);
  summary.risks = std::move(risks);
  summary.warnings = warnings.items();
  RunResult result;
  result.report = report::build_report(summary);
  const nlohmann::json document = report::to_json(result.report);
  report::validate_report(document); // before anything is written

  write_ct(o.out, ct.volume, in.ct, tx);
  report_progress("writing", 0.92);
  // The structures are not needed any more: the output map takes their voxels.
  const LabelMap labels = anatomy::with_tumours(std::move(found.structures), tumour ? &*tumour : nullptr);
  write_labels(o.out, labels, tx);
  report_progress("writing", 0.94);
  write_meshes(o.out, labels, tx);
  report_progress("writing", 0.98);
  write_nerve_tracts(o.out, result.report.nerves, tx);
  // The printable report, from the report plus the CT and the output label map, before report.json,
  // which is written last.
  report::PrintInputs print;
  print.ct = &ct.volume;
  print.labels = &labels;
  print.rules = &rules;
  print.grades = thresholds;
  const report::PrintableReport printable(result.report, print);
  printable.write_pdf(o.out / "report.pdf");
  tx.wrote(o.out / "report.pdf");
  printable.write_html(o.out / "report.html");
  tx.wrote(o.out / "report.html");
  report::write_json(o.out / "report.json", document);
  tx.wrote(o.out / "report.json");
  tx.commit();
  result.written = tx.written();
  report_progress("writing", 1.0);
  return result;
}

} // namespace nervemap::pipeline
