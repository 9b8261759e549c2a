// The phantom's anatomy: every structure present, plausible volumes, tissue HU, and the
// left/right/anterior/posterior relations on every axial level, across seeds (2 mm grids).
#include "phantom/phantom.h"

#include <cmath>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <map>

namespace nervemap::phantom {
namespace {

const std::vector<std::string> kRequired = {"common_carotid_artery_left",
                                            "common_carotid_artery_right",
                                            "internal_carotid_artery_left",
                                            "internal_carotid_artery_right",
                                            "internal_jugular_vein_left",
                                            "internal_jugular_vein_right",
                                            "thyroid_gland",
                                            "trachea",
                                            "esophagus",
                                            "vertebrae_C1",
                                            "vertebrae_C2",
                                            "vertebrae_C3",
                                            "vertebrae_C4",
                                            "vertebrae_C5",
                                            "vertebrae_C6",
                                            "vertebrae_C7",
                                            "vertebrae_T1",
                                            "vertebrae_T2",
                                            "hyoid",
                                            "thyroid_cartilage",
                                            "cricoid_cartilage",
                                            "larynx_air",
                                            "sternocleidomastoid_left",
                                            "sternocleidomastoid_right",
                                            "anterior_scalene_left",
                                            "anterior_scalene_right",
                                            "middle_scalene_left",
                                            "middle_scalene_right",
                                            "prevertebral_left",
                                            "prevertebral_right",
                                            "trapezius_left",
                                            "trapezius_right",
                                            "levator_scapulae_left",
                                            "levator_scapulae_right",
                                            "subclavian_artery_left",
                                            "subclavian_artery_right",
                                            "brachiocephalic_trunk",
                                            "brachiocephalic_vein_left",
                                            "brachiocephalic_vein_right",
                                            "mandible",
                                            "digastric_left",
                                            "digastric_right",
                                            "parotid_gland_left",
                                            "parotid_gland_right",
                                            "submandibular_gland_left",
                                            "submandibular_gland_right",
                                            "inferior_pharyngeal_constrictor",
                                            "clavicula_left",
                                            "clavicula_right",
                                            "rib_left_1",
                                            "rib_right_1",
                                            "styloid_process_left",
                                            "styloid_process_right",
                                            "skull",
                                            "spinal_cord",
                                            "lung_upper_lobe_left",
                                            "lung_upper_lobe_right"};

Options options_2mm(uint64_t seed) {
  Options o;
  o.seed = seed;
  o.spacing_mm = Vec3(2, 2, 2);
  return o;
}

//! Per axial slice (constant LPS z on an LPS grid): voxel count and centroid (x, y) of each label.
struct Slices {
  struct Stat {
    int64_t n = 0;
    double sx = 0, sy = 0;
    double x() const { return sx / double(n); }
    double y() const { return sy / double(n); }
  };
  std::vector<double> z;
  std::vector<std::map<int, Stat>> stats;       // whole structure
  std::vector<std::map<int, Stat>> left, right; // parts with x > 0 / x < 0

  //! Distance (mm) from an in-slice point to the nearest voxel outside the body (air reached from
  //! the border of the slice).
  double depth_under_skin(size_t k, double x, double y) const {
    double best = 1e30;
    for (const auto& q : outside[k])
      best = std::min(best, std::hypot(q.x() - x, q.y() - y));
    return best;
  }
  std::vector<std::vector<Eigen::Vector2d>> outside;

