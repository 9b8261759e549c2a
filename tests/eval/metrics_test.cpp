// Dice, HD95 and NSD against cases computed by hand (cubes, spheres, empty masks) and against a
// brute-force reference, on anisotropic and oblique grids.
#include "eval/eval.h"
#include "shapes.h"

#include <algorithm>
#include <gtest/gtest.h>
#include <random>

using namespace nervemap;
using namespace nervemap::eval;
using namespace nervemap::eval::test;

namespace {

// Two n³ cubes, the second shifted by k voxels along `axis`: overlap (n − k)·n², so Dice = (n − k)/n.
// Every surface voxel of one cube has the other's surface exactly k·s away (the shifted copy of itself)
// and the two far faces (n² voxels each, a sixth of each surface) are exactly k·s away, so HD95 = k·s.
// Distance 0 only where both surfaces coincide: the side rings of the n − k overlapping slices,
// 4(n − 1) voxels each, on both sides; a surface has n³ − (n − 2)³ voxels.
struct ShiftedCubes {
  MaskVolume a, b;
  int n = 10, k = 2;
};

ShiftedCubes shifted_cubes(const Geometry& g, int axis, int n = 10, int k = 2) {
  ShiftedCubes c{MaskVolume(g, 0), MaskVolume(g, 0), n, k};
  Index3 lo{3, 3, 3}, size{n, n, n};
  box(c.a, lo, size);
  lo[size_t(axis)] += k;
  box(c.b, lo, size);
  return c;
}

double coincident_fraction(int n, int k) {
  const double surface = double(n * n * n - (n - 2) * (n - 2) * (n - 2));
  return 4.0 * (n - k) * (n - 1) / surface;
}

// Independent slow reference: surface by a plain neighbour test, all pairwise distances.
std::vector<Vec3> brute_surface(const MaskVolume& v) {
  std::vector<Vec3> out;
  const auto& d = v.geometry.dims;
  auto in = [&](int64_t i, int64_t j, int64_t k) { return v.contains(i, j, k) && v.at(i, j, k) != 0; };
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        if (!in(i, j, k))
          continue;
        bool border = false;
        for (int axis = 0; axis < 3; ++axis)
          for (int step : {-1, 1}) {
            Index3 n{i, j, k};
            n[size_t(axis)] += step;
            border |= !in(n[0], n[1], n[2]);
          }
        if (border)
          out.push_back(v.geometry.index_to_lps(Vec3(double(i), double(j), double(k))));
      }
  return out;
}

std::vector<double> brute_distances(const std::vector<Vec3>& from, const std::vector<Vec3>& to) {
  std::vector<double> out;
  for (const auto& p : from) {
    double best = std::numeric_limits<double>::infinity();
    for (const auto& q : to)
      best = std::min(best, (p - q).norm());
    out.push_back(best);
  }
  return out;
}

void random_blob(MaskVolume& v, std::mt19937& rng, int balls) {
  std::uniform_real_distribution<double> u(0.25, 0.75);
  const Geometry& g = v.geometry;
  for (int b = 0; b < balls; ++b) {
    Vec3 c = g.index_to_lps(
        Vec3(u(rng) * double(g.dims[0]), u(rng) * double(g.dims[1]), u(rng) * double(g.dims[2])));
    ball(v, c, 2.0 + 4.0 * u(rng));
  }
}

} // namespace

TEST(EvalMetrics, IdenticalMasks) {
  Geometry g = voxel_grid({24, 20, 16}, Vec3(0.8, 1.1, 2.5));
  MaskVolume a(g, 0);
  ball(a, g.index_to_lps(Vec3(12, 10, 8)), 7.0);
  Metrics m = compare_masks(a, a, 1.0);
  EXPECT_EQ(m.dice, 1.0);
  ASSERT_TRUE(m.hd95_mm);
  EXPECT_EQ(*m.hd95_mm, 0.0);
  EXPECT_EQ(m.nsd, 1.0);
  EXPECT_GT(m.voxels_pred, 0);
  EXPECT_EQ(m.voxels_pred, m.voxels_ref);
  EXPECT_NEAR(m.volume_pred_ml, double(m.voxels_pred) * 0.8 * 1.1 * 2.5 / 1000.0, 1e-12);
  EXPECT_EQ(m.volume_pred_ml, m.volume_ref_ml);
}

