// Analytic shapes rasterised onto grids of any orientation, for the mesh tests and the benchmark.
#pragma once

#include "core/core.h"

#include <Eigen/Geometry>
#include <cmath>
#include <functional>

namespace nervemap::test {

//! A grid of the given spacing and direction whose voxel centres cover the LPS box [lo, hi].
inline Geometry covering_grid(const Vec3& lo, const Vec3& hi, const Vec3& spacing, const Mat3& direction) {
  Geometry g;
  g.direction = direction;
  g.spacing = spacing;
  // Extent of the box's corners along each voxel axis (D may be any invertible frame).
  const Mat3 to_axes = direction.inverse();
  Vec3 mn = Vec3::Constant(1e300), mx = Vec3::Constant(-1e300);
  for (int c = 0; c < 8; ++c) {
    const Vec3 q = to_axes * Vec3((c & 1) ? hi[0] : lo[0], (c & 2) ? hi[1] : lo[1], (c & 4) ? hi[2] : lo[2]);
    mn = mn.cwiseMin(q);
    mx = mx.cwiseMax(q);
  }
  for (int a = 0; a < 3; ++a)
    g.dims[size_t(a)] = int64_t(std::ceil((mx[a] - mn[a]) / spacing[a])) + 1;
  g.origin = direction * mn;
  return g;
}

//! Paint `value` into every voxel whose centre is inside (later calls overwrite earlier ones).
inline void paint(MaskVolume& v, uint8_t value, const std::function<bool(const Vec3& lps)>& inside) {
  const auto& g = v.geometry;
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i)
        if (inside(g.index_to_lps(Vec3(double(i), double(j), double(k)))))
          v.at(i, j, k) = value;
}

inline std::function<bool(const Vec3&)> ball(const Vec3& centre, double radius_mm) {
  return [=](const Vec3& p) { return (p - centre).squaredNorm() <= radius_mm * radius_mm; };
}

//! Rotation about a unit axis (degrees).
inline Mat3 rotation(const Vec3& axis, double degrees) {
  return Eigen::AngleAxisd(degrees * M_PI / 180.0, axis.normalized()).toRotationMatrix();
}

} // namespace nervemap::test
