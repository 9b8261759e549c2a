// The rule base on the phantom family: anatomical relations the estimated courses must keep, across
// seeds, plus the literature check against Hammer 2018 and the plausibility warnings.
#include "anatomy/anatomy.h"
#include "nerves/nerves.h"
#include "phantom/phantom.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <map>

using namespace nervemap;

namespace {

using Vec2 = Eigen::Vector2d;

constexpr int kSeeds = 8;

struct Case {
  phantom::Phantom phantom;
  std::vector<nerves::NervePath> nerves;
  Warnings warnings;
};

const nerves::RuleBase& rules() {
  static const nerves::RuleBase r = nerves::load_rule_base(nerves::default_rules_dir());
  return r;
}

Case make_case(uint64_t seed,
               const Vec3& spacing = Vec3(1.5, 1.5, 1.5),
               phantom::Orientation orientation = phantom::Orientation::lps,
               bool aberrant = false,
               const nerves::PatientKeys& keys = {}) {
  phantom::Options o;
  o.seed = seed;
  o.spacing_mm = spacing;
  o.orientation = orientation;
  o.aberrant_right_subclavian = aberrant;
  Case c{phantom::make_phantom(o), {}, {}};
  nerves::EstimationOptions opt;
  opt.keys = keys;
  c.nerves = nerves::estimate_nerves(rules(), c.phantom.structures, &c.phantom.ct, opt, c.warnings);
  return c;
}

//! The shared family of seeds (built once; each test reads it).
const std::vector<Case>& family() {
  static const std::vector<Case> cases = [] {
    std::vector<Case> v;
    for (int s = 1; s <= kSeeds; ++s)
      v.push_back(make_case(uint64_t(100 + s)));
    return v;
  }();
  return cases;
}

const nerves::NervePath& nerve(const Case& c, const std::string& id) {
  for (const auto& n : c.nerves)
    if (n.id == id)
      return n;
  throw std::runtime_error("no nerve " + id);
}

//! Voxel centres (LPS) of a structure lying within half a voxel of plane z (voxel lists cached per map).
std::vector<Vec2> cut(const LabelMap& m, const std::string& name, double z) {
  static std::map<std::pair<const LabelMap*, std::string>, std::vector<Vec3>> cache;
  auto key = std::make_pair(&m, name);
  auto it = cache.find(key);
  if (it == cache.end()) {
    const int id = anatomy::Catalogue::get().at(name).id;
    const Geometry& g = m.voxels.geometry;
    std::vector<Vec3> pts;
    for (int64_t k = 0; k < g.dims[2]; ++k)
      for (int64_t j = 0; j < g.dims[1]; ++j)
        for (int64_t i = 0; i < g.dims[0]; ++i)
          if (m.voxels.at(i, j, k) == id)
            pts.push_back(g.index_to_lps(Vec3(double(i), double(j), double(k))));
    it = cache.emplace(key, std::move(pts)).first;
  }
  const double half = 0.5 * m.voxels.geometry.spacing.maxCoeff();
  std::vector<Vec2> out;
  for (const auto& p : it->second)
    if (std::abs(p.z() - z) <= half)
      out.emplace_back(p.x(), p.y());
  return out;
}

Vec2 centroid(const std::vector<Vec2>& pts) {
  Vec2 s = Vec2::Zero();
  for (const auto& p : pts)
    s += p;
  return s / double(pts.size());
}

//! The point of a path at height z (linear between the nearest points), if the path reaches z.
std::optional<Vec3> at_z(const nerves::NervePath& n, double z) {
  for (size_t i = 1; i < n.path_mm.size(); ++i) {
    const double a = n.path_mm[i - 1].z(), b = n.path_mm[i].z();
    if ((z - a) * (z - b) <= 0 && std::abs(b - a) > 1e-9)
      return n.path_mm[i - 1] + (n.path_mm[i] - n.path_mm[i - 1]) * ((z - a) / (b - a));
  }
  return std::nullopt;
}

//! Tracheo-oesophageal groove by an independent construction: the midpoint of the most lateral pair of
//! trachea and oesophagus voxels (on the given side) that lie within 3 mm of each other.
std::optional<Vec2> groove(const LabelMap& m, double z, const std::string& side) {
  const auto t = cut(m, "trachea", z), e = cut(m, "esophagus", z);
  if (t.empty() || e.empty())
    return std::nullopt;
  const double s = side == "left" ? 1.0 : -1.0;
  const double mid = centroid(t).x();
  std::optional<Vec2> best;
  double best_x = -1e9;
  for (const auto& a : t)
    for (const auto& b : e) {
      const Vec2 m2 = 0.5 * (a + b);
      if ((a - b).norm() <= 3.0 && s * (m2.x() - mid) > 0 && s * m2.x() > best_x) {
        best_x = s * m2.x();
        best = m2;
      }
    }
  return best;
}

double radius_of_curvature(const Vec3& a, const Vec3& b, const Vec3& c) {
  const double ab = (b - a).norm(), bc = (c - b).norm(), ca = (a - c).norm();
  const double area2 = (b - a).cross(c - a).norm();
  return area2 < 1e-12 ? 1e9 : ab * bc * ca / (2 * area2);
}

} // namespace

