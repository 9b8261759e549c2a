// Tumours beside the reference nerves: the rasterised surface sits gap_mm from the nerve (± one
// voxel diagonal), only soft tissue is replaced, HECKTOR values, unknown nerves rejected; and the
// aberrant right subclavian option.
#include "phantom/internal_blocks.h"

#include <cmath>
#include <fmt/format.h>
#include <gtest/gtest.h>

namespace nervemap::phantom {
namespace {

std::vector<Vec3> nerve_points(const Phantom& p, const std::string& id) {
  std::vector<Vec3> pts;
  for (const auto& q : p.truth["reference_nerves"][id])
    pts.emplace_back(q[0].get<double>(), q[1].get<double>(), q[2].get<double>());
  return pts;
}

double min_distance(const Phantom& p, int value, const std::vector<Vec3>& nerve, int64_t* count) {
  const auto& g = p.tumour.geometry;
  double best = 1e30;
  *count = 0;
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i)
        if (p.tumour.at(i, j, k) == value) {
          ++*count;
          best = std::min(
              best,
              detail::distance_to_polyline(g.index_to_lps(Vec3(double(i), double(j), double(k))), nerve));
        }
  return best;
}

TEST(PhantomTumour, SurfaceLiesAtTheRequestedGapFromEachNerve) {
  struct Case {
    const char* nerve;
    double gap, radius;
    int label;
  };
  const Case cases[] = {{"vagus_left", 3, 12, 2},
                        {"vagus_right", 0, 10, 2},
                        {"recurrent_laryngeal_left", 2, 8, 1},
                        {"recurrent_laryngeal_right", 5, 9, 1},
                        {"accessory_left", 4, 10, 2},
                        {"superior_laryngeal_external_right", 6, 7, 1}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.nerve);
    Options o;
    o.seed = 3;
    o.spacing_mm = Vec3(1.5, 1.5, 2.0);
    o.tumours.push_back({c.nerve, c.gap, c.radius, c.label});
    Phantom p = make_phantom(o);
    int64_t n = 0;
    double d = min_distance(p, c.label, nerve_points(p, c.nerve), &n);
    const double diag = o.spacing_mm.norm();
    EXPECT_GT(n, 50);
    EXPECT_NEAR(d, c.gap, diag);
    EXPECT_NEAR(p.truth["tumours"][0]["measured_min_distance_mm"].get<double>(), d, 1e-6);
    EXPECT_EQ(p.truth["tumours"][0]["label"], c.label == 1 ? "GTVp" : "GTVn");
    // Volume roughly that of the (lobulated) sphere, minus protected voxels.
    double sphere = 4.0 / 3.0 * M_PI * std::pow(c.radius, 3) / 1000.0;
    double ml = p.truth["tumours"][0]["volume_ml"].get<double>();
    EXPECT_GT(ml, 0.4 * sphere);
    EXPECT_LT(ml, 1.8 * sphere);
    // Only soft tissue was replaced: no tumour voxel carries a structure label, and the vessels,
    // bones and airway are intact (no tumour voxel at vessel/bone/air HU before noise is hard to
    // check, so check labels and HU of the tumour voxels instead).
    double hu = 0;
    for (size_t i = 0; i < p.tumour.data.size(); ++i)
      if (p.tumour.data[i]) {
        EXPECT_EQ(p.structures.voxels.data[i], 0);
        hu += p.ct.data[i];
      }
    hu /= double(n);
    EXPECT_GT(hu, 20);
    EXPECT_LT(hu, 110);
  }
}

