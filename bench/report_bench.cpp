// Printable report speed on a 0.8 × 0.8 × 1.5 mm phantom with a nodal tumour beside the left vagus: laying
// out the content (sampling and composing the section slices), writing report.pdf and writing report.html.
// The pipeline's own run is timed once for comparison.
#include "nerves/nerves.h"
#include "phantom/phantom.h"
#include "pipeline/pipeline.h"
#include "report/report.h"

#include <benchmark/benchmark.h>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <unistd.h>

namespace {

using namespace nervemap;
namespace fs = std::filesystem;

struct Case {
  fs::path dir;
  phantom::Phantom phantom;
  LabelMap labels; //!< structures with the tumour painted as 201/202, as the pipeline hands it over
  nerves::RuleBase rules;
  report::Report report;
};

const Case& the_case() {
  static const Case c = [] {
    Case c;
    c.dir = fs::temp_directory_path() / fmt::format("nervemap-report-bench-{}", ::getpid());
    phantom::Options o;
    o.seed = 7;
    o.spacing_mm = Vec3(0.8, 0.8, 1.5);
    o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
    c.phantom = phantom::make_phantom(o);
    OutputTransaction tx(c.dir / "case");
    tx.prepare();
    phantom::write_phantom(c.phantom, c.dir / "case", phantom::Layout::dir, tx);
    tx.commit();
    pipeline::RunOptions r;
    r.inputs.ct = c.dir / "case" / "ct.nii.gz";
    r.inputs.structures = c.dir / "case" / "structures";
    r.inputs.tumour = c.dir / "case" / "tumor.nii.gz";
    r.out = c.dir / "out";
    const auto start = std::chrono::steady_clock::now();
    c.report = pipeline::run_case(r).report;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto& d = c.phantom.ct.geometry.dims;
    fmt::print("phantom {} x {} x {} voxels; whole run_case (read, estimate, risk, all outputs): {:.2f} s\n",
               d[0],
               d[1],
               d[2],
               seconds);
    c.labels = c.phantom.structures;
    for (size_t i = 0; i < c.labels.voxels.data.size(); ++i)
      if (const uint8_t t = c.phantom.tumour.data[i])
        c.labels.voxels.data[i] = uint8_t(t == anatomy::kHecktorGtvp ? anatomy::kGtvpId : anatomy::kGtvnId);
    c.rules = nerves::load_rule_base(nerves::default_rules_dir());
    return c;
  }();
  return c;
}

report::PrintInputs inputs(const Case& c) {
  report::PrintInputs in;
  in.ct = &c.phantom.ct;
  in.labels = &c.labels;
  in.rules = &c.rules;
  return in;
}

void BM_LayOutContent(benchmark::State& state) {
  const Case& c = the_case();
  for (auto _ : state) {
    report::PrintableReport p(c.report, inputs(c));
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_LayOutContent)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WritePdf(benchmark::State& state) {
  const Case& c = the_case();
  const report::PrintableReport p(c.report, inputs(c));
  for (auto _ : state)
    p.write_pdf(c.dir / "bench.pdf");
}
BENCHMARK(BM_WritePdf)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WriteHtml(benchmark::State& state) {
  const Case& c = the_case();
  const report::PrintableReport p(c.report, inputs(c));
  for (auto _ : state)
    p.write_html(c.dir / "bench.html");
}
BENCHMARK(BM_WriteHtml)->Unit(benchmark::kMillisecond)->UseRealTime();

//! All three, as the pipeline does them.
void BM_PrintableReportTotal(benchmark::State& state) {
  const Case& c = the_case();
  for (auto _ : state) {
    const report::PrintableReport p(c.report, inputs(c));
    p.write_pdf(c.dir / "bench.pdf");
    p.write_html(c.dir / "bench.html");
  }
  state.counters["sections"] =
      double(report::PrintableReport(c.report, inputs(c)).section_nerve_ids().size());
}
BENCHMARK(BM_PrintableReportTotal)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(fs::temp_directory_path() / fmt::format("nervemap-report-bench-{}", ::getpid()), ec);
  return 0;
}