TEST(PhantomNerves, EveryNerveIsEstimatedInOnePieceWithoutWarnings) {
  for (const auto& c : family()) {
    for (const auto& n : c.nerves) {
      EXPECT_TRUE(n.estimated) << n.id << ": " << n.reason;
      EXPECT_EQ(n.segments.size(), 1u) << n.id; // every gap ≤ 10 mm bridged
    }
    EXPECT_TRUE(c.warnings.empty()) << c.warnings.items().front();
  }
}

TEST(PhantomNerves, VagusInThePosteriorAngleBetweenCarotidAndJugular) {
  int levels = 0, inside = 0;
  for (const auto& c : family()) {
    const LabelMap& m = c.phantom.structures;
    for (const std::string side : {"left", "right"}) {
      const auto& v = nerve(c, "vagus_" + side);
      for (double z = std::ceil(v.path_mm.back().z()); z <= v.path_mm.front().z(); z += 3) {
        auto artery = cut(m, "internal_carotid_artery_" + side, z);
        if (artery.empty())
          artery = cut(m, "common_carotid_artery_" + side, z);
        const auto vein = cut(m, "internal_jugular_vein_" + side, z);
        const auto p = at_z(v, z);
        if (artery.empty() || vein.empty() || !p)
          continue;
        ++levels;
        const Vec2 ca = centroid(artery), cv = centroid(vein), q(p->x(), p->y());
        const Vec2 axis = (cv - ca).normalized();
        Vec2 normal(-axis.y(), axis.x());
        if (normal.y() < 0)
          normal = -normal; // toward posterior
        const double t = (q - ca).dot(axis) / (cv - ca).norm();
        inside += (q - ca).dot(normal) > 0 && t >= 0 && t <= 1;
      }
    }
  }
  ASSERT_GT(levels, 100);
  const double fraction = double(inside) / levels;
  fmt::print("vagus in the posterior carotid–jugular angle: {:.1f} % of {} levels\n", 100 * fraction, levels);
  EXPECT_GE(fraction, 0.90);
}

TEST(PhantomNerves, RecurrentLaryngealNervesAndTheGroove) {
  int left_levels = 0, left_near = 0, right_high = 0, right_high_near = 0, right_low = 0, right_low_near = 0;
  for (const auto& c : family()) {
    const LabelMap& m = c.phantom.structures;
    const double t1_top = c.phantom.truth["landmarks"]["thoracic_inlet_z_mm"].get<double>();
    const double c7_top =
        c.phantom.truth["landmarks"]["vertebra_z_range_mm"]["vertebrae_C7"][1].get<double>();
    const double cricoid = c.phantom.truth["landmarks"]["cricoid_lower_border_z_mm"].get<double>();
    for (const std::string side : {"left", "right"}) {
      const auto& n = nerve(c, "recurrent_laryngeal_" + side);
      for (double z = std::ceil(t1_top); z <= cricoid; z += 2) {
        const auto g = groove(m, z, side);
        const auto p = at_z(n, z);
        if (!g || !p)
          continue;
        const double d = (Vec2(p->x(), p->y()) - *g).norm();
        if (side == "left") {
          ++left_levels;
          left_near += d <= 10;
        } else if (z > c7_top) {
          ++right_high;
          right_high_near += d <= 10;
        } else {
          ++right_low;
          right_low_near += d <= 15;
        }
      }
    }
  }
  ASSERT_GT(left_levels, 40);
  ASSERT_GT(right_low, 20);
  fmt::print("left RLN within 10 mm of the groove: {:.1f} % of {} levels; right above C7 within 10 mm: "
             "{:.1f} % of {}; "
             "right C7–T1 within 15 mm: {:.1f} % of {}\n",
             100.0 * left_near / left_levels,
             left_levels,
             100.0 * right_high_near / std::max(right_high, 1),
             right_high,
             100.0 * right_low_near / right_low,
             right_low);
  EXPECT_GE(double(left_near) / left_levels, 0.80);
  if (right_high > 0) {
    EXPECT_GE(double(right_high_near) / right_high, 0.80);
  }
  EXPECT_GE(double(right_low_near) / right_low, 0.80);
}

