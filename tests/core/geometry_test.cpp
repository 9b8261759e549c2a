#include "core/core.h"

#include <gtest/gtest.h>

using namespace nervemap;

namespace {

Geometry oblique_geometry() {
  Geometry g;
  g.dims = {20, 24, 16};
  g.origin = Vec3(8.5, -12.25, -20);
  g.spacing = Vec3(0.7, 0.9, 2.5);
  g.direction =
      (Eigen::AngleAxisd(0.2, Vec3::UnitZ()) * Eigen::AngleAxisd(0.12, Vec3::UnitX())).toRotationMatrix();
  return g;
}

} // namespace

TEST(Geometry, IndexToLpsFollowsOriginDirectionSpacing) {
  Geometry g = oblique_geometry();
  Vec3 ijk(3, 5, 7);
  Vec3 expected =
      g.origin + g.direction.col(0) * 3 * 0.7 + g.direction.col(1) * 5 * 0.9 + g.direction.col(2) * 7 * 2.5;
  EXPECT_LT((g.index_to_lps(ijk) - expected).norm(), 1e-12);
  EXPECT_LT((g.lps_to_index(expected) - ijk).norm(), 1e-9);
}

TEST(Geometry, AffineRoundTrip) {
  Geometry g = oblique_geometry();
  Geometry back = Geometry::from_affine(g.dims, g.affine());
  EXPECT_TRUE(back.same_grid(g, 1e-9, 1e-12));
  EXPECT_NEAR(g.voxel_volume_mm3(), 0.7 * 0.9 * 2.5, 1e-12);
  EXPECT_TRUE(g.is_orthonormal());
}

TEST(Geometry, ShearedAxisKeepsTruePositions) {
  // Gantry tilt: k steps along z while the slice normal is tilted; positions must stay exact.
  Geometry g;
  g.dims = {4, 4, 3};
  double t = 15.0 * M_PI / 180;
  Mat4 a = Mat4::Identity();
  a.block<3, 1>(0, 0) = Vec3(0.8, 0, 0);
  a.block<3, 1>(0, 1) = Vec3(0, 0.7 * std::cos(t), -0.7 * std::sin(t));
  a.block<3, 1>(0, 2) = Vec3(0, 0, 2.5);
  g = Geometry::from_affine(g.dims, a);
  EXPECT_FALSE(g.is_orthonormal());
  EXPECT_LT((g.index_to_lps(Vec3(1, 2, 2)) - Vec3(0.8, 1.4 * std::cos(t), -1.4 * std::sin(t) + 5.0)).norm(),
            1e-12);
  EXPECT_NEAR(g.spacing[2], 2.5, 1e-12);
}

TEST(Geometry, SameGridTolerances) {
  Geometry a = oblique_geometry(), b = a;
  b.origin[0] += 5e-4;
  EXPECT_TRUE(a.same_grid(b));
  b.origin[0] += 1e-3;
  EXPECT_FALSE(a.same_grid(b));
  b = a;
  b.dims[2] = 15;
  EXPECT_FALSE(a.same_grid(b));
}

TEST(Geometry, ValidateRejectsZeroSizeAndBadSpacing) {
  Geometry g = oblique_geometry();
  EXPECT_NO_THROW(g.validate("CT"));
  g.dims[1] = 0;
  EXPECT_THROW(g.validate("CT"), InputError);
  g = oblique_geometry();
  g.spacing[2] = 0;
  EXPECT_THROW(g.validate("CT"), InputError);
  g = oblique_geometry();
  g.direction.col(2) = g.direction.col(1);
  EXPECT_THROW(g.validate("CT"), InputError);
}

TEST(LabelTable, KeepsIdsSortedAndUnique) {
  LabelTable t;
  t.add({5, "trachea", {1, 2, 3}});
  t.add({2, "esophagus", {4, 5, 6}});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.labels()[0].id, 2);
  EXPECT_EQ(t.find(5)->name, "trachea");
  EXPECT_EQ(t.find("esophagus")->id, 2);
  EXPECT_EQ(t.find(7), nullptr);
  EXPECT_THROW(t.add({5, "other", {}}), InputError);
  EXPECT_THROW(t.add({9, "trachea", {}}), InputError);
}

TEST(RoundDecimal, GivesTheDoubleNearestTheDecimal) {
  EXPECT_EQ(round_decimal(37.5500001, 0.01), 37.55);
  EXPECT_EQ(round_decimal(-2.345, 0.1), -2.3);
  EXPECT_EQ(round_decimal(0.123456, 0.0001), 0.1235);
  EXPECT_EQ(round_decimal(12.0, 0.01), 12.0);
}
