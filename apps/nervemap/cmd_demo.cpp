// nervemap demo: the built-in case through every stage that exists.
#include "case_summary.h"
#include "commands.h"
#include "phantom/phantom.h"

#include <fmt/format.h>

namespace nervemap::cli {

Command add_demo_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand("demo", "run the whole pipeline on the built-in synthetic neck");
  auto out = std::make_shared<std::string>("demo-out");
  sub->add_option("--out", *out, "output folder (default: demo-out)");
  return {sub, [out, &global]() {
            namespace fs = std::filesystem;
            // A tumour (nodal mass) 3 mm from the left vagus, as in a level III/IV node beside the sheath.
            phantom::Options options;
            options.seed = 7;
            options.spacing_mm = Vec3(0.8, 0.8, 1.5);
            options.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
            print_status(global, "[1/2] building the synthetic neck (seed 7, 0.8×0.8×1.5 mm)");
            phantom::Phantom p = phantom::make_phantom(options);
            fs::path case_dir = fs::path(*out) / "case";
            OutputTransaction tx(*out);
            tx.prepare();
            phantom::write_phantom(p, case_dir, phantom::Layout::dir, tx);

            print_status(global, "[2/2] reading the case back as a user's files");
            Warnings warnings;
            io::CtImage ct = io::read_ct(case_dir / "ct.nii.gz", "", warnings);
            auto structures =
                anatomy::import_structures(case_dir / "structures", ct.volume.geometry, {}, warnings);
            auto tumour =
                anatomy::import_tumour(case_dir / "tumor.nii.gz", ct.volume.geometry, false, false, warnings);
            for (const auto& w : warnings.items())
              print_warning(global, w);
            tx.commit();
            print_case_summary(ct, structures, tumour, false);
            fmt::print("\ncase written to {}\n", fs::absolute(case_dir).string());
            fmt::print("  CT:         {}\n", (case_dir / "ct.nii.gz").string());
            fmt::print("  structures: {}\n", (case_dir / "structures").string());
            fmt::print("  tumour:     {}\n", (case_dir / "tumor.nii.gz").string());
            fmt::print("  truth:      {}\n", (case_dir / "truth.json").string());
            return 0;
          }};
}

} // namespace nervemap::cli
