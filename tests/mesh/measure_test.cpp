// Measurements, topology checks and Taubin smoothing on meshes built by hand.
#include "mesh/mesh.h"

#include <gtest/gtest.h>
#include <map>
#include <random>

namespace nervemap::mesh {
namespace {

//! Axis-aligned box [lo, hi] as 12 triangles wound outward.
Mesh box_mesh(const Vec3& lo, const Vec3& hi) {
  Mesh m;
  for (int c = 0; c < 8; ++c)
    m.vertices.emplace_back((c & 1) ? hi.x() : lo.x(), (c & 2) ? hi.y() : lo.y(), (c & 4) ? hi.z() : lo.z());
  // Each face as a quad counter-clockwise seen from outside.
  const std::array<std::array<uint32_t, 4>, 6> quads{{{0, 4, 6, 2},   // −x
                                                      {1, 3, 7, 5},   // +x
                                                      {0, 1, 5, 4},   // −y
                                                      {2, 6, 7, 3},   // +y
                                                      {0, 2, 3, 1},   // −z
                                                      {4, 5, 7, 6}}}; // +z
  for (const auto& q : quads) {
    m.triangles.push_back({q[0], q[1], q[2]});
    m.triangles.push_back({q[0], q[2], q[3]});
  }
  return m;
}

Mesh merged(const Mesh& a, const Mesh& b) {
  Mesh m = a;
  const auto offset = uint32_t(a.vertices.size());
  m.vertices.insert(m.vertices.end(), b.vertices.begin(), b.vertices.end());
  for (auto t : b.triangles)
    m.triangles.push_back({t[0] + offset, t[1] + offset, t[2] + offset});
  return m;
}

TEST(Measure, BoxAreaAndVolume) {
  const Mesh m = box_mesh(Vec3(1, 2, 3), Vec3(11, 7, 5)); // 10 × 5 × 2 mm
  EXPECT_NEAR(area_mm2(m), 2 * (50 + 20 + 10), 1e-9);
  EXPECT_NEAR(volume_ml(m), 0.1, 1e-12);
  EXPECT_TRUE(is_watertight(m));
  EXPECT_TRUE(is_manifold(m));
  EXPECT_EQ(component_count(m), 1u);
}

TEST(Measure, VolumeIsSignedByWinding) {
  Mesh m = box_mesh(Vec3(0, 0, 0), Vec3(10, 10, 10));
  for (auto& t : m.triangles)
    std::swap(t[1], t[2]);
  EXPECT_NEAR(volume_ml(m), -1.0, 1e-12);
  EXPECT_TRUE(is_watertight(m)); // inward but consistent
}

TEST(Measure, VolumeDoesNotDependOnWhereTheMeshIs) {
  const Mesh near = box_mesh(Vec3(0, 0, 0), Vec3(3, 4, 5));
  const Mesh far = box_mesh(Vec3(1e5, -2e5, 3e5), Vec3(1e5 + 3, -2e5 + 4, 3e5 + 5));
  EXPECT_NEAR(volume_ml(far), volume_ml(near), 1e-9);
}

TEST(Measure, OpenOrInconsistentMeshesAreNotWatertight) {
  const Mesh closed = box_mesh(Vec3(0, 0, 0), Vec3(1, 1, 1));
  Mesh open = closed;
  open.triangles.pop_back();
  EXPECT_FALSE(is_watertight(open));
  Mesh flipped = closed;
  std::swap(flipped.triangles[3][1], flipped.triangles[3][2]);
  EXPECT_FALSE(is_watertight(flipped));
  Mesh doubled = closed; // a triangle twice: its edges are used three times
  doubled.triangles.push_back(closed.triangles[0]);
  EXPECT_FALSE(is_watertight(doubled));
  Mesh bad_index = closed;
  bad_index.triangles[0][0] = 99;
  EXPECT_FALSE(is_watertight(bad_index));
  Mesh degenerate = closed;
  degenerate.triangles[0] = {0, 0, 1};
  EXPECT_FALSE(is_watertight(degenerate));
  EXPECT_FALSE(is_watertight(Mesh{}));
}

TEST(Measure, TwoBoxesSharingACornerAreWatertightButNotManifold) {
  Mesh a = box_mesh(Vec3(0, 0, 0), Vec3(1, 1, 1));
  Mesh b = box_mesh(Vec3(1, 1, 1), Vec3(2, 2, 2));
  Mesh touching = merged(a, b);
  // Weld b's corner (1, 1, 1) (its vertex 0) onto a's vertex 7.
  const uint32_t b0 = 8;
  for (auto& t : touching.triangles)
    for (auto& v : t)
      if (v == b0)
        v = 7;
  EXPECT_TRUE(is_watertight(touching));
  EXPECT_FALSE(is_manifold(touching));
  EXPECT_EQ(component_count(touching), 1u);

  const Mesh apart = merged(a, box_mesh(Vec3(3, 0, 0), Vec3(4, 1, 1)));
  EXPECT_TRUE(is_manifold(apart));
  EXPECT_EQ(component_count(apart), 2u);
  EXPECT_NEAR(volume_ml(apart), 0.002, 1e-12);
}

//! Unit-sphere-like mesh: an icosahedron subdivided `levels` times, projected to radius r.
Mesh icosphere(double r, int levels) {
  const double t = (1 + std::sqrt(5.0)) / 2;
  Mesh m;
  for (const Vec3& p : {Vec3(-1, t, 0),
                        Vec3(1, t, 0),
                        Vec3(-1, -t, 0),
                        Vec3(1, -t, 0),
                        Vec3(0, -1, t),
                        Vec3(0, 1, t),
                        Vec3(0, -1, -t),
                        Vec3(0, 1, -t),
                        Vec3(t, 0, -1),
                        Vec3(t, 0, 1),
                        Vec3(-t, 0, -1),
                        Vec3(-t, 0, 1)})
    m.vertices.push_back(p.normalized() * r);
  m.triangles = {{0, 11, 5},  {0, 5, 1},  {0, 1, 7},  {0, 7, 10}, {0, 10, 11}, {1, 5, 9}, {5, 11, 4},
                 {11, 10, 2}, {10, 7, 6}, {7, 1, 8},  {3, 9, 4},  {3, 4, 2},   {3, 2, 6}, {3, 6, 8},
                 {3, 8, 9},   {4, 9, 5},  {2, 4, 11}, {6, 2, 10}, {8, 6, 7},   {9, 8, 1}};
  for (int l = 0; l < levels; ++l) {
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> mid;
    auto midpoint = [&](uint32_t a, uint32_t b) {
      const auto key = std::minmax(a, b);
      auto it = mid.find(key);
      if (it != mid.end())
        return it->second;
      m.vertices.push_back((m.vertices[a] + m.vertices[b]).normalized() * r);
      return mid[key] = uint32_t(m.vertices.size() - 1);
    };
    std::vector<std::array<uint32_t, 3>> finer;
    for (const auto& tri : m.triangles) {
      const uint32_t ab = midpoint(tri[0], tri[1]), bc = midpoint(tri[1], tri[2]),
                     ca = midpoint(tri[2], tri[0]);
      finer.push_back({tri[0], ab, ca});
      finer.push_back({tri[1], bc, ab});
      finer.push_back({tri[2], ca, bc});
      finer.push_back({ab, bc, ca});
    }
    m.triangles = finer;
  }
  return m;
}

TEST(Taubin, RemovesNoiseWithoutShrinkingWhileLaplacianShrinks) {
  const double r = 10;
  Mesh noisy = icosphere(r, 4);
  ASSERT_TRUE(is_manifold(noisy));
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0, 0.15);
  for (auto& p : noisy.vertices)
    p += p.normalized() * noise(rng);
  auto radial_rms = [r](const Mesh& m) {
    double s = 0;
    for (const auto& p : m.vertices)
      s += std::pow(p.norm() - r, 2);
    return std::sqrt(s / double(m.vertices.size()));
  };
  const double volume = volume_ml(icosphere(r, 4));

  Mesh taubin = noisy;
  taubin_smooth(taubin, 20, 0.5, -0.53);
  Mesh laplacian = noisy;
  taubin_smooth(laplacian, 20, 0.5, 0.0); // μ = 0: plain Laplacian smoothing
  EXPECT_LT(radial_rms(taubin), 0.5 * radial_rms(noisy));
  EXPECT_NEAR(volume_ml(taubin), volume, 0.01 * volume);
  EXPECT_LT(volume_ml(laplacian), 0.97 * volume);
  EXPECT_EQ(taubin.triangles, noisy.triangles);

  Mesh unchanged = noisy;
  taubin_smooth(unchanged, 0);
  EXPECT_EQ(unchanged.vertices, noisy.vertices);
}

} // namespace
} // namespace nervemap::mesh
