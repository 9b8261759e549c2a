// Physical positions survive storage: the same anatomy written with RAS, LPS, flipped-z and oblique
// affines and different spacings reads back (through the user's import path) to the same LPS
// landmarks, within half a voxel.
#include "anatomy/anatomy.h"
#include "io/io.h"
#include "support/test_support.h"

#include <fstream>
#include <gtest/gtest.h>

using namespace nervemap;
namespace fs = std::filesystem;

namespace {

struct Landmark {
  const char* structure;
  Vec3 centre_lps;
  double radius_mm;
};

// Three balls standing for anatomy: left carotid, right jugular, trachea (LPS mm).
const std::vector<Landmark> kAnatomy{{"common_carotid_artery_left", {24.0, -6.0, 40.0}, 6.0},
                                     {"internal_jugular_vein_right", {-31.0, 2.5, 62.0}, 7.0},
                                     {"trachea", {0.5, -22.0, 18.0}, 8.0}};

struct Variant {
  std::string name;
  Mat3 direction;
  Vec3 spacing;
};

Mat3 rotation(double ax_deg, double az_deg) {
  return (Eigen::AngleAxisd(az_deg * M_PI / 180, Vec3::UnitZ()) * Eigen::AngleAxisd(ax_deg * M_PI / 180, Vec3::UnitX()))
      .toRotationMatrix();
}

std::vector<Variant> variants() {
  return {{"LPS", Mat3::Identity(), {1.0, 1.0, 1.0}},
          {"RAS", Vec3(-1, -1, 1).asDiagonal(), {0.9, 0.9, 1.25}},
          {"flipped_z", Vec3(1, 1, -1).asDiagonal(), {0.8, 0.8, 2.0}},
          {"RAS_flipped_z", Vec3(-1, -1, -1).asDiagonal(), {1.1, 0.7, 1.5}},
          {"oblique", rotation(14, -9), {0.7, 0.9, 2.5}},
          {"oblique_flipped", rotation(-8, 21) * Vec3(1, -1, -1).asDiagonal(), {1.3, 1.1, 0.8}}};
}

//! A grid of the requested orientation covering the anatomy's bounding box (+ margin).
Geometry grid_for(const Variant& v) {
  Vec3 lo(-50, -40, 0), hi(45, 20, 80);
  Geometry g;
  g.direction = v.direction;
  g.spacing = v.spacing;
  // Extent of the box along each voxel axis: project the 8 corners.
  Vec3 mn = Vec3::Constant(1e9), mx = Vec3::Constant(-1e9);
  Mat3 inv = v.direction.inverse();
  for (int c = 0; c < 8; ++c) {
    Vec3 p((c & 1) ? hi[0] : lo[0], (c & 2) ? hi[1] : lo[1], (c & 4) ? hi[2] : lo[2]);
    Vec3 q = inv * p;
    mn = mn.cwiseMin(q);
    mx = mx.cwiseMax(q);
  }
  for (int a = 0; a < 3; ++a)
    g.dims[a] = int64_t(std::ceil((mx[a] - mn[a]) / v.spacing[a])) + 1;
  g.origin = v.direction * mn;
  return g;
}

MaskVolume rasterise(const Geometry& g) {
  MaskVolume m(g, 0);
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        for (const auto& l : kAnatomy)
          if ((p - l.centre_lps).norm() <= l.radius_mm)
            m.at(i, j, k) = uint8_t(anatomy::Catalogue::get().at(l.structure).id);
      }
  return m;
}

void expect_landmarks(const anatomy::StructureMap& map, const Geometry& g, const std::string& how) {
  auto rows = anatomy::summarise(map);
  const double half_voxel = 0.5 * g.spacing.maxCoeff();
  for (const auto& l : kAnatomy) {
    auto row = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.name == l.structure; });
    ASSERT_NE(row, rows.end()) << how << " " << l.structure;
    EXPECT_LT((row->centroid_lps - l.centre_lps).norm(), half_voxel)
        << how << " " << l.structure << " at " << row->centroid_lps.transpose();
  }
}

} // namespace

TEST(OrientationSurvival, SameLandmarksFromEveryAffineAndSpacing) {
  test::TempDir dir;
  LabelTable table;
  for (const auto& l : kAnatomy) {
    const auto& s = anatomy::Catalogue::get().at(l.structure);
    table.add({s.id, s.name, s.rgb});
  }
  for (const auto& v : variants()) {
    SCOPED_TRACE(v.name);
    Geometry g = grid_for(v);
    MaskVolume m = rasterise(g);
    // As a TotalSegmentator --ml file.
    fs::path ml = dir / (v.name + "_ml.nii.gz");
    io::write_nifti(ml, m, &table);
    Geometry read_grid = io::read_nifti_header(ml).geometry;
    EXPECT_LT((read_grid.index_to_lps(Vec3(3, 4, 5)) - g.index_to_lps(Vec3(3, 4, 5))).norm(), 1e-3);
    Warnings w;
    expect_landmarks(anatomy::import_structures(ml, read_grid, {}, w), read_grid, v.name + " --ml");
    // As a TotalSegmentator folder, one 0/1 file per class.
    fs::path folder = dir / (v.name + "_dir");
    fs::create_directories(folder);
    for (const auto& l : kAnatomy) {
      MaskVolume one(g, 0);
      const uint8_t id = uint8_t(anatomy::Catalogue::get().at(l.structure).id);
      for (size_t o = 0; o < m.data.size(); ++o)
        one.data[o] = m.data[o] == id;
      io::write_nifti(folder / (std::string(l.structure) + ".nii.gz"), one);
    }
    expect_landmarks(anatomy::import_structures(folder, read_grid, {}, w), read_grid, v.name + " folder");
    EXPECT_TRUE(w.empty()) << w.items().front();
  }
}

TEST(OrientationSurvival, ResampledMasksKeepTheirLandmarks) {
  // A mask stored obliquely, resampled onto an RAS CT grid: landmarks stay put (within half a voxel of
  // either grid).
  auto vs = variants();
  Geometry ct = grid_for(vs[1]);
  Geometry mask_grid = grid_for(vs[4]);
  test::TempDir dir;
  io::write_nifti(dir / "m.nii.gz", rasterise(mask_grid), nullptr);
  std::ofstream(dir / "m.json") << R"([{"id": 58, "name": "common_carotid_artery_left"},
    {"id": 128, "name": "internal_jugular_vein_right"}, {"id": 16, "name": "trachea"}])";
  anatomy::ImportOptions opt;
  opt.resample_masks = true;
  Warnings w;
  auto map = anatomy::import_structures(dir / "m.nii.gz", ct, opt, w);
  auto rows = anatomy::summarise(map);
  for (const auto& l : kAnatomy) {
    auto row = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.name == l.structure; });
    ASSERT_NE(row, rows.end());
    EXPECT_LT((row->centroid_lps - l.centre_lps).norm(), 0.5 * (ct.spacing.maxCoeff() + mask_grid.spacing.maxCoeff()));
  }
}
