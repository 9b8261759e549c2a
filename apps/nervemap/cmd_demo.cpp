// nervemap demo: the built-in synthetic neck through the whole pipeline, then handed to the viewer.
// By default the CT is segmented by the demo model (models/demo_phantom_neck, trained on other phantoms by
// tools/train_demo_model.py) the way a user's real weights would segment a patient, and the segmentation is
// scored against the phantom's own masks; --truth-masks skips the segmentation and uses those masks.
#include "commands.h"
#include "eval/eval.h"
#include "nerve_table.h"
#include "phantom/phantom.h"
#include "pipeline/pipeline.h"
#include "server/server.h"

#include <fmt/format.h>

namespace nervemap::cli {

namespace {

//! The committed demo model: $NERVEMAP_DEMO_MODEL, else models/demo_phantom_neck in the source tree.
std::string default_demo_model() {
  if (const char* env = std::getenv("NERVEMAP_DEMO_MODEL"); env && *env)
    return env;
#ifdef NERVEMAP_DEMO_MODEL_DIR
  return NERVEMAP_DEMO_MODEL_DIR;
#else
  return "models/demo_phantom_neck";
#endif
}

//! The segmentation in results/labels.nii.gz against the phantom's truth (structures and tumours).
void print_phantom_dice(const phantom::Phantom& truth, const std::filesystem::path& labels) {
  LabelMap ref = truth.structures;
  for (size_t i = 0; i < ref.voxels.data.size(); ++i)
    if (const uint8_t t = truth.tumour.data[i])
      ref.voxels.data[i] = uint8_t(t == anatomy::kHecktorGtvp ? anatomy::kGtvpId : anatomy::kGtvnId);
  const auto& catalogue = anatomy::Catalogue::get();
  for (int id : {anatomy::kGtvpId, anatomy::kGtvnId})
    if (!ref.table.find(id))
      ref.table.add(*catalogue.output_table().find(id));
  Warnings warnings;
  const LabelMap pred = eval::read_segmentation(labels, ref.voxels.geometry, warnings);
  const eval::Evaluation e = eval::evaluate(pred, ref, 1.0);
  fmt::print("\nsegmentation vs the phantom's truth (phantom Dice: says nothing about real CT)\n");
  print_evaluation(e);
}

} // namespace

Command add_demo_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand("demo", "run the whole pipeline on the built-in synthetic neck");
  struct Args {
    std::string out = "demo-out", data = "nervemap-data", model = default_demo_model();
    bool truth_masks = false;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--out", a->out, "output folder (default: demo-out)");
  sub->add_option("--data", a->data, "the viewer's data folder to add the case to (default: nervemap-data)");
  sub->add_option("--model", a->model, "segmentation model folder (default: the demo model)")
      ->capture_default_str();
  sub->add_flag("--truth-masks",
                a->truth_masks,
                "use the phantom's own structure and tumour masks instead of segmenting the CT");
  return {sub, [a, &global]() {
            namespace fs = std::filesystem;
            const fs::path out = a->out, case_dir = out / "case", results = out / "results";
            // The viewer's folder is checked first: a demo that cannot hand its case over writes nothing.
            if (fs::exists(a->data) && !fs::is_directory(a->data))
              throw InputError(fmt::format("the data folder {} is not a folder", a->data));
            if (!a->truth_masks && !fs::is_directory(a->model))
              throw InputError(
                  fmt::format("the demo model {} is not there; pass --model DIR or --truth-masks", a->model));
            // Two tumours where neck surgery most often meets a nerve: a nodal mass (GTVn) 3 mm from the
            // left vagus, as a level III/IV node beside the carotid sheath, and a primary (GTVp) 2 mm from
            // the left recurrent laryngeal nerve in the tracheo-oesophageal groove, as a thyroid or
            // hypopharyngeal cancer reaching it.
            phantom::Options options;
            options.seed = 7;
            options.spacing_mm = Vec3(0.8, 0.8, 1.5);
            options.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
            options.tumours.push_back({"recurrent_laryngeal_left", 2.0, 9.0, anatomy::kHecktorGtvp});
            // Seed 7 is not among the demo model's training seeds (1000 and up, tools/train_demo_model.py).
            print_status(global, "building the synthetic neck (seed 7, 0.8×0.8×1.5 mm)");
            const phantom::Phantom neck = phantom::make_phantom(options);
            {
              OutputTransaction tx(case_dir);
              tx.prepare();
              phantom::write_phantom(neck, case_dir, phantom::Layout::dir, tx);
              tx.commit();
            }

            // The case as a user's files: a CT, segmented here by the demo model, or with --truth-masks the
            // phantom's TotalSegmentator folder and HECKTOR-style tumour map.
            pipeline::RunOptions o;
            o.inputs.name = "synthetic neck (nervemap demo)";
            o.inputs.ct = case_dir / "ct.nii.gz";
            if (a->truth_masks) {
              o.inputs.structures = case_dir / "structures";
              o.inputs.tumour = case_dir / "tumor.nii.gz";
            } else {
              o.model = a->model;
            }
            o.out = results;
            run_and_summarise(global, o);
            if (!a->truth_masks)
              print_phantom_dice(neck, results / "labels.nii.gz");

            const std::string id = server::add_finished_case(a->data, {o.inputs, results});

            const auto abs = [](const fs::path& p) { return fs::absolute(p).lexically_normal().string(); };
            fmt::print("\nresults in {}\n", abs(results));
            fmt::print("  printable report: {}  (and report.html beside it)\n", abs(results / "report.pdf"));
            fmt::print("  report.json:      {}\n", abs(results / "report.json"));
            fmt::print(
                "  3D / tracts:      mesh_*.stl, mesh_*.mz3, nerves.tck (+ .tsf) for 3D Slicer, MRtrix, "
                "Surf Ice\n");
            fmt::print("  the input case:   {}  (truth.json holds the true nerve courses)\n", abs(case_dir));
            std::error_code ec;
            const fs::path self = fs::read_symlink("/proc/self/exe", ec);
            fmt::print("\nviewer: run `{} serve --data {}` and open\n",
                       ec ? std::string("nervemap") : self.string(),
                       abs(a->data));
            fmt::print("  http://127.0.0.1:8080/case/{}\n", id);
            return 0;
          }};
}

} // namespace nervemap::cli
