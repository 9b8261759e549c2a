// Nerve estimation and tumour–nerve risk on a 512×512×300 CT (issue 3: all nerves well under a second;
// issue 4: nerves + risk ≤ 1 s on 2 cores). The case is the phantom drawn at 0.49 × 0.44 × 0.66 mm,
// which gives a 512 × 512 × 300 grid over the phantom's field of view, with a node beside the left vagus.
#include "nerves/nerves.h"
#include "phantom/phantom.h"
#include "risk/risk.h"

#include <benchmark/benchmark.h>

using namespace nervemap;

namespace {

const phantom::Phantom& big_case() {
  static const phantom::Phantom p = [] {
    phantom::Options o;
    o.seed = 7;
    o.spacing_mm = Vec3(0.4902, 0.4414, 0.6633);
    o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
    return phantom::make_phantom(o);
  }();
  return p;
}

anatomy::StructureMap tumour_map(const phantom::Phantom& p) {
  anatomy::StructureMap t;
  t.voxels = MaskVolume(p.tumour.geometry, 0);
  for (size_t o = 0; o < p.tumour.data.size(); ++o)
    if (p.tumour.data[o])
      t.voxels.data[o] =
          uint8_t(p.tumour.data[o] == anatomy::kHecktorGtvp ? anatomy::kGtvpId : anatomy::kGtvnId);
  return t;
}

void BM_EstimateAllNerves(benchmark::State& state) {
  const auto& p = big_case();
  const auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  state.counters["voxels"] = double(p.ct.geometry.voxel_count());
  for (auto _ : state) {
    Warnings w;
    auto paths = nerves::estimate_nerves(rules, p.structures, &p.ct, {}, w);
    benchmark::DoNotOptimize(paths);
  }
}
BENCHMARK(BM_EstimateAllNerves)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

void BM_NervesAndRisk(benchmark::State& state) {
  const auto& p = big_case();
  const auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  const auto thresholds = risk::load_thresholds(risk::default_thresholds_path());
  const auto tumour = tumour_map(p);
  for (auto _ : state) {
    Warnings w;
    auto paths = nerves::estimate_nerves(rules, p.structures, &p.ct, {}, w);
    auto risks = risk::assess(paths, &tumour, thresholds);
    benchmark::DoNotOptimize(risks);
  }
}
BENCHMARK(BM_NervesAndRisk)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

} // namespace

BENCHMARK_MAIN();