TEST(EvalMetrics, ShiftedCubesAlongEachAxisWithAnisotropicSpacing) {
  const Vec3 spacing(0.7, 1.3, 2.5);
  const Geometry g = voxel_grid({20, 20, 20}, spacing);
  for (int axis = 0; axis < 3; ++axis) {
    SCOPED_TRACE(axis);
    ShiftedCubes c = shifted_cubes(g, axis);
    const double shift_mm = c.k * spacing[axis];
    Metrics m = compare_masks(c.a, c.b, 0.5 * spacing.minCoeff());
    EXPECT_NEAR(m.dice, double(c.n - c.k) / c.n, 1e-12);
    ASSERT_TRUE(m.hd95_mm);
    EXPECT_NEAR(*m.hd95_mm, shift_mm, 1e-9);
    EXPECT_EQ(m.surface_voxels_pred, c.n * c.n * c.n - (c.n - 2) * (c.n - 2) * (c.n - 2));
    // Tolerance below every voxel spacing: only coincident surface voxels count.
    EXPECT_NEAR(m.nsd, coincident_fraction(c.n, c.k), 1e-12);
    // At and above the shift every surface voxel is within tolerance; just below it some are not.
    EXPECT_EQ(compare_masks(c.a, c.b, shift_mm).nsd, 1.0);
    EXPECT_EQ(compare_masks(c.a, c.b, shift_mm + 0.3).nsd, 1.0);
    const double below = compare_masks(c.a, c.b, shift_mm - 0.01).nsd;
    EXPECT_LT(below, 1.0);
    EXPECT_GT(below, coincident_fraction(c.n, c.k) - 1e-12);
    // Symmetric in its arguments.
    Metrics swapped = compare_masks(c.b, c.a, 1.0);
    EXPECT_DOUBLE_EQ(swapped.dice, m.dice);
    EXPECT_DOUBLE_EQ(*swapped.hd95_mm, *m.hd95_mm);
  }
}

TEST(EvalMetrics, ObliqueGridGivesTheSamePhysicalAnswers) {
  const Vec3 spacing(0.7, 1.3, 2.5);
  const Geometry straight = voxel_grid({20, 20, 20}, spacing);
  const Geometry tilted = voxel_grid({20, 20, 20}, spacing, oblique(), Vec3(-112.5, 40.25, -310.0));
  for (int axis = 0; axis < 3; ++axis) {
    SCOPED_TRACE(axis);
    const ShiftedCubes s = shifted_cubes(straight, axis), t = shifted_cubes(tilted, axis);
    for (double tolerance : {0.3, 1.0, 2.0, 5.0}) {
      const Metrics ms = compare_masks(s.a, s.b, tolerance), mt = compare_masks(t.a, t.b, tolerance);
      EXPECT_DOUBLE_EQ(ms.dice, mt.dice);
      EXPECT_NEAR(*ms.hd95_mm, *mt.hd95_mm, 1e-9);
      EXPECT_NEAR(*mt.hd95_mm, s.k * spacing[axis], 1e-9);
      EXPECT_DOUBLE_EQ(ms.nsd, mt.nsd);
      EXPECT_NEAR(ms.volume_pred_ml, mt.volume_pred_ml, 1e-12);
    }
  }
}

TEST(EvalMetrics, ConcentricSpheresHd95IsTheRadiusDifference) {
  // Spheres of 6 and 9 mm radius: every surface point is 3 mm from the other sphere, up to the voxel
  // discretisation, so HD95 lies within one voxel of 3 mm; on anisotropic and oblique grids alike.
  const std::vector<Geometry> grids{
      voxel_grid({32, 32, 32}, Vec3(1, 1, 1)),
      voxel_grid({40, 40, 16}, Vec3(0.8, 0.8, 2.0)),
      voxel_grid({40, 30, 16}, Vec3(0.75, 1.0, 2.0), oblique(), Vec3(30, -20, 100))};
  for (const auto& g : grids) {
    SCOPED_TRACE(g.describe());
    const Vec3 centre =
        g.index_to_lps(0.5 * Vec3(double(g.dims[0] - 1), double(g.dims[1] - 1), double(g.dims[2] - 1)));
    MaskVolume small(g, 0), large(g, 0);
    ball(small, centre, 6.0);
    ball(large, centre, 9.0);
    Metrics m = compare_masks(small, large, 1.0);
    ASSERT_TRUE(m.hd95_mm);
    EXPECT_NEAR(*m.hd95_mm, 3.0, g.spacing.maxCoeff());
    // Dice = 2·V_small / (V_small + V_large) (small lies inside large) ≈ 2·216 / (216 + 729).
    EXPECT_NEAR(m.dice, 2.0 * double(m.voxels_pred) / double(m.voxels_pred + m.voxels_ref), 1e-12);
    EXPECT_NEAR(m.dice, 2.0 * 216.0 / 945.0, 0.05);
    EXPECT_NEAR(m.volume_ref_ml, 4.0 / 3.0 * M_PI * 729.0 / 1000.0, 0.2);
    // NSD: nothing within 1 mm when the gap is 3 mm (±half a voxel), everything within 5 mm.
    EXPECT_LT(m.nsd, 0.2);
    EXPECT_EQ(compare_masks(small, large, 5.0).nsd, 1.0);
  }
}

