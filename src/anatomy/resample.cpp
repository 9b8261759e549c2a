#include "anatomy/anatomy.h"

#include <cmath>

namespace nervemap::anatomy {

MaskVolume resample_nearest(const MaskVolume& labels, const Geometry& target) {
  MaskVolume out(target, 0);
  // target index → source continuous index is one affine map; walk it incrementally per row.
  const Mat4 map = labels.geometry.affine().inverse() * target.affine();
  const auto& sd = labels.geometry.dims;
  const Vec3 di = map.block<3, 1>(0, 0);
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < target.dims[2]; ++k)
    for (int64_t j = 0; j < target.dims[1]; ++j) {
      Vec3 p = map.block<3, 1>(0, 3) + map.block<3, 1>(0, 1) * double(j) + map.block<3, 1>(0, 2) * double(k);
      for (int64_t i = 0; i < target.dims[0]; ++i, p += di) {
        int64_t si = std::llround(p[0]), sj = std::llround(p[1]), sk = std::llround(p[2]);
        if (si >= 0 && sj >= 0 && sk >= 0 && si < sd[0] && sj < sd[1] && sk < sd[2])
          out.at(i, j, k) = labels.at(si, sj, sk);
      }
    }
  return out;
}

} // namespace nervemap::anatomy
