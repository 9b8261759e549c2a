// Per-label statistics of a label map (one pass over the volume) and the structure summary built on them.
#include "anatomy/anatomy.h"

#include <omp.h>

namespace nervemap::anatomy {

std::array<LabelStatistics, 256> label_statistics(const LabelMap& labels) {
  const Geometry& g = labels.voxels.geometry;
  const Mat4 a = g.affine();
  std::vector<std::array<LabelStatistics, 256>> partial(static_cast<size_t>(omp_get_max_threads()));
#pragma omp parallel
  {
    auto& local = partial[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (int64_t k = 0; k < g.dims[2]; ++k)
      for (int64_t j = 0; j < g.dims[1]; ++j) {
        const uint8_t* row = &labels.voxels.data[labels.voxels.offset(0, j, k)];
        for (int64_t i = 0; i < g.dims[0]; ++i) {
          const uint8_t v = row[i];
          if (!v)
            continue;
          LabelStatistics& s = local[v];
          const Vec3 p = a.block<3, 3>(0, 0) * Vec3(double(i), double(j), double(k)) + a.block<3, 1>(0, 3);
          if (s.voxels == 0) {
            s.index_min = {i, j, k};
            s.index_max = {i, j, k};
          }
          ++s.voxels;
          s.lps_min = s.lps_min.cwiseMin(p);
          s.lps_max = s.lps_max.cwiseMax(p);
          s.index_min = {
              std::min(s.index_min[0], i), std::min(s.index_min[1], j), std::min(s.index_min[2], k)};
          s.index_max = {
              std::max(s.index_max[0], i), std::max(s.index_max[1], j), std::max(s.index_max[2], k)};
          s.index_sum += Vec3(double(i), double(j), double(k));
        }
      }
  }
  std::array<LabelStatistics, 256> total{};
  for (const auto& local : partial)
    for (size_t v = 1; v < 256; ++v) {
      const LabelStatistics& s = local[v];
      if (!s.voxels)
        continue;
      LabelStatistics& t = total[v];
      if (!t.voxels) {
        t = s;
        continue;
      }
      t.voxels += s.voxels;
      t.lps_min = t.lps_min.cwiseMin(s.lps_min);
      t.lps_max = t.lps_max.cwiseMax(s.lps_max);
      for (int ax = 0; ax < 3; ++ax) {
        t.index_min[ax] = std::min(t.index_min[ax], s.index_min[ax]);
        t.index_max[ax] = std::max(t.index_max[ax], s.index_max[ax]);
      }
      t.index_sum += s.index_sum;
    }
  return total;
}

std::vector<StructureSummary> summarise(const LabelMap& labels) {
  const auto stats = label_statistics(labels);
  const auto& g = labels.voxels.geometry;
  std::vector<StructureSummary> rows;
  const double voxel_ml = g.voxel_volume_mm3() / 1000.0;
  for (const auto& label : labels.table.labels()) {
    StructureSummary row;
    row.id = label.id;
    row.name = label.name;
    if (label.id > 0 && label.id < 256) {
      const LabelStatistics& s = stats[size_t(label.id)];
      row.voxels = s.voxels;
      row.volume_ml = double(s.voxels) * voxel_ml;
      if (s.voxels > 0)
        row.centroid_lps = g.index_to_lps(s.index_sum / double(s.voxels));
    }
    rows.push_back(row);
  }
  return rows;
}

} // namespace nervemap::anatomy