TEST(EvalMetrics, EmptyMasks) {
  const Geometry g = voxel_grid({12, 12, 12}, Vec3(1, 2, 3));
  MaskVolume empty(g, 0), cube(g, 0);
  box(cube, {2, 2, 2}, {4, 4, 4});
  Metrics both = compare_masks(empty, empty, 1.0);
  EXPECT_EQ(both.dice, 1.0);
  ASSERT_TRUE(both.hd95_mm);
  EXPECT_EQ(*both.hd95_mm, 0.0);
  EXPECT_EQ(both.nsd, 1.0);
  EXPECT_EQ(both.volume_pred_ml, 0.0);
  for (bool pred_empty : {true, false}) {
    SCOPED_TRACE(pred_empty);
    Metrics one = pred_empty ? compare_masks(empty, cube, 1.0) : compare_masks(cube, empty, 1.0);
    EXPECT_EQ(one.dice, 0.0);
    EXPECT_FALSE(one.hd95_mm);
    EXPECT_EQ(one.nsd, 0.0);
    EXPECT_NEAR(pred_empty ? one.volume_ref_ml : one.volume_pred_ml, 64 * 6 / 1000.0, 1e-12);
    EXPECT_EQ(pred_empty ? one.volume_pred_ml : one.volume_ref_ml, 0.0);
  }
}

TEST(EvalMetrics, MatchesBruteForceOnRandomShapes) {
  std::mt19937 rng(7);
  const Geometry g = voxel_grid({22, 18, 12}, Vec3(0.9, 1.2, 2.2), oblique(), Vec3(5, 6, 7));
  for (int trial = 0; trial < 4; ++trial) {
    SCOPED_TRACE(trial);
    MaskVolume a(g, 0), b(g, 0);
    random_blob(a, rng, 3);
    random_blob(b, rng, 3);
    auto distances = brute_distances(brute_surface(a), brute_surface(b));
    auto back = brute_distances(brute_surface(b), brute_surface(a));
    distances.insert(distances.end(), back.begin(), back.end());
    std::sort(distances.begin(), distances.end());
    const double position = 0.95 * double(distances.size() - 1);
    const size_t lo = size_t(position);
    const double hd95 = distances[lo] + (position - double(lo)) * (distances[lo + 1] - distances[lo]);
    // 1.5 mm = |(0.9, 1.2)|: some distances land exactly on the tolerance (up to rounding through the
    // oblique affine), and exactly-at-tolerance counts as within.
    const double tolerance = 1.5;
    const double nsd =
        double(std::count_if(
            distances.begin(), distances.end(), [&](double d) { return d <= tolerance + 1e-9; })) /
        double(distances.size());
    Metrics m = compare_masks(a, b, tolerance);
    ASSERT_TRUE(m.hd95_mm);
    EXPECT_NEAR(*m.hd95_mm, hd95, 1e-9);
    EXPECT_NEAR(m.nsd, nsd, 1e-12);
    EXPECT_EQ(size_t(m.surface_voxels_pred + m.surface_voxels_ref), distances.size());
  }
}

TEST(EvalMetrics, MasksTouchingTheImageBorderHaveSurfaceThere) {
  // Voxels on the image border count as surface (outside the image is outside the mask).
  const Geometry g = voxel_grid({4, 4, 4}, Vec3(1, 1, 1));
  MaskVolume full(g, 1);
  Metrics m = compare_masks(full, full, 1.0);
  EXPECT_EQ(m.surface_voxels_pred, 64 - 8);
}

