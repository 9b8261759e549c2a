// anatomy::label_statistics against a brute-force count on an oblique grid, and summarise built on it.
#include "anatomy/anatomy.h"

#include <Eigen/Geometry>
#include <gtest/gtest.h>

using namespace nervemap;

namespace {

LabelMap two_blocks() {
  Geometry g;
  g.dims = {23, 17, 11};
  g.spacing = Vec3(0.8, 1.1, 2.5);
  g.direction = Eigen::AngleAxisd(0.3, Vec3(1, 2, 3).normalized()).toRotationMatrix();
  g.origin = Vec3(-12, 40, -7);
  LabelMap m;
  m.voxels = MaskVolume(g, 0);
  const auto& carotid = anatomy::Catalogue::get().at("common_carotid_artery_left");
  const auto& trachea = anatomy::Catalogue::get().at("trachea");
  m.table.add({carotid.id, carotid.name, carotid.rgb});
  m.table.add({trachea.id, trachea.name, trachea.rgb});
  for (int64_t k = 2; k < 9; ++k)
    for (int64_t j = 3; j < 12; ++j)
      for (int64_t i = 4; i < 20; ++i)
        m.voxels.at(i, j, k) = uint8_t((i + j) % 3 == 0 ? trachea.id : carotid.id);
  return m;
}

} // namespace

TEST(LabelStatistics, MatchesABruteForcePass) {
  const LabelMap m = two_blocks();
  const auto stats = anatomy::label_statistics(m);
  const Geometry& g = m.voxels.geometry;
  for (const auto& label : m.table.labels()) {
    int64_t n = 0;
    Vec3 sum = Vec3::Zero(), lo = Vec3::Constant(1e300), hi = Vec3::Constant(-1e300);
    Index3 imin{1 << 30, 1 << 30, 1 << 30}, imax{-1, -1, -1};
    for (int64_t k = 0; k < g.dims[2]; ++k)
      for (int64_t j = 0; j < g.dims[1]; ++j)
        for (int64_t i = 0; i < g.dims[0]; ++i)
          if (m.voxels.at(i, j, k) == label.id) {
            ++n;
            sum += Vec3(double(i), double(j), double(k));
            const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
            lo = lo.cwiseMin(p);
            hi = hi.cwiseMax(p);
            const Index3 ijk{i, j, k};
            for (int a = 0; a < 3; ++a) {
              imin[a] = std::min(imin[a], ijk[a]);
              imax[a] = std::max(imax[a], ijk[a]);
            }
          }
    const anatomy::LabelStatistics& s = stats[size_t(label.id)];
    EXPECT_EQ(s.voxels, n) << label.name;
    EXPECT_EQ(s.index_sum, sum) << label.name;
    EXPECT_EQ(s.index_min, imin) << label.name;
    EXPECT_EQ(s.index_max, imax) << label.name;
    EXPECT_LT((s.lps_min - lo).norm(), 1e-9) << label.name;
    EXPECT_LT((s.lps_max - hi).norm(), 1e-9) << label.name;
  }
  EXPECT_EQ(stats[0].voxels, 0); // the background is not a label
  EXPECT_EQ(stats[77].voxels, 0);
  EXPECT_EQ(stats[77].index_max[0], -1); // an empty bounding box
}

TEST(LabelStatistics, SummariseReportsTheSameCountsAndCentroids) {
  const LabelMap m = two_blocks();
  const auto stats = anatomy::label_statistics(m);
  const Geometry& g = m.voxels.geometry;
  for (const auto& row : anatomy::summarise(m)) {
    const anatomy::LabelStatistics& s = stats[size_t(row.id)];
    EXPECT_EQ(row.voxels, s.voxels) << row.name;
    EXPECT_DOUBLE_EQ(row.volume_ml, double(s.voxels) * g.voxel_volume_mm3() / 1000.0) << row.name;
    EXPECT_EQ(row.centroid_lps, g.index_to_lps(s.index_sum / double(s.voxels))) << row.name;
  }
}
