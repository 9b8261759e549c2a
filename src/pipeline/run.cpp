#include "anatomy/anatomy.h"
#include "io/io.h"
#include "pipeline/outputs.h"
#include "pipeline/pipeline.h"
#include "report/report.h"
#include "risk/risk.h"
#include "segment/segment.h"

#include <fmt/format.h>

namespace nervemap::pipeline {

RunResult run_case(const RunOptions& o, const ProgressFn& progress) {
  auto report_progress = [&](const char* stage, double p) {
    if (progress)
      progress(stage, p);
  };
  if (!o.structures && !o.models && !o.model)
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
  io::CtImage ct = io::read_ct(o.ct, o.series_uid, warnings);
  anatomy::StructureMap structures;
  std::optional<anatomy::StructureMap> tumour;
  std::vector<std::string> models;
  if (o.structures) {
    if (o.models || o.model)
      warnings.add("--structures given: the structures are imported and the CT is not segmented");
    anatomy::ImportOptions import;
    import.resample_masks = o.resample_masks;
    import.label_table_json = o.label_table;
    structures = anatomy::import_structures(*o.structures, ct.volume.geometry, import, warnings);
  } else {
    // Native segmentation (nnU-Net models on the runtime in src/segment) takes most of the run time.
    segment::InferenceOptions seg;
    seg.threads = o.threads;
    seg.progress = [&](const std::string& step, double f) {
      if (progress)
        progress("segmenting: " + step, 0.02 + 0.28 * f);
    };
    report_progress("segmenting", 0.02);
    if (o.model) {
      segment::ModelStructures found = segment::segment_with_model(ct.volume, *o.model, seg, warnings);
      structures = std::move(found.structures);
      models = std::move(found.models);
      if (!o.tumour)
        tumour = std::move(found.tumour);
    } else {
      structures = segment::segment_structures(ct.volume, *o.models, seg, warnings, false, &models);
    }
  }
  if (o.tumour)
    tumour = anatomy::import_tumour(
        *o.tumour, ct.volume.geometry, o.tumour_binary_as_gtvn, o.resample_masks, warnings);
  report_progress("estimating", 0.3);
  nerves::EstimationOptions est;
  est.keys = o.keys;
  auto nerve_paths = nerves::estimate_nerves(rules, structures, &ct.volume, est, warnings);

  report_progress("risk", 0.7);
  const risk::GradeThresholds thresholds = risk::load_thresholds(risk::default_thresholds_path());
  const auto risks = risk::assess(nerve_paths, tumour ? &*tumour : nullptr, thresholds);

  report_progress("writing", 0.9);
  report::ReportInputs in;
  in.ct_name = o.ct.filename().string();
  if (in.ct_name.empty())
    in.ct_name = o.ct.parent_path().filename().string();
  in.ct_geometry = ct.volume.geometry;
  if (!o.anonymize)
    in.patient = ct.patient;
  in.rules_version = rules.version;
  in.models = models;
  in.structures = anatomy::summarise(structures);
  if (tumour)
    in.tumours = report::summarise_tumours(*tumour);
  in.nerves = std::move(nerve_paths);
  in.warnings = warnings.items();
  RunResult result;
  result.report = report::build_report(in);
  for (size_t i = 0; i < risks.size(); ++i)
    risk::fill_json(result.report["nerves"][i], risks[i], thresholds);
  report::validate_report(result.report);
  write_ct(o.out, ct.volume, o.ct, tx, result.written);
  report_progress("writing", 0.92);
  structures.table = write_labels(o.out, structures, tumour ? &*tumour : nullptr, tx, result.written);
  report_progress("writing", 0.94);
  write_meshes(o.out, structures, tx, result.written);
  report_progress("writing", 0.98);
  write_nerve_tracts(o.out, result.report, tx, result.written);
  // The printable report, from the validated report.json plus the CT and the label map (which now holds the
  // tumour as 201/202, painted by write_labels), before report.json, which is written last.
  report::PrintInputs print;
  print.ct = &ct.volume;
  print.labels = &structures;
  print.rules = &rules;
  print.grades = {thresholds.contact_mm, thresholds.encasement_contact_deg, thresholds.moderate_margin_mm};
  const report::PrintableReport printable(result.report, print);
  for (const auto& [name, write] : {std::pair{"report.pdf", &report::PrintableReport::write_pdf},
                                    std::pair{"report.html", &report::PrintableReport::write_html}}) {
    const fs::path path = o.out / name;
    (printable.*write)(path);
    tx.created(path);
    result.written.push_back(path);
  }
  const fs::path report_path = o.out / "report.json";
  report::write_json(report_path, result.report);
  tx.created(report_path);
  result.written.push_back(report_path);
  tx.commit();
  report_progress("writing", 1.0);
  return result;
}

} // namespace nervemap::pipeline
