// extract_surface / extract_all against analytic shapes on grids of every orientation.
#include "mesh/mesh.h"
#include "mesh/shapes.h"

#include <gtest/gtest.h>
#include <random>
#include <set>

namespace nervemap::mesh {
namespace {

using test::ball;
using test::covering_grid;
using test::paint;
using test::rotation;

struct GridCase {
  std::string name;
  Vec3 spacing_mm;
  Mat3 direction;
};

Mat3 diagonal(double x, double y, double z) {
  return Vec3(x, y, z).asDiagonal();
}

Mat3 gantry_tilt(double degrees) {
  Mat3 d = Mat3::Identity();
  d.col(2) = Vec3(0, std::sin(degrees * M_PI / 180), std::cos(degrees * M_PI / 180));
  return d;
}

std::vector<GridCase> grid_cases() {
  return {
      {"iso_1mm", Vec3(1, 1, 1), Mat3::Identity()},
      {"anisotropic", Vec3(0.7, 0.9, 2.0), Mat3::Identity()},
      {"oblique", Vec3(0.8, 0.9, 1.5), rotation(Vec3(1, 2, 3), 37)},
      // z decreasing with the slice index: a left-handed voxel frame (det D = −1).
      {"negative_z", Vec3(0.9, 0.9, 1.2), diagonal(1, 1, -1)},
      // RAS-stored (NIfTI-like) voxel axes, right-handed.
      {"ras_axes", Vec3(0.8, 0.8, 1.0), diagonal(-1, -1, 1)},
      // oblique and left-handed at once
      {"oblique_mirrored", Vec3(1.0, 0.8, 1.3), rotation(Vec3(-2, 1, 1), 50) * diagonal(1, -1, 1)},
      // gantry tilt: the k axis sheared 15° towards posterior (D not orthonormal, see core.h)
      {"gantry_tilt", Vec3(0.8, 0.8, 1.5), gantry_tilt(15)},
  };
}

//! Euler characteristic V − E + F over the vertices the triangles use.
int64_t euler_characteristic(const Mesh& m) {
  std::set<uint32_t> used;
  std::set<std::pair<uint32_t, uint32_t>> edges;
  for (const auto& t : m.triangles)
    for (int e = 0; e < 3; ++e) {
      used.insert(t[size_t(e)]);
      const uint32_t a = t[size_t(e)], b = t[size_t((e + 1) % 3)];
      edges.insert({std::min(a, b), std::max(a, b)});
    }
  return int64_t(used.size()) - int64_t(edges.size()) + int64_t(m.triangles.size());
}

Vec3 vertex_mean(const Mesh& m) {
  Vec3 sum = Vec3::Zero();
  for (const auto& p : m.vertices)
    sum += p;
  return sum / double(m.vertices.size());
}

struct SphereCase {
  GridCase grid;
  double radius_mm;
};

class Sphere : public ::testing::TestWithParam<SphereCase> {};

TEST_P(Sphere, AreaVolumeOrientationAndPositionMatchTheAnalyticSphere) {
  const auto& [grid, r] = GetParam();
  const Vec3 centre(13.3, -52.7, 140.2); // off the grid points and far from the LPS origin
  const Geometry g = covering_grid(
      centre - Vec3::Constant(r + 6), centre + Vec3::Constant(r + 6), grid.spacing_mm, grid.direction);
  MaskVolume labels(g, 0);
  paint(labels, 7, ball(centre, r));

  const Mesh m = extract_surface(labels, 7);
  ASSERT_FALSE(m.empty());
  const double area = 4 * M_PI * r * r, volume = 4.0 / 3.0 * M_PI * r * r * r / 1000.0;
  EXPECT_NEAR(area_mm2(m), area, 0.02 * area);
  // Positive: outward winding in LPS whatever the handedness of the voxel frame.
  EXPECT_NEAR(volume_ml(m), volume, 0.02 * volume);
  EXPECT_TRUE(is_watertight(m));
  EXPECT_TRUE(is_manifold(m));
  EXPECT_EQ(component_count(m), 1u);
  EXPECT_EQ(euler_characteristic(m), 2); // a sphere, no handles

  const double voxel_mm = g.spacing.maxCoeff();
  double worst_mm = 0;
  for (const auto& p : m.vertices)
    worst_mm = std::max(worst_mm, std::abs((p - centre).norm() - r));
  EXPECT_LE(worst_mm, voxel_mm);
  // The vertices surround the centre: a wrong voxel → LPS mapping would move or mirror them.
  EXPECT_LT((vertex_mean(m) - centre).norm(), 0.15 * voxel_mm);

  // Each triangle's normal points away from the centre (outward, not merely positive in sum).
  size_t inward = 0;
  for (const auto& t : m.triangles) {
    const Vec3 &a = m.vertices[t[0]], &b = m.vertices[t[1]], &c = m.vertices[t[2]];
    if ((b - a).cross(c - a).dot((a + b + c) / 3 - centre) <= 0)
      ++inward;
  }
  EXPECT_EQ(inward, 0u);
}

std::vector<SphereCase> sphere_cases() {
  std::vector<SphereCase> cases;
  for (const auto& g : grid_cases())
    for (double r : {10.0, 15.0, 20.0})
      cases.push_back({g, r});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Grids, Sphere, ::testing::ValuesIn(sphere_cases()), [](const auto& info) {
  return info.param.grid.name + "_r" + std::to_string(int(info.param.radius_mm));
});

class Box : public ::testing::TestWithParam<GridCase> {};

TEST_P(Box, VolumeWithinTwoPercent) {
  const auto& grid = GetParam();
  // A box of about 40 × 30 × 24 mm, axis-aligned in LPS (so oblique for the oblique grids).
  Vec3 size(40, 30, 24), pad = Vec3::Constant(5);
  // Faces parallel to a family of voxel planes go halfway between two planes, so that the voxels
  // hold exactly the box (a face on a plane of voxel centres would add half a voxel layer, several
  // percent). Voxel plane family m has normal row m of D⁻¹ and lies spacing_m / |row m| apart.
  const Mat3 to_index = grid.direction.inverse();
  for (int a = 0; a < 3; ++a)
    for (int m = 0; m < 3; ++m) {
      const Vec3 normal = to_index.row(m).transpose();
      if (std::abs(normal.normalized()[a]) > 1 - 1e-9) {
        const double apart_mm = grid.spacing_mm[m] / normal.norm();
        size[a] = std::round(size[a] / apart_mm) * apart_mm;
        pad[a] = (std::round(pad[a] / apart_mm) + 0.5) * apart_mm;
      }
    }
  const Vec3 lo(-20, 5, -12), hi = lo + size;
  const Geometry g = covering_grid(lo - pad, hi + pad, grid.spacing_mm, grid.direction);
  MaskVolume labels(g, 0);
  paint(labels, 1, [&](const Vec3& p) {
    return (p.array() >= lo.array()).all() && (p.array() <= hi.array()).all();
  });
  const Mesh m = extract_surface(labels, 1);
  const double volume = (hi - lo).prod() / 1000.0;
  EXPECT_NEAR(volume_ml(m), volume, 0.02 * volume);
  EXPECT_TRUE(is_manifold(m));
  EXPECT_EQ(euler_characteristic(m), 2);
  // The faces stay where they are: every vertex within a voxel of the box.
  for (const auto& p : m.vertices)
    ASSERT_TRUE(((p.array() >= (lo.array() - g.spacing.maxCoeff())) &&
                 (p.array() <= (hi.array() + g.spacing.maxCoeff())))
                    .all())
        << p.transpose();
}

INSTANTIATE_TEST_SUITE_P(Grids, Box, ::testing::ValuesIn(grid_cases()), [](const auto& info) {
  return info.param.name;
});

TEST(ExtractSurface, TwoSeparateBallsGiveTwoClosedComponents) {
  const Geometry g =
      covering_grid(Vec3(-40, -20, -20), Vec3(40, 20, 20), Vec3(0.8, 0.8, 1.25), Mat3::Identity());
  MaskVolume labels(g, 0);
  paint(labels, 3, ball(Vec3(-20, 0, 0), 12));
  paint(labels, 3, ball(Vec3(22, 0, 0), 8));
  const Mesh m = extract_surface(labels, 3);
  EXPECT_EQ(component_count(m), 2u);
  EXPECT_TRUE(is_watertight(m));
  EXPECT_TRUE(is_manifold(m));
  EXPECT_EQ(euler_characteristic(m), 4);
  const double volume = 4.0 / 3.0 * M_PI * (12. * 12 * 12 + 8. * 8 * 8) / 1000;
  EXPECT_NEAR(volume_ml(m), volume, 0.03 * volume);
}

TEST(ExtractSurface, AbsentLabelGivesAnEmptyMesh) {
  const Geometry g = covering_grid(Vec3(0, 0, 0), Vec3(20, 20, 20), Vec3(1, 1, 1), Mat3::Identity());
  MaskVolume labels(g, 0);
  paint(labels, 2, ball(Vec3(10, 10, 10), 5));
  const Mesh m = extract_surface(labels, 9);
  EXPECT_TRUE(m.empty());
  EXPECT_TRUE(m.vertices.empty());
  EXPECT_EQ(area_mm2(m), 0.0);
  EXPECT_EQ(volume_ml(m), 0.0);
  EXPECT_FALSE(is_watertight(m));
  EXPECT_EQ(component_count(m), 0u);
  EXPECT_TRUE(extract_surface(MaskVolume(g, 0), 1).empty());
}

TEST(ExtractSurface, RejectsLabelsOutsideUint8) {
  const Geometry g = covering_grid(Vec3(0, 0, 0), Vec3(4, 4, 4), Vec3(1, 1, 1), Mat3::Identity());
  EXPECT_THROW(extract_surface(MaskVolume(g, 0), 0), std::invalid_argument);
  EXPECT_THROW(extract_surface(MaskVolume(g, 0), 256), std::invalid_argument);
}

TEST(ExtractSurface, StructureCutByTheFieldOfViewIsClosedAtTheEdge) {
  // A ball centred on the volume's corner: only an eighth of it is inside the volume.
  const Geometry g = covering_grid(Vec3(0, 0, 0), Vec3(30, 30, 30), Vec3(1, 1, 1), Mat3::Identity());
  MaskVolume labels(g, 0);
  paint(labels, 1, ball(Vec3(0, 0, 0), 20));
  MeshOptions raw;
  raw.smoothing_iterations = 0;
  const Mesh m = extract_surface(labels, 1, raw);
  EXPECT_TRUE(is_manifold(m));
  // Closed half a voxel beyond the outermost voxel centres (the blurred edge), so a bit larger than
  // the eighth of the ball inside the volume.
  const double eighth = 4.0 / 3.0 * M_PI * 8000 / 8 / 1000;
  EXPECT_GT(volume_ml(m), eighth);
  EXPECT_LT(volume_ml(m), 1.25 * eighth);
}

TEST(ExtractSurface, OneVertexPerCrossedGridEdge) {
  const Geometry g = covering_grid(Vec3(0, 0, 0), Vec3(30, 30, 30), Vec3(1, 1, 1), Mat3::Identity());
  MaskVolume labels(g, 0);
  paint(labels, 1, ball(Vec3(15.2, 14.9, 15.1), 9));
  for (double sigma : {0.0, 0.5}) {
    MeshOptions o;
    o.presmooth_sigma_voxels = sigma;
    o.smoothing_iterations = 0;
    const Mesh m = extract_surface(labels, 1, o);
    std::set<std::array<double, 3>> positions;
    for (const auto& p : m.vertices)
      positions.insert({p.x(), p.y(), p.z()});
    EXPECT_EQ(positions.size(), m.vertices.size()) << "sigma " << sigma;
    // Every vertex is used.
    std::vector<bool> used(m.vertices.size());
    for (const auto& t : m.triangles)
      for (uint32_t v : t)
        used[v] = true;
    EXPECT_EQ(std::count(used.begin(), used.end(), false), 0) << "sigma " << sigma;
  }
}

TEST(ExtractSurface, NoisyMasksStillGiveManifoldClosedSurfaces) {
  // Random voxels make every ambiguous configuration (voxels touching only along an edge or at a
  // corner, saddle faces, cube-interior ambiguities) many times over.
  const Geometry g = covering_grid(Vec3(0, 0, 0), Vec3(23, 19, 17), Vec3(1, 1, 1), Mat3::Identity());
  std::mt19937 rng(1234);
  for (double density : {0.2, 0.5, 0.8}) {
    MaskVolume labels(g, 0);
    std::bernoulli_distribution on(density);
    for (auto& v : labels.data)
      v = on(rng) ? 5 : 0;
    for (double sigma : {0.0, 0.5, 1.0}) {
      MeshOptions o;
      o.presmooth_sigma_voxels = sigma;
      const Mesh m = extract_surface(labels, 5, o);
      if (m.empty()) { // a wide blur can flatten sparse noise below 0.5 everywhere
        EXPECT_GE(sigma, 1.0) << "density " << density;
        continue;
      }
      EXPECT_TRUE(is_watertight(m)) << "density " << density << " sigma " << sigma;
      EXPECT_TRUE(is_manifold(m)) << "density " << density << " sigma " << sigma;
    }
  }
}

TEST(ExtractSurface, DiagonalNeighboursStayManifold) {
  // Two voxels sharing only an edge, and two sharing only a corner: unsmoothed, marching cubes must
  // keep them apart rather than pinch the surfaces together at a shared edge or vertex.
  const Geometry g = covering_grid(Vec3(0, 0, 0), Vec3(9, 9, 9), Vec3(1, 1, 1), Mat3::Identity());
  MaskVolume labels(g, 0);
  labels.at(2, 2, 2) = labels.at(3, 3, 2) = 1;
  labels.at(6, 6, 6) = labels.at(7, 7, 7) = 1;
  MeshOptions o;
  o.presmooth_sigma_voxels = 0;
  o.smoothing_iterations = 0;
  const Mesh m = extract_surface(labels, 1, o);
  EXPECT_TRUE(is_manifold(m));
  EXPECT_EQ(component_count(m), 4u);
}

TEST(ExtractAll, OneClosedMeshPerPresentLabelInTableOrder) {
  const Geometry g =
      covering_grid(Vec3(-30, -30, -30), Vec3(30, 30, 30), Vec3(0.9, 0.9, 1.5), Mat3::Identity());
  LabelMap map;
  map.voxels = MaskVolume(g, 0);
  map.table.add({4, "thyroid_gland", {200, 100, 100}});
  map.table.add({2, "trachea", {100, 200, 255}});
  map.table.add({201, "GTVp", {255, 0, 0}});
  map.table.add({9, "absent_structure", {1, 2, 3}});
  paint(map.voxels, 2, ball(Vec3(0, 0, 0), 10));
  // Touching the trachea: neighbouring labels each get their own closed surface.
  paint(map.voxels, 4, [](const Vec3& p) {
    return (p - Vec3(0, 0, 0)).norm() > 10 && (p - Vec3(0, 0, 0)).norm() <= 16;
  });
  paint(map.voxels, 201, ball(Vec3(20, 20, 20), 6));
  paint(map.voxels, 77, ball(Vec3(-20, -20, 20), 5)); // a value missing from the table: not meshed

  const auto meshes = extract_all(map);
  ASSERT_EQ(meshes.size(), 3u);
  EXPECT_EQ(meshes[0].first, "trachea");
  EXPECT_EQ(meshes[1].first, "thyroid_gland");
  EXPECT_EQ(meshes[2].first, "GTVp");
  for (const auto& [name, m] : meshes) {
    EXPECT_TRUE(is_manifold(m)) << name;
    // Same result as meshing the label alone.
    const int id = map.table.find(name)->id;
    const Mesh alone = extract_surface(map.voxels, id);
    EXPECT_EQ(alone.triangles, m.triangles) << name;
    EXPECT_EQ(alone.vertices.size(), m.vertices.size()) << name;
  }
  EXPECT_NEAR(volume_ml(meshes[0].second), 4.0 / 3 * M_PI * 1000 / 1000, 0.03 * 4.0 / 3 * M_PI);
  // A hollow shell: outer sphere outward, inner sphere inward, so the volume is the difference.
  const double shell_ml = 4.0 / 3 * M_PI * (16. * 16 * 16 - 10. * 10 * 10) / 1000;
  EXPECT_NEAR(volume_ml(meshes[1].second), shell_ml, 0.03 * shell_ml);
  EXPECT_EQ(component_count(meshes[1].second), 2u);
}

} // namespace
} // namespace nervemap::mesh