TEST(PhantomTumour, VesselsAndBonesAreNeverReplaced) {
  Options plain;
  plain.seed = 4;
  plain.spacing_mm = Vec3(2, 2, 2);
  plain.noise_hu = 0;
  Options with = plain;
  with.tumours.push_back({"vagus_right", 1, 18, 2});
  with.tumours.push_back({"sympathetic_trunk_left", 1, 12, 1});
  Phantom a = make_phantom(plain), b = make_phantom(with);
  int64_t replaced = 0;
  for (size_t i = 0; i < a.structures.voxels.data.size(); ++i) {
    if (!b.tumour.data[i] || !a.structures.voxels.data[i])
      continue;
    ++replaced;
    const std::string& name = a.structures.table.find(a.structures.voxels.data[i])->name;
    for (const char* forbidden : {"artery",
                                  "vein",
                                  "vertebrae",
                                  "trachea",
                                  "larynx",
                                  "cartilage",
                                  "skull",
                                  "mandible",
                                  "cord",
                                  "lung",
                                  "trunk",
                                  "clavicula",
                                  "rib_"})
      EXPECT_EQ(name.find(forbidden), std::string::npos) << name << " replaced by tumour";
  }
  EXPECT_GT(replaced, 0) << "the tumours should replace some muscle or gland";
  EXPECT_EQ(b.truth["tumours"].size(), 2u);
}

TEST(PhantomTumour, UnknownNerveIsAnInputErrorListingKnownOnes) {
  Options o;
  o.spacing_mm = Vec3(3, 3, 3);
  o.tumours.push_back({"vagus_middle", 3, 10, 2});
  try {
    make_phantom(o);
    FAIL() << "no error";
  } catch (const InputError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("vagus_middle"), std::string::npos);
    EXPECT_NE(m.find("recurrent_laryngeal_left"), std::string::npos);
  }
}

TEST(PhantomAberrant, NoBrachiocephalicTrunkAndRightSubclavianBehindTheOesophagus) {
  Options o;
  o.seed = 6;
  o.spacing_mm = Vec3(2, 2, 2);
  Phantom normal = make_phantom(o);
  o.aberrant_right_subclavian = true;
  Phantom ab = make_phantom(o);
  EXPECT_GT(normal.truth["structures"]["brachiocephalic_trunk"]["voxels"].get<int64_t>(), 0);
  EXPECT_FALSE(ab.structures.table.find("brachiocephalic_trunk"));
  const auto& g = ab.structures.voxels.geometry;
  const int rsa = ab.structures.table.find("subclavian_artery_right")->id;
  const int oes = ab.structures.table.find("esophagus")->id;
  const int rcca = ab.structures.table.find("common_carotid_artery_right")->id;
  // On some level the right subclavian lies behind the oesophagus, crossing the midline; in the
  // normal phantom it never does.
  auto behind_levels = [&](const Phantom& p, int artery) {
    int levels = 0;
    for (int64_t k = 0; k < g.dims[2]; ++k) {
      double ay = 0, oy = 0, ax_min = 1e9, ax_max = -1e9;
      int64_t an = 0, on = 0;
      for (int64_t j = 0; j < g.dims[1]; ++j)
        for (int64_t i = 0; i < g.dims[0]; ++i) {
          int v = p.structures.voxels.at(i, j, k);
          Vec3 q = g.index_to_lps(Vec3(double(i), double(j), double(k)));
          if (v == artery && std::abs(q.x()) < 12) // the part of the artery near the midline
            ay += q.y(), ++an, ax_min = std::min(ax_min, q.x()), ax_max = std::max(ax_max, q.x());
          if (v == oes)
            oy += q.y(), ++on;
        }
      if (an >= 3 && on && ay / double(an) > oy / double(on) + 3 && ax_min < 0 && ax_max > 0)
        ++levels;
    }
    return levels;
  };
  EXPECT_GT(behind_levels(ab, rsa), 0);
  EXPECT_EQ(behind_levels(normal, normal.structures.table.find("subclavian_artery_right")->id), 0);
  // The right CCA rises from below the field of view instead of from the trunk.
  double low_ab = ab.truth["structures"]["common_carotid_artery_right"]["z_range_mm"][0];
  double low_normal = normal.truth["structures"]["common_carotid_artery_right"]["z_range_mm"][0];
  EXPECT_LT(low_ab, low_normal - 5);
  (void)rcca;
  EXPECT_EQ(ab.truth["options"]["aberrant_right_subclavian"], true);
}

} // namespace
} // namespace nervemap::phantom
