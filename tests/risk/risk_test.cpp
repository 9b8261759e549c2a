// Known-answer tests for tumour–nerve distances. The mask of a ball of radius R drawn on a grid
// (voxels whose centres lie in the ball) satisfies B(R − h) ⊆ cells ⊆ B(R + h), h = half the voxel
// diagonal, so the exact distance to the cells differs from the analytic one by at most h: the tests
// allow h (the discretisation of the mask) plus nothing else, and a brute-force comparison checks that
// the k-d tree query is exact for the cells.
#include "../nerves/synthetic.h"
#include "risk/risk.h"

#include <gtest/gtest.h>
#include <numbers>
#include <random>

using namespace nervemap;
using namespace nervemap::test;

namespace {

struct Grid {
  std::string name;
  Vec3 spacing;
  Mat3 direction;
};

std::vector<Grid> grids() {
  const Mat3 oblique =
      (Eigen::AngleAxisd(0.3, Vec3::UnitX()) * Eigen::AngleAxisd(0.45, Vec3::UnitZ())).toRotationMatrix();
  return {{"LPS 1 mm", {1, 1, 1}, Mat3::Identity()},
          {"RAS anisotropic", {0.6, 0.8, 2.0}, Vec3(-1, -1, 1).asDiagonal()},
          {"oblique", {0.7, 0.7, 1.2}, oblique}};
}

anatomy::StructureMap ball(const Geometry& g, const Vec3& c, double r, int id = anatomy::kGtvnId) {
  anatomy::StructureMap t;
  t.voxels = MaskVolume(g, 0);
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i)
        if ((g.index_to_lps(Vec3(double(i), double(j), double(k))) - c).norm() <= r)
          t.voxels.at(i, j, k) = uint8_t(id);
  auto full = anatomy::Catalogue::get().output_table();
  t.table.add(*full.find(anatomy::kGtvpId));
  t.table.add(*full.find(anatomy::kGtvnId));
  return t;
}

nerves::NervePath path_from(std::vector<Vec3> points, double r95 = 6.0) {
  nerves::NervePath n;
  n.id = "vagus_left";
  n.nerve = "vagus";
  n.side = "left";
  n.estimated = true;
  n.radius_mm = 1.0;
  n.path_mm = std::move(points);
  n.corridor_r95_mm.assign(n.path_mm.size(), r95);
  n.segments = {{0, n.path_mm.size() - 1}};
  n.variants.push_back({"typical", 1.0, true, n.path_mm, n.corridor_r95_mm});
  return n;
}

std::vector<Vec3> straight(double x, double y, double z0, double z1) {
  std::vector<Vec3> p;
  for (double z = z1; z >= z0 - 1e-9; z -= 0.5)
    p.emplace_back(x, y, z);
  return p;
}

double half_diagonal(const Geometry& g) {
  return 0.5 * g.spacing.norm();
}

} // namespace

TEST(TumourDistance, BallBesideAStraightNerveEveryGrid) {
  const Vec3 centre(14, 3, 30);
  const double radius = 8;
  for (const auto& gr : grids()) {
    SCOPED_TRACE(gr.name);
    Geometry g = grid({-10, -20, 0}, {30, 25, 60}, gr.spacing, gr.direction);
    auto t = ball(g, centre, radius);
    auto n = path_from(straight(0, 3, 5, 55));
    auto r = risk::assess({n}, &t, {}).at(0);
    ASSERT_TRUE(r.assessed);
    const double h = half_diagonal(g);
    EXPECT_NEAR(r.combined.min_distance_mm, 14 - radius, h);
    // On a voxelised ball the nearest face can be flat over several levels: the closest nerve point is any
    // point whose analytic distance is within the discretisation of the minimum.
    EXPECT_LE((r.combined.closest_nerve - centre).norm() - radius, 14 - radius + 2 * h);
    EXPECT_NEAR(r.combined.closest_tumour.x(), 6.0, h);
    EXPECT_EQ(r.closest_tumour, "GTVn");
    // Every point of the profile: analytic distance ± h.
    for (size_t i = 0; i < n.path_mm.size(); ++i)
      EXPECT_NEAR(r.combined.profile_mm[i], std::max(0.0, (n.path_mm[i] - centre).norm() - radius), h);
    // Length within 10 mm: where the line is within radius + 10 of the centre: 2·sqrt(18² − 14²).
    EXPECT_NEAR(r.length_within_10mm, 2 * std::sqrt(18.0 * 18 - 14 * 14), 4 * h);
    EXPECT_EQ(r.length_within_5mm, 0.0);
    EXPECT_FALSE(r.inside_tumour);
  }
}

