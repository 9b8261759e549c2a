// Evaluating segmentation files: multilabel NIfTI + JSON table, TotalSegmentator folders and --ml files,
// matched by name; tumour labels kept; different grids refused; the JSON document.
#include "eval/eval.h"
#include "io/io.h"
#include "shapes.h"
#include "support/test_support.h"

#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zip.h>

using namespace nervemap;
using namespace nervemap::eval;
using namespace nervemap::eval::test;
using nervemap::test::TempDir;
namespace fs = std::filesystem;

namespace {

const Geometry kGrid = voxel_grid({24, 20, 12}, Vec3(0.8, 1.0, 2.5), oblique(), Vec3(-40, 60, -120));

//! Prediction: a multilabel map with its own raw ids (trachea 5, esophagus 9, GTVp 1) + <stem>.json.
fs::path write_prediction(const TempDir& dir, const Geometry& g = kGrid) {
  MaskVolume v(g, 0);
  box(v, {2, 2, 2}, {6, 6, 6}, 5);
  box(v, {12, 2, 2}, {5, 5, 5}, 9); // one voxel along i off the reference's esophagus
  box(v, {2, 12, 2}, {4, 4, 4}, 1);
  fs::path file = dir / "pred.nii.gz";
  io::write_nifti(file, v);
  std::ofstream(dir / "pred.json") << R"([{"id": 5, "name": "trachea"}, {"id": 9, "name": "esophagus"},
                                          {"id": 1, "name": "GTVp"}, {"id": 3, "name": "mandible"}])";
  return file;
}

//! Reference: a TotalSegmentator folder, one 0/1 mask per class (plus GTVp.nii.gz, an empty mandible and
//! a thyroid the prediction misses).
fs::path write_reference_folder(const TempDir& dir) {
  fs::path folder = dir / "ref";
  fs::create_directories(folder);
  auto write = [&](const std::string& name, Index3 lo, Index3 size) {
    MaskVolume v(kGrid, 0);
    box(v, lo, size);
    io::write_nifti(folder / (name + ".nii.gz"), v);
  };
  write("trachea", {2, 2, 2}, {6, 6, 6});
  write("esophagus", {13, 2, 2}, {5, 5, 5});
  write("GTVp", {2, 12, 2}, {4, 4, 4});
  write("thyroid_gland", {14, 12, 4}, {3, 3, 3});
  write("mandible", {0, 0, 0}, {0, 0, 0});
  return folder;
}

//! A zip of files, each stored under `prefix` + its file name.
void zip_files(const fs::path& zip, const std::vector<fs::path>& files, const std::string& prefix) {
  int error = 0;
  zip_t* z = zip_open(zip.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  ASSERT_NE(z, nullptr);
  for (const auto& f : files) {
    zip_source_t* src = zip_source_file(z, f.c_str(), 0, -1);
    ASSERT_NE(src, nullptr);
    ASSERT_GE(zip_file_add(z, (prefix + f.filename().string()).c_str(), src, ZIP_FL_ENC_UTF_8), 0);
  }
  ASSERT_EQ(zip_close(z), 0);
}

const StructureResult& find(const Evaluation& e, const std::string& name) {
  for (const auto& s : e.structures)
    if (s.name == name)
      return s;
  throw std::runtime_error("no " + name);
}

} // namespace

TEST(EvalFiles, MultilabelAgainstTotalSegmentatorFolderMatchedByName) {
  TempDir dir;
  const fs::path pred = write_prediction(dir), ref = write_reference_folder(dir);
  Warnings warnings;
  Evaluation e = evaluate_files(pred, ref, 1.0, warnings);
  ASSERT_EQ(e.structures.size(), 4u);
  EXPECT_EQ(e.structures[0].name, "GTVp"); // sorted by name (upper case first)
  EXPECT_EQ(find(e, "trachea").metrics.dice, 1.0);
  EXPECT_EQ(find(e, "GTVp").metrics.dice, 1.0);
  const Metrics& eso = find(e, "esophagus").metrics;
  EXPECT_NEAR(eso.dice, 4.0 / 5.0, 1e-12);
  ASSERT_TRUE(eso.hd95_mm);
  // One voxel along i, 0.8 mm, whatever the direction (the NIfTI header stores the affine in float32).
  EXPECT_NEAR(*eso.hd95_mm, 0.8, 1e-5);
  EXPECT_NEAR(eso.volume_ref_ml, 125 * 0.8 * 1.0 * 2.5 / 1000.0, 1e-6);
  const StructureResult& thyroid = find(e, "thyroid_gland");
  EXPECT_FALSE(thyroid.in_pred);
  EXPECT_EQ(thyroid.metrics.dice, 0.0);
  EXPECT_FALSE(thyroid.metrics.hd95_mm);
  EXPECT_EQ(e.empty_in_both, std::vector<std::string>{"mandible"});
  ASSERT_TRUE(e.mean_dice);
  EXPECT_NEAR(*e.mean_dice, (1 + 1 + 0.8 + 0) / 4.0, 1e-12);

  // The JSON document carries the same numbers, the tolerance and null for the missing HD95.
  auto j = nlohmann::json::parse(to_json(e, "pred.nii.gz", "ref", warnings));
  EXPECT_EQ(j["schema"], "nervemap.eval/1");
  EXPECT_EQ(j["tolerance_mm"], 1.0);
  EXPECT_NEAR(j["mean_dice"].get<double>(), 0.7, 1e-6);
  ASSERT_EQ(j["structures"].size(), 4u);
  EXPECT_EQ(j["structures"][1]["name"], "esophagus");
  EXPECT_NEAR(j["structures"][1]["hd95_mm"].get<double>(), 0.8, 1e-4);
  EXPECT_EQ(j["structures"][2]["name"], "thyroid_gland");
  EXPECT_TRUE(j["structures"][2]["hd95_mm"].is_null());
}

