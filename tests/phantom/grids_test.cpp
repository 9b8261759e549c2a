// Determinism and grid invariance: the same seed gives the same phantom, another seed another
// one, and LPS, RAS and oblique grids show the same patient (centroids within half a voxel).
#include "phantom/phantom.h"

#include <gtest/gtest.h>
#include <map>

namespace nervemap::phantom {
namespace {

Options opts(uint64_t seed, Orientation o = Orientation::lps) {
  Options x;
  x.seed = seed;
  x.spacing_mm = Vec3(2, 2, 2);
  x.orientation = o;
  return x;
}

TEST(PhantomGrids, SameSeedIdenticalOtherSeedDifferent) {
  Phantom a = make_phantom(opts(11)), b = make_phantom(opts(11)), c = make_phantom(opts(12));
  EXPECT_TRUE(a.ct.geometry.same_grid(b.ct.geometry));
  EXPECT_EQ(a.ct.data, b.ct.data);
  EXPECT_EQ(a.structures.voxels.data, b.structures.voxels.data);
  EXPECT_EQ(a.truth.dump(), b.truth.dump());
  EXPECT_NE(a.structures.voxels.data, c.structures.voxels.data);
  EXPECT_NE(a.truth["landmarks"].dump(), c.truth["landmarks"].dump());
}

TEST(PhantomGrids, NoiseIsSeededAndOptional) {
  Options quiet = opts(11);
  quiet.noise_hu = 0;
  Phantom a = make_phantom(quiet), b = make_phantom(opts(11));
  EXPECT_EQ(a.structures.voxels.data, b.structures.voxels.data);
  EXPECT_NE(a.ct.data, b.ct.data);
  Options bad = opts(1);
  bad.noise_hu = -1;
  EXPECT_THROW(make_phantom(bad), InputError);
  Options zero = opts(1);
  zero.spacing_mm = Vec3(0, 1, 1);
  EXPECT_THROW(make_phantom(zero), InputError);
}

struct Centroids {
  std::map<std::string, Vec3> centre;
  std::map<std::string, int64_t> count;
  std::map<std::string, bool> touches_border;
};

Centroids centroids(const Phantom& p) {
  Centroids c;
  const auto& v = p.structures.voxels;
  const auto& g = v.geometry;
  std::map<int, Vec3> sum;
  std::map<int, int64_t> n;
  std::map<int, bool> border;
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        int l = v.at(i, j, k);
        if (!l)
          continue;
        Vec3 q = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        if (!sum.count(l))
          sum[l] = Vec3::Zero();
        sum[l] += q;
        ++n[l];
        if (i == 0 || j == 0 || k == 0 || i == g.dims[0] - 1 || j == g.dims[1] - 1 || k == g.dims[2] - 1)
          border[l] = true;
      }
  for (const auto& [l, s] : sum) {
    std::string name = p.structures.table.find(l)->name;
    c.centre[name] = s / double(n[l]);
    c.count[name] = n[l];
    c.touches_border[name] = border[l];
  }
  return c;
}

TEST(PhantomGrids, LpsRasAndObliqueGridsShowTheSamePatient) {
  Phantom lps = make_phantom(opts(5, Orientation::lps));
  Phantom ras = make_phantom(opts(5, Orientation::ras));
  Phantom obl = make_phantom(opts(5, Orientation::oblique));
  EXPECT_TRUE(ras.ct.geometry.direction.isApprox(Vec3(-1, -1, 1).asDiagonal().toDenseMatrix()));
  EXPECT_LT(obl.ct.geometry.direction(2, 2), 0) << "oblique grid: k runs inferior";
  EXPECT_FALSE(obl.ct.geometry.direction.cwiseAbs().isIdentity(1e-3));
  Centroids a = centroids(lps), b = centroids(ras), c = centroids(obl);
  const double half_voxel = 0.5 * 2.0;
  int compared = 0;
  for (const auto& [name, centre] : a.centre) {
    if (a.touches_border[name] || b.touches_border[name] || c.touches_border[name] || a.count[name] < 30)
      continue;
    ASSERT_TRUE(b.centre.count(name) && c.centre.count(name)) << name;
    EXPECT_LT((centre - b.centre[name]).norm(), half_voxel) << name << " LPS vs RAS";
    EXPECT_LT((centre - c.centre[name]).norm(), half_voxel) << name << " LPS vs oblique";
    ++compared;
  }
  EXPECT_GE(compared, 25);
  // Truth is grid independent: landmarks and reference nerves agree exactly.
  EXPECT_EQ(lps.truth["landmarks"]["carotid_bifurcation_left"],
            obl.truth["landmarks"]["carotid_bifurcation_left"]);
  EXPECT_EQ(lps.truth["reference_nerves"], ras.truth["reference_nerves"]);
}

} // namespace
} // namespace nervemap::phantom