TEST(PhantomNerves, ExternalBranchPassesNearTheSuperiorPole) {
  for (const auto& c : family())
    for (const std::string side : {"left", "right"}) {
      const auto pole_json = c.phantom.truth["landmarks"]["superior_thyroid_pole_" + side];
      const Vec3 pole(pole_json[0].get<double>(), pole_json[1].get<double>(), pole_json[2].get<double>());
      double closest = 1e9;
      for (const auto& p : nerve(c, "superior_laryngeal_external_" + side).path_mm)
        closest = std::min(closest, (p - pole).norm());
      EXPECT_GE(closest, 3.0) << side;
      EXPECT_LE(closest, 16.0) << side;
    }
}

TEST(PhantomNerves, CoursesTurnNoSharperThanFiveMillimetres) {
  for (const auto& c : family())
    for (const auto& n : c.nerves)
      for (size_t i = 2; i + 2 < n.path_mm.size(); ++i)
        ASSERT_GE(radius_of_curvature(n.path_mm[i - 2], n.path_mm[i], n.path_mm[i + 2]), 5.0)
            << n.id << " at " << i;
}

TEST(PhantomNerves, VagusMidlineDistanceAtC5MatchesHammer2018) {
  // Hammer 2018 (Sci Rep 8, doi 10.1038/s41598-018-26135-8): 34.5 ± 6.2 mm from the midline (laryngeal
  // prominence) at C5. The family mean must lie within one SD; every value within two.
  std::vector<double> values;
  for (const auto& c : family()) {
    const auto range = c.phantom.truth["landmarks"]["vertebra_z_range_mm"]["vertebrae_C5"];
    const double z = 0.5 * (range[0].get<double>() + range[1].get<double>());
    const double prominence_x = c.phantom.truth["landmarks"]["laryngeal_prominence"][0].get<double>();
    for (const std::string side : {"left", "right"})
      if (auto p = at_z(nerve(c, "vagus_" + side), z))
        values.push_back(std::abs(p->x() - prominence_x));
  }
  ASSERT_EQ(values.size(), 2u * kSeeds);
  double mean = 0;
  for (double v : values)
    mean += v / double(values.size());
  double sd = 0;
  for (double v : values)
    sd += (v - mean) * (v - mean) / double(values.size() - 1);
  sd = std::sqrt(sd);
  fmt::print(
      "vagus lateral distance from the laryngeal prominence at C5: {:.1f} ± {:.1f} mm (n = {}; Hammer 2018: "
      "34.5 ± 6.2)\n",
      mean,
      sd,
      values.size());
  EXPECT_GE(mean, 34.5 - 6.2);
  EXPECT_LE(mean, 34.5 + 6.2);
  for (double v : values) {
    EXPECT_GE(v, 34.5 - 2 * 6.2);
    EXPECT_LE(v, 34.5 + 2 * 6.2);
  }
}

TEST(PhantomNerves, ObliqueAndAnisotropicScansGiveTheSamePath) {
  const Case lps = make_case(7, Vec3(1.0, 1.0, 1.0), phantom::Orientation::lps);
  const Case oblique = make_case(7, Vec3(1.2, 1.2, 1.2), phantom::Orientation::oblique);
  const Case ras = make_case(7, Vec3(0.8, 0.8, 2.0), phantom::Orientation::ras);
  for (const char* id :
       {"vagus_left", "recurrent_laryngeal_right", "phrenic_left", "sympathetic_trunk_right"}) {
    const auto& ref = nerve(lps, id);
    for (const Case* other : {&oblique, &ras}) {
      const auto& n = nerve(*other, id);
      ASSERT_TRUE(n.estimated) << id;
      double sum = 0;
      int count = 0;
      for (const auto& p : ref.path_mm)
        if (auto q = at_z(n, p.z())) {
          sum += (*q - p).norm();
          ++count;
        }
      ASSERT_GT(count, 20) << id;
      EXPECT_LT(sum / count, 1.5) << id
                                  << ": mean distance between the paths of two grids of the same patient";
    }
  }
}

