#include "core/core.h"

#include <cmath>
#include <fmt/format.h>

namespace nervemap {

Mat4 Geometry::affine() const {
  Mat4 a = Mat4::Identity();
  a.topLeftCorner<3, 3>() = direction * spacing.asDiagonal();
  a.topRightCorner<3, 1>() = origin;
  return a;
}

Geometry Geometry::from_affine(const Index3& dims, const Mat4& affine_lps) {
  Geometry g;
  g.dims = dims;
  g.origin = affine_lps.topRightCorner<3, 1>();
  for (int c = 0; c < 3; ++c) {
    Vec3 col = affine_lps.block<3, 1>(0, c);
    double n = col.norm();
    g.spacing[c] = n;
    g.direction.col(c) = n > 0 ? Vec3(col / n) : Vec3::Zero();
  }
  return g;
}

Vec3 Geometry::index_to_lps(const Vec3& ijk) const {
  return origin + direction * spacing.cwiseProduct(ijk);
}

Vec3 Geometry::lps_to_index(const Vec3& lps) const {
  return (direction * spacing.asDiagonal()).inverse() * (lps - origin);
}

double Geometry::voxel_volume_mm3() const {
  return std::abs((direction * spacing.asDiagonal()).determinant());
}

bool Geometry::is_orthonormal(double tol) const {
  return (direction.transpose() * direction - Mat3::Identity()).cwiseAbs().maxCoeff() <= tol;
}

bool Geometry::same_grid(const Geometry& o, double tol_mm, double tol_dir) const {
  return dims == o.dims && (origin - o.origin).cwiseAbs().maxCoeff() <= tol_mm &&
         (spacing - o.spacing).cwiseAbs().maxCoeff() <= tol_mm &&
         (direction - o.direction).cwiseAbs().maxCoeff() <= tol_dir;
}

std::string Geometry::describe() const {
  return fmt::format("{}×{}×{} voxels, spacing {:.4g}×{:.4g}×{:.4g} mm, origin LPS ({:.2f}, {:.2f}, {:.2f})",
                     dims[0],
                     dims[1],
                     dims[2],
                     spacing[0],
                     spacing[1],
                     spacing[2],
                     origin[0],
                     origin[1],
                     origin[2]);
}

void Geometry::validate(const std::string& what) const {
  for (int a = 0; a < 3; ++a) {
    if (dims[a] <= 0)
      throw InputError(
          fmt::format("{} has a zero-size dimension ({}×{}×{} voxels)", what, dims[0], dims[1], dims[2]));
    if (!(spacing[a] > 0) || !std::isfinite(spacing[a]))
      throw InputError(fmt::format(
          "{} has an invalid voxel spacing ({}, {}, {}) mm", what, spacing[0], spacing[1], spacing[2]));
  }
  if (!origin.allFinite() || !direction.allFinite() || std::abs(direction.determinant()) < 1e-6)
    throw InputError(fmt::format("{} has a degenerate orientation (direction matrix not invertible)", what));
}

double round_decimal(double v, double step) {
  // Divide by the integer inverse rather than multiply by the step: 3755 / 100 is the double nearest
  // 37.55; 3755 * 0.01 is not.
  const double inverse = std::round(1.0 / step);
  return std::round(v * inverse) / inverse;
}

} // namespace nervemap
