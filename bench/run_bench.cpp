// Whole-run timer (issue 4): `nervemap run` on a 512×512×300 CT with the phantom's structure masks as a
// TotalSegmentator folder (one .nii.gz per class) and a tumour, timing each stage and the peak memory.
// Targets: nerves + risk ≤ 1 s; the whole run (reading every mask, writing every output) ≤ 10 s;
// peak memory ≤ 2 GB. Usage: run_bench [--keep DIR] (the case is written once to a temporary folder).
#include "phantom/phantom.h"
#include "pipeline/pipeline.h"
#include "stage_timer.h"

#include <cstring>
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

using namespace nervemap;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  fs::path root = fs::temp_directory_path() / fmt::format("nervemap-run-bench-{}", ::getpid());
  bool keep = false;
  if (argc == 3 && std::strcmp(argv[1], "--keep") == 0) {
    root = argv[2];
    keep = true;
  }
  const fs::path case_dir = root / "case", out = root / "out";
  if (!fs::exists(case_dir / "ct.nii.gz")) {
    fmt::print("writing the 512×512×300 phantom case to {} …\n", case_dir.string());
    phantom::Options o;
    o.seed = 7;
    o.spacing_mm = Vec3(0.4902, 0.4414, 0.6633);
    o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
    o.tumours.push_back({"recurrent_laryngeal_left", 2.0, 9.0, anatomy::kHecktorGtvp});
    auto p = phantom::make_phantom(o);
    OutputTransaction tx(case_dir);
    tx.prepare();
    phantom::write_phantom(p, case_dir, phantom::Layout::dir, tx);
    tx.commit();
  }
  size_t masks = 0;
  for (const auto& e : fs::directory_iterator(case_dir / "structures"))
    masks += e.is_regular_file();

  pipeline::RunOptions opt;
  opt.inputs.ct = case_dir / "ct.nii.gz";
  opt.inputs.structures = case_dir / "structures";
  opt.inputs.tumour = case_dir / "tumor.nii.gz";
  opt.out = out;
  fs::remove_all(out);

  bench::StageTimer timer;
  auto result = pipeline::run_case(
      opt, [&](const std::string& s, double p) { timer.report(fmt::format("{} ({:.0f} %)", s, 100 * p)); });
  const double total = timer.finish();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto dims = result.report.input.dims;
  fmt::print("case: {}×{}×{} CT, {} structure masks, tumour (GTVp + GTVn); {} output files\n",
             dims[0],
             dims[1],
             dims[2],
             masks,
             result.written.size());
  timer.print(18);
  fmt::print("  {:<18} {:6.2f} s\n", "total", total);
  fmt::print("peak memory (max RSS): {:.0f} MB\n", double(usage.ru_maxrss) / 1024.0);
  if (!keep)
    fs::remove_all(root);
  return 0;
}
