// nervemap run: one case through the pipeline (read → structures → nerves → report).
#include "anatomy/anatomy.h"
#include "commands.h"
#include "nerve_table.h"
#include "pipeline/pipeline.h"

#include <fmt/format.h>

namespace nervemap::cli {

Command add_run_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand("run", "estimate the nerves on a case and write report.json into --out");
  struct Args {
    std::string ct, series, structures, label_table, tumour, tumour_label = "GTVp", out,
                                                             population = "western", sex;
    int age = -1, threads = 0;
    std::string models, model;
    bool resample_masks = false, anonymize = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--ct", a->ct, "CT: .nii/.nii.gz, a DICOM folder or a .zip of a DICOM series")->required();
  sub->add_option(
      "--structures",
      a->structures,
      "TotalSegmentator folder or --ml file, a .zip of either, or a multilabel NIfTI (+ --label-table)");
  sub->add_option(
      "--label-table", a->label_table, "JSON label table (or a TotalSegmentator task name) for --structures");
  sub->add_option(
      "--models",
      a->models,
      "TotalSegmentator weights (folder of DatasetNNN_* models): segment the structures here when "
      "--structures is not given");
  sub->add_option("--model",
                  a->model,
                  "nnU-Net model folder whose labels are structure names and GTVp/GTVn (e.g. the demo model "
                  "models/demo_phantom_neck): segment the structures and tumours with it");
  sub->add_option("--threads", a->threads, "CPU threads for the segmentation (default: all cores)")
      ->check(CLI::Range(0, 1024));
  sub->add_option("--tumor", a->tumour, "tumour label map (HECKTOR values 1 GTVp, 2 GTVn)");
  sub->add_option("--tumor-label", a->tumour_label, "what a binary tumour mask is: GTVp or GTVn")
      ->check(CLI::IsMember({"GTVp", "GTVn"}));
  sub->add_option("--out", a->out, "output folder (created if missing)")->required();
  sub->add_option("--series", a->series, "SeriesInstanceUID to read when the folder holds several series");
  sub->add_flag(
      "--resample-masks", a->resample_masks, "resample masks on another grid than the CT (nearest)");
  sub->add_flag("--anonymize", a->anonymize, "leave patient identifiers out of the outputs");
  sub->add_option(
         "--population", a->population, "population whose variant frequencies apply: western or korean")
      ->check(CLI::IsMember({"western", "korean"}));
  sub->add_option("--age", a->age, "patient age in years (age-keyed variant frequencies)")
      ->check(CLI::Range(0, 130));
  sub->add_option("--sex", a->sex, "patient sex, M or F (sex-keyed variant frequencies)")
      ->check(CLI::IsMember({"M", "F"}));
  return {sub, [a, &global]() {
            pipeline::RunOptions o;
            pipeline::CaseInputs& in = o.inputs;
            in.ct = a->ct;
            in.name = in.ct.filename().string();
            in.series_uid = a->series;
            if (!a->structures.empty())
              in.structures = a->structures;
            if (anatomy::Catalogue::get().has_task(a->label_table))
              in.label_table_task = a->label_table;
            else if (!a->label_table.empty())
              in.label_table_file = a->label_table;
            if (!a->tumour.empty())
              in.tumour = a->tumour;
            in.tumour_binary_as_gtvn = a->tumour_label == "GTVn";
            if (!a->models.empty())
              o.models = a->models;
            if (!a->model.empty())
              o.model = a->model;
            o.threads = a->threads;
            o.resample_masks = a->resample_masks;
            o.anonymize = a->anonymize;
            o.keys.population = a->population;
            if (a->age >= 0)
              o.keys.age = a->age;
            o.keys.sex = a->sex;
            o.out = a->out;
            run_and_summarise(global, o);
            fmt::print("\nreport: {}\n", (std::filesystem::path(a->out) / "report.json").string());
            return 0;
          }};
}

} // namespace nervemap::cli
