// Whole-run timer of the demo case (issue 7): the demo's neck (seed 7, 0.8×0.8×1.5 mm, a GTVn 3 mm from the
// left vagus and a GTVp 2 mm from the left RLN) segmented by the demo model (`nervemap run --model`), then
// nerves, risk and every output. Prints each stage, the total and the peak memory.
// Usage: demo_bench [--model DIR] [--threads N] (default: models/demo_phantom_neck, every core).
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
  fs::path model = "models/demo_phantom_neck";
  int threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--model") == 0)
      model = argv[i + 1];
    else if (std::strcmp(argv[i], "--threads") == 0)
      threads = std::atoi(argv[i + 1]);
  }
  const fs::path root = fs::temp_directory_path() / fmt::format("nervemap-demo-bench-{}", ::getpid());
  const fs::path case_dir = root / "case", out = root / "out";
  phantom::Options o;
  o.seed = 7;
  o.spacing_mm = Vec3(0.8, 0.8, 1.5);
  o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
  o.tumours.push_back({"recurrent_laryngeal_left", 2.0, 9.0, anatomy::kHecktorGtvp});
  {
    OutputTransaction tx(case_dir);
    tx.prepare();
    phantom::write_phantom(phantom::make_phantom(o), case_dir, phantom::Layout::dir, tx);
    tx.commit();
  }

  pipeline::RunOptions opt;
  opt.inputs.ct = case_dir / "ct.nii.gz";
  opt.model = model;
  opt.threads = threads;
  opt.out = out;

  // "segmenting: fold 0: tile 3/36" counts as "segmenting".
  bench::StageTimer timer;
  auto result =
      pipeline::run_case(opt, [&](const std::string& s, double) { timer.report(s.substr(0, s.find(':'))); });
  const double total = timer.finish();
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto dims = result.report.input.dims;
  fmt::print("demo case: {}×{}×{} CT, segmented with {}; {} structures, {} tumour(s), {} output files\n",
             dims[0],
             dims[1],
             dims[2],
             model.filename().string(),
             result.report.structures.size(),
             result.report.tumours.size(),
             result.written.size());
  timer.print(12);
  fmt::print("  {:<12} {:6.2f} s\n", "total", total);
  fmt::print("peak memory (max RSS): {:.0f} MB\n", double(usage.ru_maxrss) / 1024.0);
  fs::remove_all(root);
  return 0;
}