  explicit Slices(const Phantom& p) {
    const auto& g = p.structures.voxels.geometry;
    // Outside air per slice: flood fill from the slice border through voxels below -400 HU.
    for (int64_t k = 0; k < g.dims[2]; ++k) {
      std::vector<uint8_t> seen(size_t(g.dims[0] * g.dims[1]), 0);
      std::vector<std::pair<int64_t, int64_t>> stack;
      for (int64_t i = 0; i < g.dims[0]; ++i)
        stack.push_back({i, 0}), stack.push_back({i, g.dims[1] - 1});
      for (int64_t j = 0; j < g.dims[1]; ++j)
        stack.push_back({0, j}), stack.push_back({g.dims[0] - 1, j});
      std::vector<Eigen::Vector2d> pts;
      while (!stack.empty()) {
        auto [i, j] = stack.back();
        stack.pop_back();
        if (i < 0 || j < 0 || i >= g.dims[0] || j >= g.dims[1])
          continue;
        size_t o = size_t(i + g.dims[0] * j);
        if (seen[o] || p.ct.at(i, j, k) > -400)
          continue;
        seen[o] = 1;
        Vec3 q = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        pts.emplace_back(q.x(), q.y());
        stack.push_back({i + 1, j}), stack.push_back({i - 1, j}), stack.push_back({i, j + 1}),
            stack.push_back({i, j - 1});
      }
      outside.push_back(std::move(pts));
    }
    EXPECT_TRUE(g.direction.isIdentity()) << "relation tests expect an LPS grid";
    for (int64_t k = 0; k < g.dims[2]; ++k) {
      z.push_back(g.index_to_lps(Vec3(0, 0, double(k))).z());
      std::map<int, Stat> all, l, r;
      for (int64_t j = 0; j < g.dims[1]; ++j)
        for (int64_t i = 0; i < g.dims[0]; ++i) {
          int v = p.structures.voxels.at(i, j, k);
          if (!v)
            continue;
          Vec3 q = g.index_to_lps(Vec3(double(i), double(j), double(k)));
          for (auto* m : {&all, q.x() > 0 ? &l : &r}) {
            Stat& s = (*m)[v];
            ++s.n;
            s.sx += q.x();
            s.sy += q.y();
          }
        }
      stats.push_back(all);
      left.push_back(l);
      right.push_back(r);
    }
  }
};

int id(const Phantom& p, const std::string& name) {
  const Label* l = p.structures.table.find(name);
  return l ? l->id : -1;
}

//! Interior voxels (all six neighbours share the label) of a structure: mean CT.
double interior_mean_hu(const Phantom& p, int label, int64_t* count = nullptr) {
  const auto& v = p.structures.voxels;
  const auto& d = v.geometry.dims;
  double sum = 0;
  int64_t n = 0;
  for (int64_t k = 1; k + 1 < d[2]; ++k)
    for (int64_t j = 1; j + 1 < d[1]; ++j)
      for (int64_t i = 1; i + 1 < d[0]; ++i) {
        if (v.at(i, j, k) != label)
          continue;
        if (v.at(i - 1, j, k) != label || v.at(i + 1, j, k) != label || v.at(i, j - 1, k) != label ||
            v.at(i, j + 1, k) != label || v.at(i, j, k - 1) != label || v.at(i, j, k + 1) != label)
          continue;
        sum += p.ct.at(i, j, k);
        ++n;
      }
  if (count)
    *count = n;
  return n ? sum / double(n) : NAN;
}

double mean_hu(const Phantom& p, int label) {
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < p.ct.data.size(); ++i)
    if (p.structures.voxels.data[i] == label)
      sum += p.ct.data[i], ++n;
  return n ? sum / double(n) : NAN;
}

class PhantomAnatomy : public ::testing::Test {
protected:
  static void SetUpTestSuite() { phantom_ = new Phantom(make_phantom(options_2mm(1))); }
  static void TearDownTestSuite() { delete phantom_; }
  static Phantom* phantom_;
};
Phantom* PhantomAnatomy::phantom_ = nullptr;

TEST_F(PhantomAnatomy, EveryListedStructureIsPresentAndNamedByTheCatalogue) {
  const Phantom& p = *phantom_;
  for (const auto& name : kRequired) {
    const Label* l = p.structures.table.find(name);
    ASSERT_NE(l, nullptr) << name << " missing from the label table";
    EXPECT_EQ(l->id, anatomy::Catalogue::get().at(name).id) << name;
    EXPECT_GT(p.truth["structures"][name]["voxels"].get<int64_t>(), 0) << name << " is empty";
  }
}

TEST_F(PhantomAnatomy, VolumesArePlausible) {
  const auto& s = phantom_->truth["structures"];
  auto ml = [&](const std::string& n) { return s[n]["volume_ml"].get<double>(); };
  // Normal thyroid 10–20 ml (Hegedüs 2001); wide bounds for seed variation.
  EXPECT_GE(ml("thyroid_gland"), 8);
  EXPECT_LE(ml("thyroid_gland"), 30);
  for (const char* side : {"left", "right"}) {
    EXPECT_GE(ml(fmt::format("parotid_gland_{}", side)), 8);
    EXPECT_LE(ml(fmt::format("parotid_gland_{}", side)), 40);
    EXPECT_GE(ml(fmt::format("submandibular_gland_{}", side)), 3);
    EXPECT_LE(ml(fmt::format("submandibular_gland_{}", side)), 15);
    // The IJV is larger than the CCA on each side.
    EXPECT_GT(ml(fmt::format("internal_jugular_vein_{}", side)),
              ml(fmt::format("common_carotid_artery_{}", side)));
  }
  for (const char* v : {"vertebrae_C3", "vertebrae_C4", "vertebrae_C5", "vertebrae_C6", "vertebrae_C7"}) {
    EXPECT_GE(ml(v), 4) << v;
    EXPECT_LE(ml(v), 30) << v;
  }
  EXPECT_GE(ml("spinal_cord"), 5);
  EXPECT_LE(ml("spinal_cord"), 30);
}

TEST_F(PhantomAnatomy, TissueHuRanges) {
  const Phantom& p = *phantom_;
  struct Range {
    std::vector<std::string> names;
    double lo, hi;
  };
  const std::vector<Range> interior{
      {{"common_carotid_artery_left",
        "common_carotid_artery_right",
        "subclavian_artery_left",
        "subclavian_artery_right",
        "brachiocephalic_trunk"},
       250,
       400},
      {{"internal_jugular_vein_left", "internal_jugular_vein_right"}, 150, 250},
      {{"thyroid_gland"}, 100, 160},
      {{"sternocleidomastoid_left",
        "sternocleidomastoid_right",
        "trapezius_left",
        "levator_scapulae_right",
        "anterior_scalene_left",
        "esophagus"},
       35,
       65},
      {{"parotid_gland_left", "parotid_gland_right"}, -20, 30},
      {{"submandibular_gland_left", "submandibular_gland_right"}, 40, 70},
      {{"spinal_cord"}, 25, 45},
      {{"lung_upper_lobe_left", "lung_upper_lobe_right"}, -900, -800},
      {{"larynx_air"}, -1030, -900},
  };
  for (const auto& r : interior)
    for (const auto& n : r.names) {
      int64_t count = 0;
      double hu = interior_mean_hu(p, id(p, n), &count);
      ASSERT_GT(count, 5) << n << " has no interior voxels";
      EXPECT_GE(hu, r.lo) << n;
      EXPECT_LE(hu, r.hi) << n;
    }
  // Whole masks: cartilage with its calcified rim, bone with cortex and cancellous core, airway.
  for (const char* n : {"thyroid_cartilage", "cricoid_cartilage"}) {
    EXPECT_GE(mean_hu(p, id(p, n)), 100) << n;
    EXPECT_LE(mean_hu(p, id(p, n)), 300) << n;
  }
  for (const char* n : {"vertebrae_C4", "vertebrae_T1", "mandible", "skull", "clavicula_left"}) {
    EXPECT_GE(mean_hu(p, id(p, n)), 300) << n;
    EXPECT_LE(mean_hu(p, id(p, n)), 1500) << n;
  }
  EXPECT_LT(mean_hu(p, id(p, "trachea")), -500);
  // Air outside the body: the corners of the field of view.
  const auto& d = p.ct.geometry.dims;
  for (int64_t i : {int64_t(0), d[0] - 1})
    for (int64_t j : {int64_t(0), d[1] - 1})
      EXPECT_LT(p.ct.at(i, j, d[2] / 2), -900);
}

TEST_F(PhantomAnatomy, TruthRecordsLandmarksAndLevels) {
  const auto& t = phantom_->truth;
  EXPECT_EQ(t["schema"], "nervemap.phantom-truth/1");
  const auto& lm = t["landmarks"];
  for (const char* k : {"laryngeal_prominence",
                        "carotid_bifurcation_left",
                        "carotid_bifurcation_right",
                        "superior_thyroid_pole_left",
                        "superior_thyroid_pole_right",
                        "thoracic_inlet_z_mm"})
    EXPECT_TRUE(lm.contains(k)) << k;
  // The thoracic inlet is the cranial end of T1 and lies below C7.
  double inlet = lm["thoracic_inlet_z_mm"];
  EXPECT_LT(inlet, lm["vertebra_z_range_mm"]["vertebrae_C7"][1].get<double>());
  EXPECT_GT(inlet, lm["vertebra_z_range_mm"]["vertebrae_T1"][0].get<double>());
  // Vertebrae in cranio-caudal order.
  const char* order[] = {"vertebrae_C2",
                         "vertebrae_C3",
                         "vertebrae_C4",
                         "vertebrae_C5",
                         "vertebrae_C6",
                         "vertebrae_C7",
                         "vertebrae_T1",
                         "vertebrae_T2"};
  for (int i = 0; i + 1 < 8; ++i)
    EXPECT_GT(lm["vertebral_body_z_mm"][order[i]][0].get<double>(),
              lm["vertebral_body_z_mm"][order[i + 1]][1].get<double>());
  // Reference nerves at ~1 mm spacing.
  for (const auto& id : reference_nerve_ids()) {
    ASSERT_TRUE(t["reference_nerves"].contains(id)) << id;
    const auto& pts = t["reference_nerves"][id];
    ASSERT_GT(pts.size(), 10u) << id;
    for (size_t i = 0; i + 1 < pts.size(); ++i) {
      Vec3 a(pts[i][0], pts[i][1], pts[i][2]), b(pts[i + 1][0], pts[i + 1][1], pts[i + 1][2]);
      EXPECT_LE((a - b).norm(), 1.05) << id;
    }
  }
}

//! All relations checked on every axial level where the structures exist.
void check_relations(const Phantom& p, uint64_t seed) {
  SCOPED_TRACE(fmt::format("seed {}", seed));
  Slices s(p);
  const auto& lm = p.truth["landmarks"];
  auto zr = [&](const std::string& v) { return lm["vertebral_body_z_mm"][v]; };
  int compared_ijv = 0, compared_oes = 0, compared_thyroid = 0, compared_spine = 0, compared_scm = 0;
  const int oes = id(p, "esophagus"), tra = id(p, "trachea"), thy = id(p, "thyroid_gland");
  for (size_t k = 0; k < s.z.size(); ++k) {
    const auto& st = s.stats[k];
    auto has = [&](int l, int min = 2) { return st.count(l) && st.at(l).n >= min; };
    const double z = s.z[k];
    for (const char* side : {"left", "right"}) {
      const double sign = std::string(side) == "left" ? 1 : -1;
      int ijv = id(p, fmt::format("internal_jugular_vein_{}", side));
      for (const char* art : {"common_carotid_artery", "internal_carotid_artery"}) {
        int a = id(p, fmt::format("{}_{}", art, side));
        if (has(ijv) && has(a)) {
          ++compared_ijv;
          EXPECT_GT(sign * st.at(ijv).x(), sign * st.at(a).x())
              << "IJV not lateral to " << art << " at z=" << z;
        }
      }
      // Paired structures on their own side (the left brachiocephalic vein crosses the midline).
      for (const char* base : {"common_carotid_artery",
                               "internal_carotid_artery",
                               "internal_jugular_vein",
                               "sternocleidomastoid",
                               "anterior_scalene",
                               "middle_scalene",
                               "prevertebral",
                               "levator_scapulae",
                               "parotid_gland",
                               "submandibular_gland",
                               "digastric",
                               "styloid_process",
                               "lung_upper_lobe",
                               "trapezius"}) {
        int l = id(p, fmt::format("{}_{}", base, side));
        if (has(l)) {
          EXPECT_GT(sign * st.at(l).x(), 0) << base << "_" << side << " on the wrong side at z=" << z;
        }
      }
      // SCM superficial to the carotid sheath: its centroid is closer to the skin than the IJV's.
      int scm = id(p, fmt::format("sternocleidomastoid_{}", side));
      if (has(scm) && has(ijv)) {
        ++compared_scm;
        double d_scm = s.depth_under_skin(k, st.at(scm).x(), st.at(scm).y());
        double d_ijv = s.depth_under_skin(k, st.at(ijv).x(), st.at(ijv).y());
        EXPECT_LT(d_scm, d_ijv) << "SCM not superficial to the IJV at z=" << z << " (" << side << ")";
      }
    }
    if (has(oes) && has(tra)) {
      ++compared_oes;
      EXPECT_GT(st.at(oes).y(), st.at(tra).y()) << "oesophagus not behind the trachea at z=" << z;
    }
    // Vertebral bodies and spinal cord behind the oesophagus.
    if (has(oes))
      for (const char* v : {"vertebrae_C6", "vertebrae_C7", "vertebrae_T1", "vertebrae_T2"}) {
        int vid = id(p, v);
        if (has(vid, 20)) {
          ++compared_spine;
          EXPECT_GT(st.at(vid).y(), st.at(oes).y()) << v << " not behind the oesophagus at z=" << z;
        }
      }
    // Thyroid lobes beside the trachea, one each side.
    if (has(thy) && has(tra) && s.left[k].count(thy) && s.right[k].count(thy) && s.left[k].at(thy).n >= 3 &&
        s.right[k].at(thy).n >= 3) {
      ++compared_thyroid;
      double tx = st.at(tra).x();
      EXPECT_GT(s.left[k].at(thy).x(), tx + 5) << "left lobe not beside the trachea at z=" << z;
      EXPECT_LT(s.right[k].at(thy).x(), tx - 5) << "right lobe not beside the trachea at z=" << z;
      EXPECT_LT(std::abs(s.left[k].at(thy).y() - st.at(tra).y()), 15) << z;
    }
  }
  EXPECT_GT(compared_ijv, 40);
  EXPECT_GT(compared_oes, 20);
  EXPECT_GT(compared_thyroid, 10);
  EXPECT_GT(compared_spine, 10);
  EXPECT_GT(compared_scm, 40);

  // Thyroid at C5–T1: the gland's extent lies between T1's body and the top of C5 (+ a few mm).
  auto thy_z = p.truth["structures"]["thyroid_gland"]["z_range_mm"];
  EXPECT_GE(thy_z[0].get<double>(), zr("vertebrae_T1")[0].get<double>());
  EXPECT_LE(thy_z[1].get<double>(), zr("vertebrae_C5")[1].get<double>() + 6);
  EXPECT_LE(thy_z[0].get<double>(), zr("vertebrae_C7")[1].get<double>());
  EXPECT_GE(thy_z[1].get<double>(), zr("vertebrae_C5")[0].get<double>());

  // Carotid bifurcation between the C3 and C5 levels (Mirjalili 2012: mostly C3, C3–C4).
  for (const char* side : {"left", "right"}) {
    double zb = lm[fmt::format("carotid_bifurcation_{}", side)][2];
    EXPECT_LE(zb, zr("vertebrae_C3")[1].get<double>()) << side;
    EXPECT_GE(zb, zr("vertebrae_C5")[0].get<double>()) << side;
  }
  // Hyoid above the thyroid cartilage above the cricoid; laryngeal prominence in front of the trachea.
  auto ctr = [&](const char* n) { return p.truth["structures"][n]["z_range_mm"]; };
  EXPECT_GT(ctr("hyoid")[1].get<double>(), ctr("thyroid_cartilage")[1].get<double>());
  EXPECT_GT(ctr("thyroid_cartilage")[1].get<double>(), ctr("cricoid_cartilage")[1].get<double>());
  double prominence_y = lm["laryngeal_prominence"][1];
  EXPECT_LT(prominence_y, p.truth["landmarks"]["hyoid_body"][1].get<double>() + 10);
}

TEST_F(PhantomAnatomy, RelationsOnEveryLevelSeed1) {
  check_relations(*phantom_, 1);
}

TEST(PhantomAnatomySeeds, RelationsOnEveryLevelAcrossSeeds) {
  for (uint64_t seed : {2, 3, 5, 8, 13, 21, 34, 55}) {
    Phantom p = make_phantom(options_2mm(seed));
    check_relations(p, seed);
    for (const auto& name : kRequired)
      EXPECT_GT(p.truth["structures"][name]["voxels"].get<int64_t>(), 0) << name << " seed " << seed;
    double thyroid = p.truth["structures"]["thyroid_gland"]["volume_ml"];
    EXPECT_GE(thyroid, 8) << seed;
    EXPECT_LE(thyroid, 30) << seed;
  }
}

} // namespace
} // namespace nervemap::phantom
