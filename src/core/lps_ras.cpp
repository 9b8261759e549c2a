#include "core/core.h"

namespace nervemap {

Mat3 lps_ras_flip() {
  return Vec3(-1, -1, 1).asDiagonal();
}

Vec3 ras_from_lps(const Vec3& lps) {
  return Vec3(-lps.x(), -lps.y(), lps.z());
}

Vec3 lps_from_ras(const Vec3& ras) {
  return ras_from_lps(ras);
}

Mat4 ras_from_lps(const Mat4& affine_lps) {
  Mat4 out = affine_lps;
  out.row(0) *= -1;
  out.row(1) *= -1;
  return out;
}

Mat4 lps_from_ras(const Mat4& affine_ras) {
  return ras_from_lps(affine_ras);
}

} // namespace nervemap
