// Every placement primitive on analytic configurations with known answers, per side, in several grid
// orientations and spacings (the planes are LPS axial planes, whatever the voxel grid).
#include "synthetic.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::test;

using Vec2 = Eigen::Vector2d;

namespace {

std::string rule(const std::string& placement,
                 const std::string& extent,
                 const std::string& order = "cranial_to_caudal") {
  return "nerve: testnerve\ntitle: test\nsides: [left, right]\norder: " + order +
         "\nradius_mm: {value: 1.0, tag: D, note: t}\nsegmentation_sd_mm: {value: 1.0, tag: D, note: t}\n"
         "craniocaudal_sd_mm: {value: 0.0, tag: D, note: t}\nextent:\n" +
         extent + "placement:\n" + placement;
}

const std::string kSd =
    "    sd_mm: {lateral: {value: 2, tag: D, note: t}, anteroposterior: {value: 3, tag: D, note: t}}\n";

struct Orientation {
  std::string name;
  Mat3 direction;
  Vec3 spacing;
};

std::vector<Orientation> orientations() {
  const Mat3 tilt =
      (Eigen::AngleAxisd(0.26, Vec3::UnitX()) * Eigen::AngleAxisd(-0.2, Vec3::UnitZ())).toRotationMatrix();
  return {{"LPS 0.4 mm", Mat3::Identity(), {0.4, 0.4, 0.4}},
          {"RAS 0.4 mm", Vec3(-1, -1, 1).asDiagonal(), {0.4, 0.4, 0.4}},
          {"flipped z, anisotropic", Vec3(1, 1, -1).asDiagonal(), {0.35, 0.45, 1.5}},
          {"oblique 15°/11°", tilt, {0.4, 0.4, 0.4}}};
}

std::vector<nerves::NervePath> run(const LabelMap& m, const std::string& rule_text, Warnings& w) {
  RuleDir dir({{"testnerve.yaml", rule_text}});
  auto rules = nerves::load_rule_base(dir.path());
  return nerves::estimate_nerves(rules, m, nullptr, {}, w);
}

double lateral(const std::string& side) {
  return side == "left" ? 1.0 : -1.0;
}

} // namespace

TEST(Primitives, BetweenCentroidsWithAxisOffsetEverySideAndOrientation) {
  const std::string placement =
      "  - name: between\n    primitive: between\n    a: common_carotid_artery_<side>\n"
      "    b: internal_jugular_vein_<side>\n    t: {value: 0.4, tag: D, note: t}\n"
      "    offsets:\n      - {toward: axis_posterior, mm: {value: 2.0, tag: D, note: t}}\n" +
      kSd;
  const std::string extent =
      "  from: {top_of: common_carotid_artery_<side>}\n  to: {bottom_of: common_carotid_artery_<side>}\n";
  for (const auto& o : orientations()) {
    SCOPED_TRACE(o.name);
    Geometry g = grid({-45, -20, 0}, {45, 20, 30}, o.spacing, o.direction);
    // Artery medial, vein lateral and a little anterior on each side (the carotid sheath).
    std::vector<Shape> shapes;
    for (const std::string side : {"left", "right"}) {
      const double s = lateral(side);
      shapes.push_back(cylinder("common_carotid_artery_" + side, s * 22, 2, 3.3, 2, 28));
      shapes.push_back(cylinder("internal_jugular_vein_" + side, s * 34, -2, 5.2, 2, 28));
    }
    Warnings w;
    auto paths = run(rasterise(g, shapes), rule(placement, extent), w);
    ASSERT_EQ(paths.size(), 2u);
    for (const auto& p : paths) {
      SCOPED_TRACE(p.side);
      ASSERT_TRUE(p.estimated) << p.reason;
      const double s = lateral(p.side);
      const Vec2 ca(s * 22, 2), cb(s * 34, -2);
      Vec2 n(-(cb - ca).y(), (cb - ca).x());
      n.normalize();
      if (n.y() < 0)
        n = -n; // toward posterior (+y)
      const Vec2 expected = ca + 0.4 * (cb - ca) + 2.0 * n;
      for (size_t i = 2; i + 2 < p.path_mm.size(); ++i) {
        EXPECT_NEAR(p.path_mm[i].x(), expected.x(), 0.1);
        EXPECT_NEAR(p.path_mm[i].y(), expected.y(), 0.1);
      }
      EXPECT_GT(p.path_mm.front().z(), p.path_mm.back().z()); // cranial → caudal
    }
  }
}

