// Rasterising the phantom: each part is evaluated at the voxel centres inside its bounding box
// only (through the inverse warp), in paint order; OpenMP over slices.
#include "anatomy/anatomy.h"
#include "phantom/internal_blocks.h"

#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace nervemap::phantom::detail {

Geometry make_grid(const Model& model, const Options& options) {
  for (int a = 0; a < 3; ++a)
    if (!(options.spacing_mm[a] > 0) || !std::isfinite(options.spacing_mm[a]))
      throw InputError(fmt::format("phantom spacing must be positive, not {} mm", options.spacing_mm[a]));
  Mat3 d = Mat3::Identity();
  switch (options.orientation) {
  case Orientation::lps:
    break;
  case Orientation::ras:
    d = lps_ras_flip(); // RAS voxel order: i toward the right, j anterior
    break;
  case Orientation::oblique: {
    // A few degrees about two axes, i to the patient's right, k running inferior (a proper rotation).
    const double deg = std::numbers::pi / 180;
    Mat3 r = (Eigen::AngleAxisd(6 * deg, Vec3::UnitX()) * Eigen::AngleAxisd(-4 * deg, Vec3::UnitY()))
                 .toRotationMatrix();
    d = r * Vec3(-1, 1, -1).asDiagonal();
    break;
  }
  }
  Vec3 centre = 0.5 * (model.fov.lo + model.fov.hi), half = 0.5 * (model.fov.hi - model.fov.lo);
  Geometry g;
  g.direction = d;
  g.spacing = options.spacing_mm;
  Vec3 steps;
  for (int a = 0; a < 3; ++a) {
    double extent = d.col(a).cwiseAbs().dot(half);
    g.dims[a] = int64_t(std::ceil(2 * extent / g.spacing[a])) + 1;
    steps[a] = 0.5 * double(g.dims[a] - 1);
  }
  g.origin = centre - d * g.spacing.cwiseProduct(steps);
  return g;
}

Raster rasterise(const Model& model, const Geometry& grid) {
  Raster r;
  r.ct = CtVolume(grid, hounsfield(Tissue::air, 10));
  r.labels = MaskVolume(grid, 0);
  r.tissue = MaskVolume(grid, uint8_t(Tissue::air));
  const auto& catalogue = anatomy::Catalogue::get();
  const Mat3 m = grid.direction * grid.spacing.asDiagonal();
  const Mat3 m_inv = m.inverse();
  const Index3 dims = grid.dims;

  for (const Part& part : model.parts) {
    uint8_t id = 0;
    if (!part.structure.empty()) {
      const anatomy::Structure& s = catalogue.at(part.structure);
      id = uint8_t(s.id);
      if (!r.table.find(s.id))
        r.table.add({s.id, s.name, s.rgb});
    }
    Box box = model.warp.forward(part.shape->bounds());
    if (box.empty())
      continue;
    // Index range of the box's corners (a superset for rotated grids).
    Vec3 lo = Vec3::Constant(1e30), hi = Vec3::Constant(-1e30);
    for (int c = 0; c < 8; ++c) {
      Vec3 corner((c & 1) ? box.hi.x() : box.lo.x(),
                  (c & 2) ? box.hi.y() : box.lo.y(),
                  (c & 4) ? box.hi.z() : box.lo.z());
      Vec3 ijk = m_inv * (corner - grid.origin);
      lo = lo.cwiseMin(ijk);
      hi = hi.cwiseMax(ijk);
    }
    int64_t i0 = std::max<int64_t>(0, int64_t(std::floor(lo.x()))),
            i1 = std::min<int64_t>(dims[0] - 1, int64_t(std::ceil(hi.x())));
    int64_t j0 = std::max<int64_t>(0, int64_t(std::floor(lo.y()))),
            j1 = std::min<int64_t>(dims[1] - 1, int64_t(std::ceil(hi.y())));
    int64_t k0 = std::max<int64_t>(0, int64_t(std::floor(lo.z()))),
            k1 = std::min<int64_t>(dims[2] - 1, int64_t(std::ceil(hi.z())));
    if (i0 > i1 || j0 > j1 || k0 > k1)
      continue;
    const Shape& shape = *part.shape;
    const Tissue tissue = part.tissue;
    const float offset = part.hu_offset;
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t k = k0; k <= k1; ++k) {
      for (int64_t j = j0; j <= j1; ++j) {
        Vec3 row = grid.origin + m * Vec3(0, double(j), double(k));
        for (int64_t i = i0; i <= i1; ++i) {
          Vec3 p = row + m.col(0) * double(i);
          if (!box.contains(p))
            continue;
          double depth = shape.depth(model.warp.inverse(p));
          if (depth <= 0)
            continue;
          size_t o = r.ct.offset(i, j, k);
          Tissue t = tissue;
          if (t == Tissue::skin && depth >= 1.6)
            t = Tissue::fat; // subcutaneous fat under the dermis
          r.ct.data[o] = hounsfield(tissue, depth) + offset;
          r.labels.data[o] = id;
          r.tissue.data[o] = uint8_t(t);
        }
      }
    }
  }
  return r;
}

} // namespace nervemap::phantom::detail