TEST(TumourDistance, BallInsideACurvedNerve) {
  // The nerve is an arc of radius 40 mm about (−40, 0, 30) in the xz-plane; a ball sits at the arc's
  // centre side: distance = 40 − |offset| − R for a ball centred on the arc's radius line.
  std::vector<Vec3> arc;
  for (double a = -0.6; a <= 0.6 + 1e-9; a += 0.02)
    arc.emplace_back(-40 + 40 * std::cos(a), 0, 30 + 40 * std::sin(a));
  const Vec3 centre(-15, 0, 30); // on the radius line through the arc's middle, 25 mm from the arc centre
  for (const auto& gr : grids()) {
    SCOPED_TRACE(gr.name);
    Geometry g = grid({-30, -15, 0}, {10, 15, 60}, gr.spacing, gr.direction);
    auto t = ball(g, centre, 6);
    auto r = risk::assess({path_from(arc)}, &t, {}).at(0);
    EXPECT_NEAR(r.combined.min_distance_mm, (40 - 25) - 6, half_diagonal(g));
    EXPECT_LE((r.combined.closest_nerve - centre).norm() - 6, 15 - 6 + 2 * half_diagonal(g));
  }
}

TEST(TumourDistance, KdTreeQueryEqualsBruteForceOverAllCells) {
  const Mat3 oblique =
      (Eigen::AngleAxisd(0.3, Vec3::UnitX()) * Eigen::AngleAxisd(0.45, Vec3::UnitZ())).toRotationMatrix();
  Geometry g = grid({-15, -15, -15}, {15, 15, 15}, {0.9, 0.7, 1.4}, oblique);
  auto t = ball(g, Vec3(1, -2, 0.5), 7);
  risk::TumourSurface s(t.voxels, {anatomy::kGtvnId});
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-25, 25);
  for (int q = 0; q < 200; ++q) {
    const Vec3 p(u(rng), u(rng), u(rng));
    double brute = 1e300;
    for (int64_t k = 0; k < g.dims[2]; ++k)
      for (int64_t j = 0; j < g.dims[1]; ++j)
        for (int64_t i = 0; i < g.dims[0]; ++i)
          if (t.voxels.at(i, j, k)) {
            const Vec3 local =
                g.direction.transpose() * (p - g.index_to_lps(Vec3(double(i), double(j), double(k))));
            const Vec3 half = 0.5 * g.spacing;
            brute = std::min(brute, (local - local.cwiseMax(-half).cwiseMin(half)).norm());
          }
    EXPECT_NEAR(s.distance(p), brute, 1e-9);
  }
}

TEST(TumourDistance, NerveThroughTheTumour) {
  Geometry g = grid({-20, -20, 0}, {20, 20, 60}, {0.8, 0.8, 1.0});
  auto t = ball(g, Vec3(3, 0, 30), 10);
  auto r = risk::assess({path_from(straight(0, 0, 5, 55))}, &t, {}).at(0);
  EXPECT_TRUE(r.inside_tumour);
  EXPECT_EQ(r.combined.min_distance_mm, 0.0);
  EXPECT_NEAR(r.length_inside_mm, 2 * std::sqrt(100.0 - 9.0), 2 * half_diagonal(g));
  EXPECT_EQ(r.encasement_deg, 360.0);
  EXPECT_EQ(r.grade, "contact");
  EXPECT_GT(r.p_within.at(1.0), 0.99);
}

TEST(RiskGrade, FollowsTheThresholds) {
  Geometry g = grid({-10, -20, 0}, {60, 20, 60}, {1, 1, 1});
  const double r95 = 6.0;
  auto grade_at = [&](double gap) {
    auto t = ball(g, Vec3(gap + 8, 0, 30), 8);
    return risk::assess({path_from(straight(0, 0, 5, 55), r95)}, &t, {}).at(0);
  };
  EXPECT_EQ(grade_at(0.6).grade, "contact");  // ≤ 1 mm
  EXPECT_EQ(grade_at(4.0).grade, "high");     // ≤ r95
  EXPECT_EQ(grade_at(9.0).grade, "moderate"); // ≤ r95 + 5
  EXPECT_EQ(grade_at(20.0).grade, "low");
  EXPECT_LT(grade_at(4.0).encasement_deg, 180.0);
  auto none = risk::assess({path_from(straight(0, 0, 5, 55))}, nullptr, {}).at(0);
  EXPECT_EQ(none.grade, "none");
  EXPECT_FALSE(none.assessed);
}

TEST(ProximityProbability, MatchesTheGaussianTailForAWall) {
  // A wide slab at distance D from a straight nerve: P(nerve within X) = P(N(0, σ²) ≥ D − X) per level.
  Geometry g = grid({-5, -40, 0}, {40, 40, 60}, {1, 1, 1});
  anatomy::StructureMap t = ball(g, Vec3(1000, 0, 0), 1); // empty, then a slab
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i)
        if (g.index_to_lps(Vec3(double(i), double(j), double(k))).x() >= 6.0)
          t.voxels.at(i, j, k) = anatomy::kGtvpId;
  const double sigma = 3.0, r95 = 2.4477 * sigma + 1.0;
  auto r = risk::assess({path_from(straight(0, 0, 10, 50), r95)}, &t, {}).at(0);
  // The slab's cells start at x = 5.5 (centres from 6): D = 5.5.
  auto tail = [&](double x) { return 0.5 * std::erfc((5.5 - x) / (sigma * std::numbers::sqrt2)); };
  for (double x : {1.0, 2.0, 5.0, 10.0})
    EXPECT_NEAR(r.p_within.at(x), tail(x), 0.04) << x;
}
