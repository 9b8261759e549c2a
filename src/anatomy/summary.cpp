#include "anatomy/anatomy.h"

#include <array>
#include <omp.h>

namespace nervemap::anatomy {

std::vector<StructureSummary> summarise(const LabelMap& labels) {
  // One pass over the volume: per-value counts and index sums (the affine is linear, so the centroid
  // of the indices maps to the LPS centroid).
  struct Acc {
    int64_t n = 0;
    double si = 0, sj = 0, sk = 0;
  };
  const auto& g = labels.voxels.geometry;
  std::vector<std::array<Acc, 256>> per_thread(static_cast<size_t>(omp_get_max_threads()));
#pragma omp parallel
  {
    auto& acc = per_thread[size_t(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (int64_t k = 0; k < g.dims[2]; ++k)
      for (int64_t j = 0; j < g.dims[1]; ++j) {
        const uint8_t* row = &labels.voxels.data[labels.voxels.offset(0, j, k)];
        for (int64_t i = 0; i < g.dims[0]; ++i) {
          if (!row[i])
            continue;
          Acc& a = acc[row[i]];
          ++a.n;
          a.si += double(i);
          a.sj += double(j);
          a.sk += double(k);
        }
      }
  }
  std::array<Acc, 256> total{};
  for (const auto& t : per_thread)
    for (size_t v = 0; v < 256; ++v) {
      total[v].n += t[v].n;
      total[v].si += t[v].si;
      total[v].sj += t[v].sj;
      total[v].sk += t[v].sk;
    }
  std::vector<StructureSummary> rows;
  const double voxel_ml = g.voxel_volume_mm3() / 1000.0;
  for (const auto& label : labels.table.labels()) {
    StructureSummary row;
    row.id = label.id;
    row.name = label.name;
    if (label.id > 0 && label.id < 256) {
      const Acc& a = total[size_t(label.id)];
      row.voxels = a.n;
      row.volume_ml = double(a.n) * voxel_ml;
      if (a.n > 0)
        row.centroid_lps = g.index_to_lps(Vec3(a.si, a.sj, a.sk) / double(a.n));
    }
    rows.push_back(row);
  }
  return rows;
}

} // namespace nervemap::anatomy
