#include "report/report.h"

#include <numeric>

namespace nervemap::report {

namespace {

//! 26-connected components of the voxels equal to `value` (union–find over the label's bounding box,
//! so memory scales with the tumour, not the CT).
int count_components(const MaskVolume& v, uint8_t value) {
  Index3 lo{v.geometry.dims[0], v.geometry.dims[1], v.geometry.dims[2]}, hi{-1, -1, -1};
  for (int64_t k = 0; k < v.geometry.dims[2]; ++k)
    for (int64_t j = 0; j < v.geometry.dims[1]; ++j)
      for (int64_t i = 0; i < v.geometry.dims[0]; ++i)
        if (v.at(i, j, k) == value) {
          lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
          hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
        }
  if (hi[0] < 0)
    return 0;
  const int64_t nx = hi[0] - lo[0] + 1, ny = hi[1] - lo[1] + 1, nz = hi[2] - lo[2] + 1;
  auto local = [&](int64_t i, int64_t j, int64_t k) {
    return (i - lo[0]) + nx * ((j - lo[1]) + ny * (k - lo[2]));
  };
  std::vector<int64_t> parent(size_t(nx * ny * nz), -1);
  auto find = [&](int64_t x) {
    while (parent[size_t(x)] != x) {
      parent[size_t(x)] = parent[size_t(parent[size_t(x)])];
      x = parent[size_t(x)];
    }
    return x;
  };
  for (int64_t k = lo[2]; k <= hi[2]; ++k)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t i = lo[0]; i <= hi[0]; ++i) {
        if (v.at(i, j, k) != value)
          continue;
        const int64_t o = local(i, j, k);
        parent[size_t(o)] = o;
        // The 13 of the 26 neighbours that precede in scan order.
        for (int dk = -1; dk <= 0; ++dk)
          for (int dj = -1; dj <= 1; ++dj)
            for (int di = -1; di <= 1; ++di) {
              if (dk == 0 && (dj > 0 || (dj == 0 && di >= 0)))
                continue;
              const int64_t ni = i + di, nj = j + dj, nk = k + dk;
              if (ni < lo[0] || nj < lo[1] || nk < lo[2] || ni > hi[0] || nj > hi[1] ||
                  v.at(ni, nj, nk) != value)
                continue;
              const int64_t a = find(o), b = find(local(ni, nj, nk));
              if (a != b)
                parent[size_t(std::max(a, b))] = std::min(a, b);
            }
      }
  int count = 0;
  for (size_t o = 0; o < parent.size(); ++o)
    if (parent[o] == int64_t(o))
      ++count;
  return count;
}

} // namespace

std::vector<TumourSummary> summarise_tumours(const anatomy::StructureMap& tumour) {
  std::vector<TumourSummary> out;
  const auto h = tumour.histogram();
  const double voxel_ml = tumour.voxels.geometry.voxel_volume_mm3() / 1000.0;
  for (int id : {anatomy::kGtvpId, anatomy::kGtvnId}) {
    if (h[size_t(id)] == 0)
      continue;
    out.push_back({anatomy::Catalogue::tumour_name(id),
                   id,
                   double(h[size_t(id)]) * voxel_ml,
                   count_components(tumour.voxels, uint8_t(id))});
  }
  return out;
}

} // namespace nervemap::report
