// Exact distances to a tumour mask: a k-d tree over boundary voxel centres proposes candidates, the
// exact point-to-cell distance (each voxel a box of spacing³ in its own frame) decides. For a query at
// distance d from the nearest centre, every cell that could be nearer has its centre within d plus half
// a voxel diagonal, so the candidate search cannot miss the true nearest cell.
#include "risk/risk.h"

#include <cmath>

namespace nervemap::risk {

struct TumourSurface::Impl {
  const MaskVolume& labels;
  std::array<bool, 256> is_tumour{};
  PointIndex boundary{std::vector<Vec3>{}}; //!< LPS centres of the boundary voxels
  Mat3 direction;
  Mat4 to_index;
  Vec3 half;
  double half_diagonal = 0;
  bool orthonormal = true;

  explicit Impl(const MaskVolume& l) : labels(l) {}
};

TumourSurface::TumourSurface(const MaskVolume& labels, const std::vector<int>& values)
    : impl_(std::make_unique<Impl>(labels)) {
  for (int v : values)
    if (v > 0 && v < 256)
      impl_->is_tumour[size_t(v)] = true;
  const Geometry& g = labels.geometry;
  impl_->direction = g.direction;
  impl_->to_index = g.affine().inverse();
  impl_->half = 0.5 * g.spacing;
  impl_->half_diagonal = impl_->half.norm();
  impl_->orthonormal = g.is_orthonormal(1e-6);
  // Bounding box of the tumour first (a tight byte scan), then the boundary test only inside it.
  const auto& d = g.dims;
  Index3 lo{d[0], d[1], d[2]}, hi{-1, -1, -1};
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j) {
      const uint8_t* row = &labels.data[labels.offset(0, j, k)];
      for (int64_t i = 0; i < d[0]; ++i)
        if (impl_->is_tumour[row[i]]) {
          lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
          hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
        }
    }
  auto tumour = [&](int64_t i, int64_t j, int64_t k) {
    return labels.contains(i, j, k) && impl_->is_tumour[labels.at(i, j, k)];
  };
  std::vector<Vec3> boundary;
  for (int64_t k = lo[2]; k <= hi[2]; ++k)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t i = lo[0]; i <= hi[0]; ++i) {
        if (!impl_->is_tumour[labels.at(i, j, k)])
          continue;
        // Boundary voxels only: a cell with all six face neighbours in the tumour is never nearest.
        if (tumour(i - 1, j, k) && tumour(i + 1, j, k) && tumour(i, j - 1, k) && tumour(i, j + 1, k) &&
            tumour(i, j, k - 1) && tumour(i, j, k + 1))
          continue;
        boundary.push_back(g.index_to_lps(Vec3(double(i), double(j), double(k))));
      }
  impl_->boundary = PointIndex(std::move(boundary));
}

TumourSurface::~TumourSurface() = default;
TumourSurface::TumourSurface(TumourSurface&&) noexcept = default;

bool TumourSurface::empty() const {
  return impl_->boundary.empty();
}

bool TumourSurface::inside(const Vec3& p) const {
  const Vec3 c = impl_->to_index.block<3, 3>(0, 0) * p + impl_->to_index.block<3, 1>(0, 3);
  const int64_t i = std::llround(c[0]), j = std::llround(c[1]), k = std::llround(c[2]);
  return impl_->labels.contains(i, j, k) && impl_->is_tumour[impl_->labels.at(i, j, k)];
}

double TumourSurface::distance(const Vec3& p, Vec3* closest) const {
  return distance_within(p, std::numeric_limits<double>::infinity(), closest);
}

double TumourSurface::distance_within(const Vec3& p, double limit, Vec3* closest) const {
  if (empty())
    return std::numeric_limits<double>::infinity();
  if (inside(p)) {
    if (closest)
      *closest = p;
    return 0.0;
  }
  const auto [nearest, nearest_sq] = impl_->boundary.nearest(p);
  // Every cell is at least (centre distance − half diagonal) away: beyond the limit, stop here.
  if (std::sqrt(nearest_sq) - impl_->half_diagonal > limit)
    return std::sqrt(nearest_sq) - impl_->half_diagonal;
  if (!impl_->orthonormal) {
    // Sheared (gantry-tilted) grids: cells are parallelepipeds; use the centre distance less half the
    // smallest spacing, which bounds the cell distance from below by at most half a voxel diagonal.
    if (closest)
      *closest = impl_->boundary.points()[nearest];
    return std::max(0.0, std::sqrt(nearest_sq) - impl_->half.minCoeff());
  }
  const double reach = std::sqrt(nearest_sq) + impl_->half_diagonal;
  double best = std::numeric_limits<double>::infinity();
  for (size_t index : impl_->boundary.within(p, reach)) {
    const Vec3& c = impl_->boundary.points()[index];
    const Vec3 q = impl_->direction.transpose() * (p - c); // the cell's own frame
    const Vec3 clamped = q.cwiseMax(-impl_->half).cwiseMin(impl_->half);
    const double dist = (q - clamped).norm();
    if (dist < best) {
      best = dist;
      if (closest)
        *closest = c + impl_->direction * clamped;
    }
  }
  return best;
}

} // namespace nervemap::risk