TEST(PhantomNerves, AberrantRightSubclavianMakesTheRightNerveNonRecurrent) {
  const Case c = make_case(11, Vec3(1.5, 1.5, 1.5), phantom::Orientation::lps, true);
  const auto& right = nerve(c, "recurrent_laryngeal_right");
  ASSERT_TRUE(right.estimated);
  double p_nonrecurrent = 0;
  for (const auto& v : right.variants)
    if (v.name == "non_recurrent")
      p_nonrecurrent = v.probability;
  EXPECT_GT(p_nonrecurrent, 0.8);
  ASSERT_FALSE(right.notes.empty());
  EXPECT_NE(right.notes.back().find("non_recurrent"), std::string::npos);
  bool warned = false;
  for (const auto& w : c.warnings.items())
    warned |= w.find("non-recurrent") != std::string::npos;
  EXPECT_TRUE(warned);
  // The left nerve is unaffected, and without the anomaly the right nerve recurs.
  EXPECT_EQ(nerve(c, "recurrent_laryngeal_left").variants.front().probability, 1.0);
  EXPECT_LT(nerve(family().front(), "recurrent_laryngeal_right").variants.back().probability, 0.01);
}

TEST(PhantomNerves, KeyedVariantFrequenciesFollowPopulationAgeAndSex) {
  auto anterior = [](const Case& c) {
    for (const auto& v : nerve(c, "vagus_left").variants)
      if (v.name == "anterior")
        return v.probability;
    return -1.0;
  };
  EXPECT_NEAR(anterior(make_case(3)), 0.151, 1e-9); // Drakonaki 2021 (default: western)
  nerves::PatientKeys korean_old{"korean", 67, ""};
  EXPECT_NEAR(
      anterior(make_case(3, Vec3(2, 2, 2), phantom::Orientation::lps, false, korean_old)), 0.474, 1e-9);
  nerves::PatientKeys korean_female{"korean", std::nullopt, "F"};
  EXPECT_NEAR(
      anterior(make_case(3, Vec3(2, 2, 2), phantom::Orientation::lps, false, korean_female)), 0.327, 1e-9);
}

TEST(PhantomNerves, PlausibilityWarnings) {
  auto has = [](const Warnings& w, const std::string& text) {
    for (const auto& m : w.items())
      if (m.find(text) != std::string::npos)
        return true;
    return false;
  };
  // Thick slices.
  const Case thick = make_case(5, Vec3(1.5, 1.5, 4.0));
  EXPECT_TRUE(has(thick.warnings, "slices are 4.0 mm apart"));
  // No contrast: the same anatomy with arteries at soft-tissue HU.
  Case plain = make_case(5);
  for (size_t o = 0; o < plain.phantom.ct.data.size(); ++o) {
    const auto* s = anatomy::Catalogue::get().find(plain.phantom.structures.voxels.data[o]);
    if (s && (s->group == "artery" || s->group == "vein"))
      plain.phantom.ct.data[o] = 45.0f;
  }
  Warnings w;
  nerves::estimate_nerves(rules(), plain.phantom.structures, &plain.phantom.ct, {}, w);
  EXPECT_TRUE(has(w, "not contrast-enhanced"));
  EXPECT_FALSE(has(family().front().warnings, "contrast"));
  // A field of view that stops above the thoracic inlet (the scan itself cropped, LPS grid: k along z).
  const LabelMap& full = family().front().phantom.structures;
  const Geometry& g = full.voxels.geometry;
  const int64_t k0 = int64_t(std::ceil((30.0 - g.origin.z()) / g.spacing[2]));
  Geometry cg = g;
  cg.dims[2] = g.dims[2] - k0;
  cg.origin = g.index_to_lps(Vec3(0, 0, double(k0)));
  LabelMap cropped;
  cropped.table = full.table;
  cropped.voxels = MaskVolume(cg, 0);
  for (int64_t k = 0; k < cg.dims[2]; ++k)
    for (int64_t j = 0; j < cg.dims[1]; ++j)
      for (int64_t i = 0; i < cg.dims[0]; ++i)
        cropped.voxels.at(i, j, k) = full.voxels.at(i, j, k + k0);
  Warnings w2;
  auto paths = nerves::estimate_nerves(rules(), cropped, nullptr, {}, w2);
  EXPECT_TRUE(has(w2, "thoracic inlet taken at the caudal end of the scan"))
      << fmt::format("{}", fmt::join(w2.items(), " | "));
  for (const auto& n : paths)
    if (n.nerve == "vagus" || n.nerve == "phrenic") {
      EXPECT_TRUE(n.estimated) << n.id << " should still be estimated over the part that is in the scan";
    }
}
