// nervemap demo: the built-in synthetic neck through the whole pipeline, then handed to the viewer.
#include "commands.h"
#include "nerve_table.h"
#include "phantom/phantom.h"
#include "pipeline/pipeline.h"
#include "server/server.h"

#include <fmt/format.h>

namespace nervemap::cli {

Command add_demo_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand("demo", "run the whole pipeline on the built-in synthetic neck");
  struct Args {
    std::string out = "demo-out", data = "nervemap-data";
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--out", a->out, "output folder (default: demo-out)");
  sub->add_option("--data", a->data, "the viewer's data folder to add the case to (default: nervemap-data)");
  return {sub, [a, &global]() {
            namespace fs = std::filesystem;
            const fs::path out = a->out, case_dir = out / "case", results = out / "results";
            // The viewer's folder is checked first: a demo that cannot hand its case over writes nothing.
            if (fs::exists(a->data) && !fs::is_directory(a->data))
              throw InputError(fmt::format("the data folder {} is not a folder", a->data));
            // Two tumours where neck surgery most often meets a nerve: a nodal mass (GTVn) 3 mm from the
            // left vagus, as a level III/IV node beside the carotid sheath, and a primary (GTVp) 2 mm from
            // the left recurrent laryngeal nerve in the tracheo-oesophageal groove, as a thyroid or
            // hypopharyngeal cancer reaching it.
            phantom::Options options;
            options.seed = 7;
            options.spacing_mm = Vec3(0.8, 0.8, 1.5);
            options.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
            options.tumours.push_back({"recurrent_laryngeal_left", 2.0, 9.0, anatomy::kHecktorGtvp});
            print_status(global, "building the synthetic neck (seed 7, 0.8×0.8×1.5 mm)");
            {
              OutputTransaction tx(case_dir);
              tx.prepare();
              phantom::write_phantom(phantom::make_phantom(options), case_dir, phantom::Layout::dir, tx);
              tx.commit();
            }

            // The case as a user's files: CT, a TotalSegmentator folder and a HECKTOR-style tumour map.
            pipeline::RunOptions o;
            o.ct = case_dir / "ct.nii.gz";
            o.structures = case_dir / "structures";
            o.tumour = case_dir / "tumor.nii.gz";
            o.out = results;
            run_and_summarise(global, o);

            server::FinishedCase finished;
            finished.name = "synthetic neck (nervemap demo)";
            finished.ct = o.ct;
            finished.structures = o.structures;
            finished.tumour = o.tumour;
            finished.results = results;
            const std::string id = server::add_finished_case(a->data, finished);

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
