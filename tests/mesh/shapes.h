// Analytic shapes rasterised onto grids of any orientation, for the mesh tests and the benchmark.
#pragma once

#include "core/core.h"
#include "support/test_support.h"

#include <Eigen/Geometry>
#include <cmath>
#include <functional>

namespace nervemap::test {

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
