#include "anatomy/anatomy.h"
#include "io/io.h"
#include "support/test_support.h"

#include <fstream>
#include <gtest/gtest.h>
#include <zip.h>

using namespace nervemap;
namespace fs = std::filesystem;

namespace {

fs::path ts_ml() { return test::shared_path("fixtures/geometry/ts_ml/multilabel.nii.gz"); }
fs::path ts_dir() { return test::shared_path("fixtures/geometry/ts_dir"); }

Geometry fixture_grid() { return io::read_nifti_header(ts_ml()).geometry; }

const anatomy::StructureSummary& row(const std::vector<anatomy::StructureSummary>& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.name == name)
      return r;
  throw std::runtime_error("no row " + name);
}

void expect_matches_fixture(const anatomy::StructureMap& map, const nlohmann::json& expected) {
  auto rows = anatomy::summarise(map);
  for (const auto& [name, e] : expected.items()) {
    SCOPED_TRACE(name);
    const auto& r = row(rows, name);
    EXPECT_EQ(r.id, anatomy::Catalogue::get().at(name).id);
    EXPECT_EQ(r.voxels, e.at("voxel_count").get<int64_t>());
    auto c = e.at("centroid_lps_mm");
    for (int a = 0; a < 3; ++a)
      EXPECT_NEAR(r.centroid_lps[a], c[size_t(a)].get<double>(), 1e-3);
  }
}

// Per-class expectations keyed by name, from either sidecar layout.
nlohmann::json expected_classes() {
  nlohmann::json j = test::read_json(test::shared_path("fixtures/geometry/ts_dir_expected.json"));
  nlohmann::json out = nlohmann::json::object();
  const auto& classes = j.contains("classes") ? j["classes"] : j;
  if (classes.is_array()) {
    for (const auto& c : classes)
      out[c.at("name").get<std::string>()] = c;
  } else {
    for (const auto& [k, v] : classes.items())
      if (v.is_object() && v.contains("voxel_count"))
        out[k] = v;
  }
  return out;
}

void write_mask(const fs::path& file, const Geometry& g, const std::vector<Index3>& voxels, uint8_t value = 1) {
  MaskVolume m(g, 0);
  for (const auto& v : voxels)
    m.at(v[0], v[1], v[2]) = value;
  io::write_nifti(file, m);
}

Geometry small_grid() {
  Geometry g;
  g.dims = {10, 12, 8};
  g.spacing = Vec3(1.5, 1.5, 2.0);
  g.origin = Vec3(-7, -9, 100);
  return g;
}

} // namespace

TEST(ImportStructures, TotalSegmentatorFolder) {
  Warnings w;
  auto map = anatomy::import_structures(ts_dir(), fixture_grid(), {}, w);
  EXPECT_TRUE(w.empty()) << w.items().front();
  auto expected = expected_classes();
  ASSERT_EQ(expected.size(), 5u);
  expect_matches_fixture(map, expected);
  // Catalogue ids in the voxels, not the file's 0/1.
  EXPECT_EQ(map.histogram()[size_t(anatomy::Catalogue::get().at("trachea").id)], 720);
}

TEST(ImportStructures, TotalSegmentatorMlFileUsesItsXmlTable) {
  Warnings w;
  auto map = anatomy::import_structures(ts_ml(), fixture_grid(), {}, w);
  EXPECT_TRUE(w.empty());
  expect_matches_fixture(map, expected_classes());
  EXPECT_EQ(map.histogram()[4], 0); // file value 4 (CCA left) became catalogue id 58
  EXPECT_EQ(map.histogram()[58], 416);
}

TEST(ImportStructures, MultilabelWithJsonTableBesideOrGiven) {
  test::TempDir dir;
  Geometry g = small_grid();
  MaskVolume m(g, 0);
  m.at(1, 1, 1) = 3;
  m.at(2, 2, 2) = 3;
  m.at(5, 5, 5) = 7;
  m.at(6, 6, 6) = 9; // no name in the table
  io::write_nifti(dir / "seg.nii.gz", m);
  Warnings w0;
  EXPECT_THROW(anatomy::import_structures(dir / "seg.nii.gz", g, {}, w0), InputError);

  std::ofstream(dir / "seg.json") << R"([{"id": 3, "name": "trachea"}, {"id": 7, "name": "Oesophagus"}])";
  Warnings w;
  auto map = anatomy::import_structures(dir / "seg.nii.gz", g, {}, w);
  EXPECT_EQ(map.voxels.at(1, 1, 1), 16);
  EXPECT_EQ(map.voxels.at(5, 5, 5), 15);
  EXPECT_EQ(map.voxels.at(6, 6, 6), 0);
  ASSERT_EQ(w.items().size(), 1u);
  EXPECT_NE(w.items()[0].find("9"), std::string::npos);

  std::ofstream(dir / "other.json") << R"({"3": "thyroid_gland", "7": "not_a_structure"})";
  anatomy::ImportOptions opt;
  opt.label_table_file = dir / "other.json";
  Warnings w2;
  map = anatomy::import_structures(dir / "seg.nii.gz", g, opt, w2);
  EXPECT_EQ(map.voxels.at(1, 1, 1), 17);
  EXPECT_EQ(map.voxels.at(5, 5, 5), 0);
  EXPECT_FALSE(w2.empty());

  opt.label_table_file.reset();
  opt.label_table_task = "total"; // a TotalSegmentator task's class map
  map = anatomy::import_structures(dir / "seg.nii.gz", g, opt, w2);
  EXPECT_EQ(map.voxels.at(1, 1, 1), 3); // total id 3 = kidney_left = stable id 3
  EXPECT_EQ(map.table.find(3)->name, "kidney_left");

  std::ofstream(dir / "broken.json") << "{ not json";
  opt.label_table_task.reset();
  opt.label_table_file = dir / "broken.json";
  EXPECT_THROW(anatomy::import_structures(dir / "seg.nii.gz", g, opt, w2), InputError);
}