TEST(MaxSample, FineGridsAreMeshedAtTheRequestedDetail) {
  // A 15 mm sphere on a 0.4 mm grid, sampled at ≤ 1 mm (2.5 → blocks of 2 voxels): area and volume stay
  // within 2 %, the mesh is watertight, and it has far fewer triangles than at full resolution.
  using namespace nervemap;
  Geometry g;
  g.spacing = Vec3(0.4, 0.4, 0.4);
  g.dims = {100, 100, 100};
  g.origin = Vec3(-19.8, -19.8, -19.8);
  MaskVolume m(g, 0);
  for (int64_t k = 0; k < 100; ++k)
    for (int64_t j = 0; j < 100; ++j)
      for (int64_t i = 0; i < 100; ++i)
        if (g.index_to_lps(Vec3(double(i), double(j), double(k))).norm() <= 15.0)
          m.at(i, j, k) = 1;
  mesh::MeshOptions coarse;
  coarse.max_sample_mm = 1.0;
  const auto fine_mesh = mesh::extract_surface(m, 1);
  const auto c = mesh::extract_surface(m, 1, coarse);
  EXPECT_TRUE(mesh::is_watertight(c));
  EXPECT_NEAR(mesh::area_mm2(c), 4 * M_PI * 225, 0.02 * 4 * M_PI * 225);
  EXPECT_NEAR(mesh::volume_ml(c), 4.0 / 3 * M_PI * 3375 / 1000, 0.02 * 4.0 / 3 * M_PI * 3.375);
  EXPECT_LT(c.triangles.size() * 3, fine_mesh.triangles.size());
  Vec3 centre = Vec3::Zero();
  for (const auto& v : c.vertices)
    centre += v / double(c.vertices.size());
  EXPECT_LT(centre.norm(), 0.1);
}