TEST(Primitives, BetweenWallsIsTheMidpointOfTheGap) {
  const std::string placement =
      "  - name: between walls\n    primitive: between\n    a: common_carotid_artery_<side>\n"
      "    b: internal_jugular_vein_<side>\n    measure: walls\n"
      "    t: {value: 0.5, tag: D, note: t}\n" +
      kSd;
  const std::string extent =
      "  from: {top_of: common_carotid_artery_<side>}\n  to: {bottom_of: common_carotid_artery_<side>}\n";
  // Radii chosen so the voxelised walls fall where the analytic ones do (r = (n + 0.5)·spacing − ε).
  const double h = 0.25, ra = 13.5 * h - 0.01, rb = 20.5 * h - 0.01;
  for (const auto& dir : {Mat3(Mat3::Identity()), Mat3(Vec3(-1, -1, 1).asDiagonal())}) {
    Geometry g = grid({-45, -12, 0}, {45, 12, 12}, {h, h, 1.0}, dir);
    std::vector<Shape> shapes;
    for (const std::string side : {"left", "right"}) {
      shapes.push_back(cylinder("common_carotid_artery_" + side, lateral(side) * 20, 0, ra, 1, 11));
      shapes.push_back(cylinder("internal_jugular_vein_" + side, lateral(side) * 32, 0, rb, 1, 11));
    }
    Warnings w;
    auto paths = run(rasterise(g, shapes), rule(placement, extent), w);
    for (const auto& p : paths) {
      ASSERT_TRUE(p.estimated) << p.reason;
      // Walls at 20 + 3.375 and 32 − 5.125 mm from the midline: the gap's midpoint.
      const double expected = lateral(p.side) * 0.5 * ((20 + 13.5 * h) + (32 - 20.5 * h));
      for (size_t i = 1; i + 1 < p.path_mm.size(); ++i) {
        EXPECT_NEAR(p.path_mm[i].x(), expected, 0.1) << p.side;
        EXPECT_NEAR(p.path_mm[i].y(), 0.0, 0.1) << p.side;
      }
    }
  }
}

TEST(Primitives, GrooveIsAtTheLateralEndOfTheContact) {
  // Trachea block in front, oesophagus block behind, meeting along y = 0; the oesophagus is narrower,
  // so each side has a right-angled groove at x = ±6 mm. The band of points within 2 mm of both walls
  // reaches 2 mm beyond the corner: its lateral end is at x = ±(8.03 − h/2), y ≈ 1.
  const std::string placement =
      "  - name: groove\n    primitive: groove\n    a: trachea\n    b: esophagus\n" + kSd;
  const std::string extent = "  from: {top_of: trachea}\n  to: {bottom_of: trachea}\n";
  for (const auto& o : orientations()) {
    SCOPED_TRACE(o.name);
    Geometry g = grid({-20, -15, 0}, {20, 18, 20}, o.spacing, o.direction);
    // Faces at generic coordinates, so no voxel centre sits exactly on one.
    auto m = rasterise(
        g,
        {box("trachea", {-10, -12, 1}, {10, -0.03, 19}), box("esophagus", {-6.03, 0.03, 1}, {6.03, 12, 19})});
    Warnings w;
    auto paths = run(m, rule(placement, extent, "caudal_to_cranial"), w);
    const double h = std::min(0.5, 0.5 * std::min(o.spacing[0], o.spacing[1]));
    // The voxelised faces lie within half a voxel diagonal of the drawn ones.
    const double tolerance = 0.5 * std::hypot(o.spacing[0], o.spacing[1]) + h;
    for (const auto& p : paths) {
      ASSERT_TRUE(p.estimated) << p.reason;
      EXPECT_LT(p.path_mm.front().z(), p.path_mm.back().z()); // caudal → cranial
      const size_t mid = p.path_mm.size() / 2;
      EXPECT_NEAR(p.path_mm[mid].x(), lateral(p.side) * (8.03 - h / 2), tolerance) << p.side;
      EXPECT_NEAR(p.path_mm[mid].y(), 1.0, tolerance) << p.side;
    }
  }
}

TEST(Primitives, SurfacePointAcrossTheStructureByFractionAndMillimetres) {
  // Anterior scalene as a block 10–20 mm from the midline, anterior face at y = −5.
  const std::string extent =
      "  from: {top_of: anterior_scalene_<side>}\n  to: {bottom_of: anterior_scalene_<side>}\n";
  const std::string by_fraction =
      "  - name: surface\n    primitive: surface\n    structure: anterior_scalene_<side>\n"
      "    surface: anterior\n    along:\n      from: lateral\n      fraction_profile:\n"
      "        - {at: {top_of: anterior_scalene_<side>}, fraction: {value: 0.0, tag: D, note: t}}\n"
      "        - {at: {bottom_of: anterior_scalene_<side>}, fraction: {value: 1.0, tag: D, note: t}}\n" +
      kSd;
  const std::string by_mm =
      "  - name: surface\n    primitive: surface\n    structure: anterior_scalene_<side>\n"
      "    surface: anterior\n    along:\n      from: medial\n      mm_profile:\n"
      "        - {at: {top_of: anterior_scalene_<side>}, mm: {value: 3.0, tag: D, note: t}}\n"
      "    offsets:\n      - {toward: anterior, mm: {value: 1.0, tag: D, note: t}}\n" +
      kSd;
  for (const auto& o : orientations()) {
    SCOPED_TRACE(o.name);
    Geometry g = grid({-25, -10, 0}, {25, 10, 32}, o.spacing, o.direction);
    auto m = rasterise(g,
                       {box("anterior_scalene_left", {10, -5, 1}, {20, 5, 31}),
                        box("anterior_scalene_right", {-20, -5, 1}, {-10, 5, 31})});
    Warnings w;
    for (const auto& p : run(m, rule(by_fraction, extent), w)) {
      ASSERT_TRUE(p.estimated) << p.reason;
      // Path from the top (lateral border, x = ±20) to the bottom (medial border, x = ±10).
      const auto &top = p.path_mm[2], &mid = p.path_mm[p.path_mm.size() / 2];
      const double top_z = p.path_mm.front().z(), bottom_z = p.path_mm.back().z();
      const double f = (top_z - mid.z()) / (top_z - bottom_z);
      EXPECT_NEAR(mid.x(), lateral(p.side) * (20 - 10 * f), 0.35) << p.side;
      EXPECT_NEAR(mid.y(), -5.0, 0.35);
      EXPECT_NEAR(top.x(), lateral(p.side) * (20 - 10 * (top_z - top.z()) / (top_z - bottom_z)), 0.35);
    }
    // Box faces are only as exact as the voxels that draw them: allow half the in-plane spacing.
    const double face_tolerance = std::max(0.1, 0.5 * std::hypot(o.spacing[0], o.spacing[1]));
    for (const auto& p : run(m, rule(by_mm, extent), w)) {
      ASSERT_TRUE(p.estimated) << p.reason;
      for (size_t i = 1; i + 1 < p.path_mm.size(); ++i) {
        EXPECT_NEAR(p.path_mm[i].x(), lateral(p.side) * 13.0, face_tolerance);
        EXPECT_NEAR(p.path_mm[i].y(), -6.0, 0.35);
      }
    }
  }
}