TEST(ImportStructures, MaskOnAnotherGridNeedsResampling) {
  test::TempDir dir;
  Geometry ct = small_grid();
  Geometry shifted = ct;
  shifted.origin += Vec3(1.5, 0, 0); // one voxel to the patient's left
  fs::create_directories(dir / "seg");
  write_mask(dir / "seg" / "trachea.nii.gz", shifted, {{2, 3, 4}});
  Warnings w;
  try {
    anatomy::import_structures(dir / "seg", ct, {}, w);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--resample-masks"), std::string::npos);
  }
  anatomy::ImportOptions opt;
  opt.resample_masks = true;
  auto map = anatomy::import_structures(dir / "seg", ct, opt, w);
  EXPECT_EQ(map.voxels.at(3, 3, 4), 16); // same physical point, one index further on the CT grid
  EXPECT_EQ(map.histogram()[16], 1);
}

TEST(ImportStructures, OverlapsKeepTheSmallerStructureAndWarn) {
  test::TempDir dir;
  Geometry g = small_grid();
  fs::create_directories(dir / "seg");
  write_mask(dir / "seg" / "thyroid_gland.nii.gz", g, {{1, 1, 1}, {2, 1, 1}, {3, 1, 1}});
  write_mask(dir / "seg" / "trachea.nii.gz", g, {{3, 1, 1}});
  write_mask(dir / "seg" / "unknown_thing.nii.gz", g, {{5, 5, 5}});
  Warnings w;
  auto map = anatomy::import_structures(dir / "seg", g, {}, w);
  EXPECT_EQ(map.voxels.at(3, 1, 1), 16);
  EXPECT_EQ(map.voxels.at(2, 1, 1), 17);
  EXPECT_EQ(map.voxels.at(5, 5, 5), 0);
  ASSERT_EQ(w.items().size(), 2u);
  EXPECT_NE(w.items()[0].find("unknown_thing"), std::string::npos);
  EXPECT_NE(w.items()[1].find("1 voxels"), std::string::npos);
}

TEST(ImportStructures, ZipWithWrappingFolder) {
  test::TempDir dir;
  fs::path zip_path = dir / "seg.zip";
  int err = 0;
  zip_t* z = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  for (const char* name : {"trachea", "esophagus"}) {
    zip_source_t* src = zip_source_file(z, (ts_dir() / (std::string(name) + ".nii.gz")).c_str(), 0, -1);
    ASSERT_GE(zip_file_add(z, (std::string("case01/") + name + ".nii.gz").c_str(), src, ZIP_FL_OVERWRITE), 0);
  }
  ASSERT_EQ(zip_close(z), 0);
  Warnings w;
  auto map = anatomy::import_structures(zip_path, fixture_grid(), {}, w);
  auto h = map.histogram();
  EXPECT_EQ(h[16], 720);
  EXPECT_EQ(h[15], 364);
}

TEST(ImportStructures, MissingOrEmptyInputsAreClearErrors) {
  test::TempDir dir;
  Warnings w;
  EXPECT_THROW(anatomy::import_structures(dir / "nope", small_grid(), {}, w), InputError);
  fs::create_directories(dir / "empty");
  EXPECT_THROW(anatomy::import_structures(dir / "empty", small_grid(), {}, w), InputError);
}

TEST(ImportTumour, HecktorValuesAndBinaryMasks) {
  test::TempDir dir;
  Geometry g = small_grid();
  MaskVolume m(g, 0);
  m.at(1, 1, 1) = 1;
  m.at(2, 2, 2) = 2;
  io::write_nifti(dir / "t.nii.gz", m);
  Warnings w;
  auto t = anatomy::import_tumour(dir / "t.nii.gz", g, false, false, w);
  EXPECT_EQ(t.voxels.at(1, 1, 1), anatomy::kGtvpId);
  EXPECT_EQ(t.voxels.at(2, 2, 2), anatomy::kGtvnId);
  EXPECT_EQ(t.table.find(anatomy::kGtvnId)->name, "GTVn");

  m.at(2, 2, 2) = 0;
  io::write_nifti(dir / "b.nii.gz", m);
  EXPECT_EQ(anatomy::import_tumour(dir / "b.nii.gz", g, false, false, w).voxels.at(1, 1, 1), anatomy::kGtvpId);
  EXPECT_EQ(anatomy::import_tumour(dir / "b.nii.gz", g, true, false, w).voxels.at(1, 1, 1), anatomy::kGtvnId);

  m.at(3, 3, 3) = 5;
  io::write_nifti(dir / "bad.nii.gz", m);
  EXPECT_THROW(anatomy::import_tumour(dir / "bad.nii.gz", g, false, false, w), InputError);
}

TEST(ResampleNearest, MapsPhysicalPositionsBetweenOrientations) {
  Geometry lps = small_grid();
  MaskVolume m(lps, 0);
  m.at(2, 3, 4) = 9;
  // The same box stored RAS-style: axes flipped in x and y, origin at the opposite corner.
  Geometry ras = lps;
  ras.direction = Vec3(-1, -1, 1).asDiagonal();
  ras.origin = lps.index_to_lps(Vec3(lps.dims[0] - 1, lps.dims[1] - 1, 0));
  MaskVolume r = anatomy::resample_nearest(m, ras);
  EXPECT_EQ(r.at(lps.dims[0] - 1 - 2, lps.dims[1] - 1 - 3, 4), 9);
  int64_t n = 0;
  for (auto v : r.data)
    n += v != 0;
  EXPECT_EQ(n, 1);
}