TEST(EvalFiles, TotalSegmentatorMlFileAsReference) {
  TempDir dir;
  const fs::path pred = write_prediction(dir);
  // An --ml file: the table travels in the header extension, under yet other raw ids.
  MaskVolume v(kGrid, 0);
  box(v, {2, 2, 2}, {6, 6, 6}, 40);
  LabelTable table;
  table.add({40, "trachea", {}});
  table.add({41, "esophagus", {}});
  io::write_nifti(dir / "ref_ml.nii.gz", v, &table);
  Warnings warnings;
  Evaluation e = evaluate_files(pred, dir / "ref_ml.nii.gz", 2.0, warnings);
  EXPECT_EQ(e.tolerance_mm, 2.0);
  EXPECT_EQ(find(e, "trachea").metrics.dice, 1.0);
  EXPECT_FALSE(find(e, "esophagus").in_ref);
  EXPECT_FALSE(find(e, "GTVp").in_ref);
}

TEST(EvalFiles, DifferentGridsAreRefused) {
  TempDir dir;
  const fs::path ref = write_reference_folder(dir);
  TempDir other;
  Geometry shifted = kGrid;
  shifted.origin += Vec3(0, 0, 5);
  const fs::path pred = write_prediction(other, shifted);
  Warnings warnings;
  try {
    evaluate_files(pred, ref, 1.0, warnings);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("different grids"), std::string::npos) << what;
    EXPECT_NE(what.find(pred.string()), std::string::npos) << what;
  }
  EXPECT_THROW(evaluate_files(dir / "missing.nii.gz", ref, 1.0, warnings), InputError);
  EXPECT_THROW(evaluate_files(pred, pred, -0.5, warnings), UsageError);
}

TEST(EvalFiles, LabelMapWithoutTableIsRefusedByName) {
  TempDir dir;
  const fs::path ref = write_reference_folder(dir);
  MaskVolume v(kGrid, 0);
  box(v, {2, 2, 2}, {6, 6, 6}, 5);
  io::write_nifti(dir / "bare.nii.gz", v);
  Warnings warnings;
  try {
    evaluate_files(dir / "bare.nii.gz", ref, 1.0, warnings);
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("no label table"), std::string::npos) << what;
    EXPECT_NE(what.find("bare.json"), std::string::npos) << what;
  }
}

TEST(EvalFiles, ZippedFolderAndMlFile) {
  TempDir dir;
  const fs::path pred = write_prediction(dir), ref = write_reference_folder(dir);
  std::vector<fs::path> masks;
  for (const auto& e : fs::directory_iterator(ref))
    masks.push_back(e.path());
  zip_files(dir / "ref.zip", masks, "wrapped/"); // masks inside one wrapping folder
  MaskVolume v(kGrid, 0);
  box(v, {2, 2, 2}, {6, 6, 6}, 40);
  LabelTable table;
  table.add({40, "trachea", {}});
  io::write_nifti(dir / "ml.nii.gz", v, &table);
  zip_files(dir / "ml.zip", {dir / "ml.nii.gz"}, "");
  Warnings warnings;
  Evaluation from_zip = evaluate_files(pred, dir / "ref.zip", 1.0, warnings);
  Evaluation from_folder = evaluate_files(pred, ref, 1.0, warnings);
  ASSERT_EQ(from_zip.structures.size(), from_folder.structures.size());
  EXPECT_DOUBLE_EQ(*from_zip.mean_dice, *from_folder.mean_dice);
  Evaluation ml = evaluate_files(dir / "ml.zip", ref, 1.0, warnings);
  EXPECT_EQ(find(ml, "trachea").metrics.dice, 1.0);
  EXPECT_FALSE(find(ml, "esophagus").in_pred);
}