TEST(Waypoints, ExtremeSurfaceAndMidlineAnchors) {
  // A thyroid-like ball per side, a hyoid bar and a cricoid ring block; waypoints at known points.
  const std::string text = R"(nerve: testnerve
title: test
sides: [left, right]
order: cranial_to_caudal
radius_mm: {value: 0.5, tag: D, note: t}
segmentation_sd_mm: {value: 1.0, tag: D, note: t}
craniocaudal_sd_mm: {value: 0.0, tag: D, note: t}
extent:
  from: {top_of: hyoid}
  to: {bottom_of: cricoid_cartilage}
waypoints:
  - name: lateral tip of the hyoid
    anchor: extreme
    structure: hyoid
    toward: lateral
    side_half: true
    sd_mm: {value: 2, tag: D, note: t}
  - name: above the pole
    anchor: extreme
    structure: thyroid_gland
    toward: superior
    side_half: true
    offsets:
      - {toward: superior, mm: {value: 5, tag: D, note: t}}
    sd_mm: {value: 2, tag: D, note: t}
  - name: beside the cricoid
    anchor: midline
    structure: cricoid_cartilage
    at: {middle_of: cricoid_cartilage}
    offsets:
      - {toward: lateral, mm: {value: 18, tag: D, note: t}}
    sd_mm: {value: 2, tag: D, note: t}
)";
  Geometry g = grid({-40, -30, 0}, {40, 20, 80}, {0.5, 0.5, 0.5});
  std::vector<Shape> shapes{box("hyoid", {-20, -20, 68}, {20, -16, 71}),
                            box("cricoid_cartilage", {-8, -10, 20}, {8, 4, 30}),
                            box("trachea", {-8, -10, 5}, {8, 4, 19.9})};
  for (double s : {1.0, -1.0})
    shapes.push_back({"thyroid_gland", [s](const Vec3& p) {
                        return (Vec3((p.x() - s * 16) / 6, (p.y() + 2) / 7, (p.z() - 30) / 20)).norm() <= 1;
                      }});
  Warnings w;
  auto paths = run(rasterise(g, shapes), text, w);
  for (const auto& p : paths) {
    ASSERT_TRUE(p.estimated) << p.reason;
    const double s = lateral(p.side);
    // First point: the hyoid's lateral face centre (x = ±20, y = −18, z = 69.5) within a voxel.
    EXPECT_NEAR(p.path_mm.front().x(), s * 20, 0.5);
    EXPECT_NEAR(p.path_mm.front().y(), -18, 0.5);
    EXPECT_NEAR(p.path_mm.front().z(), 69.5, 0.5);
    // Last point: 18 mm lateral of the midline (x = 0) at mid-cricoid (z = 25), y of the cricoid half's
    // centroid.
    EXPECT_NEAR(p.path_mm.back().x(), s * 18, 0.5);
    EXPECT_NEAR(p.path_mm.back().z(), 25, 0.5);
    EXPECT_NEAR(p.path_mm.back().y(), -3, 0.5);
    // The course passes near the waypoint 5 mm above the pole at (±16, −2, 50 + 5).
    double closest = 1e9;
    for (const auto& q : p.path_mm)
      closest = std::min(closest, (q - Vec3(s * 16, -2, 55)).norm());
    EXPECT_LT(closest, 1.5);
    for (size_t i = 1; i < p.path_mm.size(); ++i)
      EXPECT_LE((p.path_mm[i] - p.path_mm[i - 1]).norm(), 1.0 + 1e-6);
  }
}
