// Small masks with hand-computable metrics for the eval tests.
#pragma once

#include "core/core.h"
#include "support/test_support.h"

#include <Eigen/Geometry>
#include <cmath>

namespace nervemap::eval::test {

using nervemap::test::voxel_grid;

//! An oblique orthonormal direction (rotations about three axes) with a mirrored axis, like a scan
//! stored in neither LPS nor RAS order.
inline Mat3 oblique() {
  Mat3 r = (Eigen::AngleAxisd(0.4, Vec3::UnitZ()) * Eigen::AngleAxisd(-0.3, Vec3::UnitX()) *
            Eigen::AngleAxisd(0.2, Vec3::UnitY()))
               .toRotationMatrix();
  r.col(1) = -r.col(1);
  return r;
}

//! Voxels with lo[a] ≤ index[a] < lo[a] + size[a] set to `value`.
inline void box(MaskVolume& v, Index3 lo, Index3 size, uint8_t value = 1) {
  for (int64_t k = lo[2]; k < lo[2] + size[2]; ++k)
    for (int64_t j = lo[1]; j < lo[1] + size[1]; ++j)
      for (int64_t i = lo[0]; i < lo[0] + size[0]; ++i)
        v.at(i, j, k) = value;
}

//! Voxels whose centre lies within radius_mm of the LPS point `centre`.
inline void ball(MaskVolume& v, const Vec3& centre, double radius_mm, uint8_t value = 1) {
  const auto& d = v.geometry.dims;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        if ((v.geometry.index_to_lps(Vec3(double(i), double(j), double(k))) - centre).norm() <= radius_mm)
          v.at(i, j, k) = value;
}

} // namespace nervemap::eval::test
