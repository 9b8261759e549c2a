// make_phantom: anatomy model → grid → rasterised CT and labels → tumours → partial-volume
// smoothing and noise → truth.json.
#include "phantom/internal_blocks.h"

#include <cmath>
#include <fmt/format.h>

namespace nervemap::phantom {

using namespace detail;

namespace {

const char* orientation_name(Orientation o) {
  switch (o) {
  case Orientation::lps:
    return "LPS";
  case Orientation::ras:
    return "RAS";
  case Orientation::oblique:
    return "oblique";
  }
  return "?";
}

//! Mild partial-volume blur: [w, 1 − 2w, w] along each voxel axis.
void smooth(CtVolume& ct, float w) {
  const Index3 d = ct.geometry.dims;
  std::vector<float> tmp(ct.data.size());
  const int64_t stride[3] = {1, d[0], d[0] * d[1]};
  for (int axis = 0; axis < 3; ++axis) {
    const int64_t n = d[axis], st = stride[axis];
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < d[2]; ++k)
      for (int64_t j = 0; j < d[1]; ++j)
        for (int64_t i = 0; i < d[0]; ++i) {
          int64_t idx[3] = {i, j, k};
          size_t o = ct.offset(i, j, k);
          float c = ct.data[o];
          float lo = idx[axis] > 0 ? ct.data[size_t(int64_t(o) - st)] : c;
          float hi = idx[axis] + 1 < n ? ct.data[size_t(int64_t(o) + st)] : c;
          tmp[o] = (1 - 2 * w) * c + w * (lo + hi);
        }
    ct.data.swap(tmp);
  }
}

nlohmann::json point(const Vec3& p) {
  return nlohmann::json::array({p.x(), p.y(), p.z()});
}

} // namespace

std::vector<std::string> reference_nerve_ids() {
  std::vector<std::string> ids;
  for (const char* n : {"accessory",
                        "hypoglossal",
                        "phrenic",
                        "recurrent_laryngeal",
                        "superior_laryngeal_external",
                        "sympathetic_trunk",
                        "vagus"})
    for (const char* s : {"left", "right"})
      ids.push_back(fmt::format("{}_{}", n, s));
  return ids;
}

Phantom make_phantom(const Options& options) {
  if (!(options.noise_hu >= 0) || !std::isfinite(options.noise_hu))
    throw InputError(fmt::format("phantom noise must be >= 0 HU, not {}", options.noise_hu));
  Model model = build_model(options);
  Geometry grid = make_grid(model, options);
  Raster raster = rasterise(model, grid);

  Phantom p;
  nlohmann::json tumours;
  p.tumour = place_tumours(model, options, raster, tumours);

  // Partial volume (mild), then seeded Gaussian noise that depends only on (seed, voxel).
  p.ct = std::move(raster.ct);
  smooth(p.ct, 0.12f);
  if (options.noise_hu > 0) {
    const uint64_t seed = options.seed;
    const float sd = float(options.noise_hu);
#pragma omp parallel for schedule(static)
    for (int64_t v = 0; v < int64_t(p.ct.data.size()); ++v)
      p.ct.data[size_t(v)] += sd * float(hashed_normal(seed, uint64_t(v)));
  }
  for (float& v : p.ct.data)
    v = std::clamp(std::round(v), -1024.0f, 3071.0f);

  p.structures.voxels = std::move(raster.labels);
  p.structures.table = std::move(raster.table);

  // Truth: everything a test or a later stage may compare against, in LPS mm.
  nlohmann::json& t = p.truth;
  t["schema"] = "nervemap.phantom-truth/1";
  t["coordinate_system"] = "LPS";
  t["seed"] = options.seed;
  nlohmann::json specs = nlohmann::json::array();
  for (const auto& s : options.tumours)
    specs.push_back({{"near", s.near_nerve},
                     {"gap_mm", s.gap_mm},
                     {"radius_mm", s.radius_mm},
                     {"hecktor_label", s.hecktor_label}});
  t["options"] = {{"spacing_mm", {options.spacing_mm.x(), options.spacing_mm.y(), options.spacing_mm.z()}},
                  {"orientation", orientation_name(options.orientation)},
                  {"aberrant_right_subclavian", options.aberrant_right_subclavian},
                  {"noise_hu", options.noise_hu},
                  {"tumours", specs}};
  nlohmann::json direction = nlohmann::json::array();
  for (int r = 0; r < 3; ++r)
    direction.push_back({grid.direction(r, 0), grid.direction(r, 1), grid.direction(r, 2)});
  t["grid"] = {{"dims", {grid.dims[0], grid.dims[1], grid.dims[2]}},
               {"origin_mm", point(grid.origin)},
               {"spacing_mm", point(grid.spacing)},
               {"direction", direction}};
  t["parameters"] = model.parameters;

  // Per structure: voxels, volume and the z-range of its voxel centres (vertebral levels).
  struct Extent {
    int64_t voxels = 0;
    double zlo = 1e30, zhi = -1e30;
  };
  std::array<Extent, 256> ext{};
  const Mat3 m = grid.direction * grid.spacing.asDiagonal();
  const auto& lab = p.structures.voxels;
  for (int64_t k = 0; k < grid.dims[2]; ++k)
    for (int64_t j = 0; j < grid.dims[1]; ++j) {
      Vec3 row = grid.origin + m * Vec3(0, double(j), double(k));
      for (int64_t i = 0; i < grid.dims[0]; ++i) {
        uint8_t v = lab.at(i, j, k);
        if (!v)
          continue;
        double z = row.z() + m(2, 0) * double(i);
        Extent& e = ext[v];
        ++e.voxels;
        e.zlo = std::min(e.zlo, z);
        e.zhi = std::max(e.zhi, z);
      }
    }
  nlohmann::json structures = nlohmann::json::object();
  nlohmann::json vertebra_ranges = nlohmann::json::object();
  for (const Label& l : p.structures.table.labels()) {
    const Extent& e = ext[size_t(l.id)];
    structures[l.name] = {{"id", l.id},
                          {"voxels", e.voxels},
                          {"volume_ml", double(e.voxels) * grid.voxel_volume_mm3() / 1000.0}};
    if (e.voxels > 0) {
      structures[l.name]["z_range_mm"] = {e.zlo, e.zhi};
      if (l.name.rfind("vertebrae_", 0) == 0)
        vertebra_ranges[l.name] = {e.zlo, e.zhi};
    }
  }
  t["landmarks"] = model.landmarks;
  t["landmarks"]["vertebra_z_range_mm"] = vertebra_ranges;
  if (vertebra_ranges.contains("vertebrae_T1"))
    t["landmarks"]["thoracic_inlet_z_mm"] = vertebra_ranges["vertebrae_T1"][1];
  nlohmann::json nerves = nlohmann::json::object();
  for (const auto& [id, line] : model.nerves) {
    nlohmann::json pts = nlohmann::json::array();
    for (const auto& q : line)
      pts.push_back(point(q));
    nerves[id] = pts;
  }
  t["reference_nerves"] = nerves;
  t["reference_nerves_note"] =
      "phantom-author courses from textbook anatomy, used only to place tumours; not the nerve rules";
  t["tumours"] = tumours;
  t["structures"] = structures;
  return p;
}

} // namespace nervemap::phantom
