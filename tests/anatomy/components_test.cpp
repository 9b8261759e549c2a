// Connected components and the removal of far islands, on hand-built label maps whose gaps are known in mm.
#include "anatomy/anatomy.h"
#include "support/test_support.h"

#include <Eigen/Geometry>
#include <gtest/gtest.h>

using namespace nervemap;

namespace {

Geometry grid(Index3 dims, Vec3 spacing, Mat3 direction = Mat3::Identity()) {
  return nervemap::test::voxel_grid(dims, spacing, direction, Vec3(-40, 25, 110));
}

//! Fill the voxel box [lo, hi] (inclusive) with `value`.
void box(MaskVolume& v, Index3 lo, Index3 hi, uint8_t value) {
  for (int64_t k = lo[2]; k <= hi[2]; ++k)
    for (int64_t j = lo[1]; j <= hi[1]; ++j)
      for (int64_t i = lo[0]; i <= hi[0]; ++i)
        v.at(i, j, k) = value;
}

anatomy::StructureMap with_labels(const MaskVolume& v, std::initializer_list<int> ids) {
  anatomy::StructureMap m;
  m.voxels = v;
  for (int id : ids)
    m.table.add({id, "structure_" + std::to_string(id), {0, 0, 0}});
  return m;
}

} // namespace

TEST(ConnectedComponents, TwentySixConnectedLargestFirst) {
  MaskVolume v(grid({20, 20, 20}, Vec3(1, 1, 1)), 0);
  box(v, {0, 0, 0}, {1, 1, 1}, 7);       // 8 voxels
  v.at(2, 2, 2) = 7;                     // touches the cube only at a corner: the same component
  box(v, {10, 10, 10}, {12, 12, 12}, 7); // 27 voxels, apart
  v.at(15, 15, 15) = 3;                  // another value is not counted
  const auto c = anatomy::connected_components(v, 7);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].size(), 27u);
  EXPECT_EQ(c[1].size(), 9u);
  EXPECT_EQ(c[0].front(), v.offset(10, 10, 10));
  EXPECT_TRUE(anatomy::connected_components(v, 9).empty());
}

TEST(StrayPieces, FarIslandsGoFragmentsStay) {
  // 1 × 1 × 3 mm voxels: gaps along k count three times.
  MaskVolume v(grid({60, 40, 30}, Vec3(1, 1, 3)), 0);
  box(v, {10, 10, 10}, {19, 19, 15}, 5); // main body, 600 voxels
  box(v, {10, 10, 18}, {11, 11, 18}, 5); // 2 slices above (k 16, 17 empty): gap 3 · 3 = 9 mm → kept
  box(v, {45, 10, 10}, {47, 12, 11}, 5); // i 20…44 empty: gap 26 mm → removed (18 voxels)
  box(v, {10, 30, 10}, {10, 30, 10}, 5); // j 20…29 empty: gap 11 mm → kept (≤ 20 mm)
  box(v, {30, 30, 25}, {31, 31, 25}, 6); // another structure with one piece: untouched
  auto m = with_labels(v, {5, 6});
  const auto removed = anatomy::remove_stray_pieces(m, 20.0);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0].name, "structure_5");
  EXPECT_EQ(removed[0].pieces, 1);
  EXPECT_NEAR(removed[0].volume_ml, 18 * 3.0 / 1000.0, 1e-12);
  EXPECT_NEAR(removed[0].farthest_mm, 26.0, 1e-9);
  EXPECT_EQ(m.voxels.at(46, 11, 10), 0);
  EXPECT_EQ(m.voxels.at(10, 10, 18), 5);
  EXPECT_EQ(m.voxels.at(10, 30, 10), 5);
  EXPECT_EQ(m.voxels.at(30, 30, 25), 6);
  EXPECT_EQ(m.voxels.at(15, 15, 12), 5);
  // A tighter limit also takes the 11 mm piece, never the 9 mm one.
  const auto tighter = anatomy::remove_stray_pieces(m, 10.0);
  ASSERT_EQ(tighter.size(), 1u);
  EXPECT_NEAR(tighter[0].farthest_mm, 11.0, 1e-9);
  EXPECT_EQ(m.voxels.at(10, 30, 10), 0);
  EXPECT_EQ(m.voxels.at(10, 10, 18), 5);
  // Nothing left to remove.
  EXPECT_TRUE(anatomy::remove_stray_pieces(m, 10.0).empty());
}

TEST(StrayPieces, GapsAreMeasuredInLpsOnAnObliqueGrid) {
  // The direction rotates the grid; distances between voxel centres do not change with it.
  const Mat3 r =
      (Eigen::AngleAxisd(0.3, Vec3::UnitZ()) * Eigen::AngleAxisd(-0.2, Vec3::UnitX())).toRotationMatrix();
  MaskVolume v(grid({40, 40, 20}, Vec3(0.8, 0.8, 2.0), r), 0);
  box(v, {5, 5, 5}, {14, 14, 9}, 9);
  box(v, {5, 5, 17}, {6, 6, 17}, 9); // k 10…16 empty: 8 · 2 mm = 16 mm
  auto m = with_labels(v, {9});
  EXPECT_TRUE(anatomy::remove_stray_pieces(m, 16.5).empty());
  const auto removed = anatomy::remove_stray_pieces(m, 15.5);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_NEAR(removed[0].farthest_mm, 16.0, 1e-9);
  EXPECT_EQ(anatomy::connected_components(m.voxels, 9).size(), 1u);
}