TEST(EvalMetrics, DifferentGridsAreAnError) {
  const Geometry g = voxel_grid({10, 10, 10}, Vec3(1, 1, 1));
  MaskVolume a(g, 0);
  box(a, {2, 2, 2}, {3, 3, 3});
  Geometry other_dims = g, other_spacing = g, other_direction = g, other_origin = g, within = g;
  other_dims.dims = {10, 10, 11};
  other_spacing.spacing = Vec3(1, 1, 1.01);
  other_direction.direction = oblique();
  other_origin.origin = Vec3(0, 0.5, 0);
  within.origin = Vec3(0, 0.0005, 0); // inside design §2's 1e-3 mm
  for (const auto& o : {other_dims, other_spacing, other_direction, other_origin}) {
    MaskVolume b(o, 0);
    EXPECT_THROW(compare_masks(a, b, 1.0), InputError);
    EXPECT_THROW(compare_labels(a, 1, b, 1, 1.0), InputError);
  }
  MaskVolume b(within, 0);
  box(b, {2, 2, 2}, {3, 3, 3});
  EXPECT_EQ(compare_masks(a, b, 1.0).dice, 1.0);
}

TEST(EvalMetrics, BadToleranceIsAUsageError) {
  const Geometry g = voxel_grid({4, 4, 4}, Vec3(1, 1, 1));
  MaskVolume a(g, 1);
  EXPECT_THROW(compare_masks(a, a, -1.0), UsageError);
  EXPECT_THROW(compare_masks(a, a, std::nan("")), UsageError);
}

TEST(EvalMetrics, LabelMapsAreMatchedByName) {
  const Geometry g = voxel_grid({20, 20, 20}, Vec3(1, 1, 2));
  LabelMap pred, ref;
  pred.voxels = MaskVolume(g, 0);
  ref.voxels = MaskVolume(g, 0);
  // Same structures under different raw values on each side.
  pred.table.add({7, "trachea", {}});
  pred.table.add({3, "esophagus", {}});
  pred.table.add({9, "thyroid_gland", {}}); // predicted, not in the reference
  pred.table.add({11, "mandible", {}});     // named, empty in both
  ref.table.add({1, "trachea", {}});
  ref.table.add({2, "esophagus", {}});
  ref.table.add({4, "vertebrae_C5", {}}); // in the reference, missed by the prediction
  ref.table.add({5, "mandible", {}});
  box(pred.voxels, {2, 2, 2}, {10, 10, 5}, 7);
  box(ref.voxels, {2, 2, 2}, {10, 10, 5}, 1);
  box(pred.voxels, {14, 2, 2}, {4, 4, 4}, 3);
  box(ref.voxels, {15, 2, 2}, {4, 4, 4}, 2); // shifted by 1 voxel (1 mm) along i: Dice 3/4
  box(pred.voxels, {2, 14, 2}, {3, 3, 3}, 9);
  box(ref.voxels, {2, 14, 12}, {3, 3, 3}, 4);
  Evaluation e = evaluate(pred, ref, 1.0);
  ASSERT_EQ(e.structures.size(), 4u);
  std::vector<std::string> names;
  for (const auto& s : e.structures)
    names.push_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"esophagus", "thyroid_gland", "trachea", "vertebrae_C5"}));
  EXPECT_NEAR(e.structures[0].metrics.dice, 0.75, 1e-12);
  EXPECT_NEAR(*e.structures[0].metrics.hd95_mm, 1.0, 1e-12);
  EXPECT_EQ(e.structures[0].metrics.nsd, 1.0);
  EXPECT_TRUE(e.structures[1].in_pred);
  EXPECT_FALSE(e.structures[1].in_ref);
  EXPECT_EQ(e.structures[1].metrics.dice, 0.0);
  EXPECT_FALSE(e.structures[1].metrics.hd95_mm);
  EXPECT_EQ(e.structures[2].metrics.dice, 1.0);
  EXPECT_EQ(*e.structures[2].metrics.hd95_mm, 0.0);
  EXPECT_FALSE(e.structures[3].in_pred);
  EXPECT_EQ(e.structures[3].metrics.dice, 0.0);
  EXPECT_NEAR(e.structures[3].metrics.volume_ref_ml, 27 * 2 / 1000.0, 1e-12);
  EXPECT_EQ(e.empty_in_both, std::vector<std::string>{"mandible"});
  ASSERT_TRUE(e.mean_dice);
  EXPECT_NEAR(*e.mean_dice, (0.75 + 0 + 1 + 0) / 4.0, 1e-12);

  LabelMap nothing;
  nothing.voxels = MaskVolume(g, 0);
  Evaluation none = evaluate(nothing, nothing, 1.0);
  EXPECT_TRUE(none.structures.empty());
  EXPECT_FALSE(none.mean_dice);
}
