// Surface meshing speed: one ~30 ml structure, and a whole neck-sized label map (512 × 512 × 300,
// 0.8 × 0.8 × 1.5 mm) with 30 labelled blobs of realistic neck sizes (vessels and airway as tubes,
// vertebrae, muscles and glands as ellipsoids, tumour and node as balls), built synthetically.
#include "mesh/mesh.h"

#include <benchmark/benchmark.h>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <unistd.h>

namespace {

using namespace nervemap;

Geometry neck_grid() {
  Geometry g;
  g.dims = {512, 512, 300};
  g.spacing = Vec3(0.8, 0.8, 1.5);
  g.origin = Vec3(-204.4, -204.4, -225.0); // centred on the LPS origin
  return g;
}

//! A shape: label value, LPS bounding box and inside test.
struct Blob {
  uint8_t value;
  Vec3 lo, hi;
  std::function<bool(const Vec3&)> inside;
};

Blob ellipsoid(uint8_t value, const Vec3& centre, const Vec3& semi_axes_mm) {
  return {value, centre - semi_axes_mm, centre + semi_axes_mm, [=](const Vec3& p) {
            return ((p - centre).cwiseQuotient(semi_axes_mm)).squaredNorm() <= 1;
          }};
}

//! A tube of radius r along z from z0 to z1 whose axis drifts in x and y (a vessel or the airway).
Blob tube(uint8_t value, const Vec3& start, double length_mm, double radius_mm, const Vec3& drift_per_mm) {
  const double z1 = start.z() + length_mm;
  const Vec3 end = start + drift_per_mm * length_mm + Vec3(0, 0, length_mm);
  const Vec3 lo = start.cwiseMin(end) - Vec3::Constant(radius_mm),
             hi = start.cwiseMax(end) + Vec3::Constant(radius_mm);
  return {value, lo, hi, [=](const Vec3& p) {
            if (p.z() < start.z() || p.z() > z1)
              return false;
            const double t = p.z() - start.z();
            const Vec3 axis = start + drift_per_mm * t;
            return std::hypot(p.x() - axis.x(), p.y() - axis.y()) <= radius_mm;
          }};
}

void paint(MaskVolume& v, const Blob& b) {
  const auto& g = v.geometry;
  const Vec3 lo = g.lps_to_index(b.lo), hi = g.lps_to_index(b.hi); // axis-aligned grid
  for (int64_t k = std::max<int64_t>(0, int64_t(std::floor(lo.z())));
       k <= std::min(g.dims[2] - 1, int64_t(hi.z()) + 1);
       ++k)
    for (int64_t j = std::max<int64_t>(0, int64_t(std::floor(lo.y())));
         j <= std::min(g.dims[1] - 1, int64_t(hi.y()) + 1);
         ++j)
      for (int64_t i = std::max<int64_t>(0, int64_t(std::floor(lo.x())));
           i <= std::min(g.dims[0] - 1, int64_t(hi.x()) + 1);
           ++i)
        if (b.inside(g.index_to_lps(Vec3(double(i), double(j), double(k)))))
          v.at(i, j, k) = b.value;
}

//! ~30 ml, slightly lumpy (an ellipsoid with a bulge), as a single label on the full grid.
const MaskVolume& single_structure() {
  static const MaskVolume volume = [] {
    MaskVolume v(neck_grid(), 0);
    paint(v, ellipsoid(1, Vec3(12, -8, 20), Vec3(24, 18, 16))); // 29.0 ml
    paint(v, ellipsoid(1, Vec3(30, -8, 26), Vec3(8, 7, 6)));    // bulge
    return v;
  }();
  return volume;
}

const LabelMap& neck_label_map() {
  static const LabelMap map = [] {
    LabelMap m;
    m.voxels = MaskVolume(neck_grid(), 0);
    std::vector<std::pair<std::string, Blob>> blobs;
    uint8_t id = 1;
    auto add = [&](const std::string& name, Blob b) {
      b.value = id++;
      blobs.emplace_back(name, std::move(b));
    };
    for (int side : {-1, 1}) {
      const std::string s = side < 0 ? "right" : "left"; // LPS: −x is patient right
      add("common_carotid_artery_" + s,
          tube(0, Vec3(side * 25, 5, -110), 100, 4, Vec3(side * 0.05, -0.02, 0)));
      add("internal_jugular_vein_" + s,
          tube(0, Vec3(side * 35, 10, -100), 130, 7, Vec3(side * 0.03, 0.02, 0)));
      add("sternocleidomastoid_" + s, ellipsoid(0, Vec3(side * 45, 5, -40), Vec3(12, 8, 70)));
      add("anterior_scalene_" + s, ellipsoid(0, Vec3(side * 30, 25, -70), Vec3(6, 8, 40)));
      add("middle_scalene_" + s, ellipsoid(0, Vec3(side * 38, 32, -65), Vec3(6, 8, 40)));
      add("parotid_gland_" + s, ellipsoid(0, Vec3(side * 50, 10, 30), Vec3(15, 12, 22)));
      add("submandibular_gland_" + s, ellipsoid(0, Vec3(side * 35, -20, 0), Vec3(12, 10, 10)));
    }
    add("trachea", tube(0, Vec3(0, 0, -130), 110, 9, Vec3(0, 0.1, 0)));
    add("esophagus", tube(0, Vec3(0, 20, -140), 130, 6, Vec3(0, 0.02, 0)));
    for (int c = 1; c <= 7; ++c)
      add(fmt::format("vertebrae_C{}", c), ellipsoid(0, Vec3(0, 40, 40 - 18.0 * c), Vec3(20, 16, 7.5)));
    add("thyroid_gland", ellipsoid(0, Vec3(0, -10, -80), Vec3(28, 10, 22)));
    add("mandible", ellipsoid(0, Vec3(0, -40, 20), Vec3(45, 30, 12)));
    add("hyoid", ellipsoid(0, Vec3(0, -30, -10), Vec3(18, 6, 4)));
    add("thyroid_cartilage", ellipsoid(0, Vec3(0, -15, -40), Vec3(18, 10, 18)));
    add("cricoid_cartilage", ellipsoid(0, Vec3(0, -5, -62), Vec3(12, 10, 6)));
    add("GTVp", ellipsoid(0, Vec3(-15, -20, -30), Vec3(16, 14, 15))); // ~14 ml
    add("GTVn", ellipsoid(0, Vec3(-40, -5, -55), Vec3(10, 9, 11)));   // ~4 ml
    for (auto& [name, blob] : blobs) {
      paint(m.voxels, blob);
      m.table.add({blob.value, name, {200, 100, 100}});
    }
    return m;
  }();
  return map;
}

void BM_Structure30ml(benchmark::State& state) {
  const MaskVolume& volume = single_structure();
  size_t triangles = 0;
  double volume_ml = 0;
  for (auto _ : state) {
    const mesh::Mesh m = mesh::extract_surface(volume, 1);
    triangles = m.triangles.size();
    volume_ml = mesh::volume_ml(m);
    benchmark::DoNotOptimize(m.vertices.data());
  }
  state.counters["triangles"] = double(triangles);
  state.counters["volume_ml"] = volume_ml;
}
BENCHMARK(BM_Structure30ml)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_NeckLabelMap30(benchmark::State& state) {
  const LabelMap& map = neck_label_map();
  size_t triangles = 0, meshes = 0;
  for (auto _ : state) {
    const auto all = mesh::extract_all(map);
    meshes = all.size();
    triangles = 0;
    for (const auto& [name, m] : all)
      triangles += m.triangles.size();
    benchmark::DoNotOptimize(all.data());
  }
  state.counters["meshes"] = double(meshes);
  state.counters["triangles"] = double(triangles);
}
BENCHMARK(BM_NeckLabelMap30)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WriteMz3AndStl30(benchmark::State& state) {
  static const auto all = mesh::extract_all(neck_label_map());
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("nervemap-mesh-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);
  for (auto _ : state)
    for (const auto& [name, m] : all) {
      mesh::write_mz3(m, dir / (name + ".mz3"), mesh::Rgba{200, 100, 100, 255});
      mesh::write_stl(m, dir / (name + ".stl"), name);
    }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_WriteMz3AndStl30)->Unit(benchmark::kMillisecond)->UseRealTime();

} // namespace

BENCHMARK_MAIN();
