// The LPS ↔ RAS conversion every file edge goes through, and the k-d tree shared by risk, eval and anatomy.
#include "core/core.h"

#include <gtest/gtest.h>
#include <random>

using namespace nervemap;

TEST(LpsRas, FlipsXAndYAndIsItsOwnInverse) {
  const Vec3 lps(12.5, -30.25, 71.0); // left, anterior, superior
  EXPECT_EQ(ras_from_lps(lps), Vec3(-12.5, 30.25, 71.0));
  EXPECT_EQ(lps_from_ras(ras_from_lps(lps)), lps);
  EXPECT_EQ(lps_ras_flip() * lps, ras_from_lps(lps));
  // An affine: the world rows flip, so every voxel lands on the converted point.
  Geometry g;
  g.dims = {10, 12, 14};
  g.origin = Vec3(-100, 80, -20);
  g.spacing = Vec3(0.8, 0.9, 2.5);
  g.direction = Eigen::AngleAxisd(0.3, Vec3(0.2, 1, 0.4).normalized()).toRotationMatrix();
  const Mat4 ras = ras_from_lps(g.affine());
  const Eigen::Vector4d ijk(3, 4, 5, 1);
  EXPECT_TRUE((ras * ijk).head<3>().isApprox(ras_from_lps(g.index_to_lps(ijk.head<3>())), 1e-12));
  EXPECT_TRUE(lps_from_ras(ras).isApprox(g.affine(), 1e-15));
}

TEST(PointIndex, NearestAndRadiusAgreeWithBruteForce) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-50, 50);
  std::vector<Vec3> points(2000);
  for (auto& p : points)
    p = Vec3(u(rng), u(rng), u(rng) * 0.2);
  const PointIndex index(points);
  ASSERT_EQ(index.size(), points.size());
  for (int q = 0; q < 200; ++q) {
    const Vec3 p(u(rng), u(rng), u(rng));
    size_t best = 0;
    for (size_t i = 1; i < points.size(); ++i)
      if ((points[i] - p).squaredNorm() < (points[best] - p).squaredNorm())
        best = i;
    const auto hit = index.nearest(p);
    EXPECT_EQ(hit.index, best);
    EXPECT_DOUBLE_EQ(hit.distance_sq_mm2, (points[best] - p).squaredNorm());
    const double radius = 12.0;
    std::vector<size_t> expected;
    for (size_t i = 0; i < points.size(); ++i)
      if ((points[i] - p).squaredNorm() < radius * radius)
        expected.push_back(i);
    auto got = index.within(p, radius);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected);
  }
}

TEST(PointIndex, SurvivesMovesAndEmpty) {
  PointIndex moved(std::vector<Vec3>{});
  EXPECT_TRUE(moved.empty());
  EXPECT_TRUE(moved.within(Vec3::Zero(), 5).empty());
  {
    PointIndex original({Vec3(0, 0, 0), Vec3(10, 0, 0), Vec3(0, 10, 0)});
    moved = std::move(original);
  }
  PointIndex again(std::move(moved));
  EXPECT_EQ(again.nearest(Vec3(9, 1, 0)).index, 1u);
  EXPECT_EQ(again.within(Vec3(0, 0, 0), 10.5).size(), 3u);
}
