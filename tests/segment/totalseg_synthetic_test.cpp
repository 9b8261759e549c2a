// The TotalSegmentator presets end to end on a synthetic TotalSegmentator home (tiny threshold models
// under the real dataset folder names and class maps, see synthetic_home.h): the crop region from the
// rough pass, the reorientation (the same image stored LPS and RAS gives the same labels in space), the
// resampling back onto the input grid, the merge of part models by class name, roi_subset, missing
// weights, and the catalogue merge used by `run --models`.
#include "synthetic_home.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::segment;
using namespace nervemap::segment::test;

namespace {

class SyntheticHome : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new nervemap::test::TempDir();
    write_synthetic_home(dir_->path() / "nnunet" / "results", default_choices());
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { detail::set_compute_threads(2); }

  static Segmentation run(const std::string& task, const CtVolume& ct, TaskOptions t, Warnings& w) {
    t.models_dir = dir_->path(); // a TotalSegmentator home: nnunet/results inside
    InferenceOptions o;
    o.threads = 2;
    return predict_task(task, ct, t, o, w);
  }
  static std::array<int64_t, 256> histogram(const MaskVolume& m) {
    std::array<int64_t, 256> h{};
    for (uint8_t v : m.data)
      ++h[v];
    return h;
  }
  static nervemap::test::TempDir* dir_;
};

nervemap::test::TempDir* SyntheticHome::dir_ = nullptr;

int id_of(const std::string& task, const std::string& name) {
  for (const auto& [id, n] : anatomy::Catalogue::get().task_classes(task))
    if (n == name)
      return id;
  return -1;
}

} // namespace

TEST_F(SyntheticHome, FastTotalLabelsTheBoneOnTheInputGrid) {
  const CtVolume ct = synthetic_ct();
  TaskOptions t;
  t.fast = true;
  Warnings w;
  const Segmentation s = run("total", ct, t, w);
  EXPECT_TRUE(s.labels.geometry.same_grid(ct.geometry));
  EXPECT_EQ(s.table.size(), 117u);
  const auto h = histogram(s.labels);
  const int skull = id_of("total", "skull");
  EXPECT_EQ(h[0] + h[size_t(skull)], int64_t(s.labels.data.size())); // nothing else
  // Most bone voxels are skull, no air voxel is.
  int64_t bone = 0, bone_hit = 0, air_hit = 0;
  for (size_t i = 0; i < ct.data.size(); ++i) {
    bone += ct.data[i] > 500;
    bone_hit += ct.data[i] > 500 && s.labels.data[i] == skull;
    air_hit += ct.data[i] < -500 && s.labels.data[i] == skull;
  }
  EXPECT_GT(double(bone_hit), 0.8 * double(bone));
  EXPECT_EQ(air_hit, 0);
}

TEST_F(SyntheticHome, TheSameImageStoredLpsOrRasGivesTheSameLabels) {
  const CtVolume lps = synthetic_ct();
  const CtVolume ras = synthetic_ct(Vec3(-1, -1, 1).asDiagonal());
  const int64_t ni = lps.geometry.dims[0], nj = lps.geometry.dims[1], nk = lps.geometry.dims[2];
  ASSERT_EQ(lps.at(3, 5, 7), ras.at(ni - 1 - 3, nj - 1 - 5, 7));
  TaskOptions t;
  t.fast = true;
  Warnings w;
  const Segmentation a = run("total", lps, t, w), b = run("total", ras, t, w);
  EXPECT_TRUE(b.labels.geometry.same_grid(ras.geometry));
  int64_t differ = 0, labelled = 0;
  for (int64_t k = 0; k < nk; ++k)
    for (int64_t j = 0; j < nj; ++j)
      for (int64_t i = 0; i < ni; ++i) {
        differ += a.labels.at(i, j, k) != b.labels.at(ni - 1 - i, nj - 1 - j, k);
        labelled += a.labels.at(i, j, k) != 0;
      }
  EXPECT_GT(labelled, 0);
  EXPECT_EQ(differ, 0);
}

TEST_F(SyntheticHome, FivePartModelsMergeByClassNameLaterPartsWin) {
  const CtVolume ct = synthetic_ct();
  Warnings w;
  const Segmentation s = run("total", ct, {}, w);
  EXPECT_EQ(s.models.size(), 5u);
  const auto h = histogram(s.labels);
  const int skull = id_of("total", "skull"), trachea = id_of("total", "trachea");
  EXPECT_EQ(skull, 91);
  EXPECT_EQ(trachea, 16);
  // part 1 (trachea, z > 1) covers everything part 4 (skull, z > 2) labels; part 4 runs later and wins
  EXPECT_GT(h[size_t(skull)], 0);
  EXPECT_GT(h[size_t(trachea)], 0);
  EXPECT_EQ(h[0] + h[size_t(skull)] + h[size_t(trachea)], int64_t(s.labels.data.size()));
}

TEST_F(SyntheticHome, RoiSubsetRunsOnlyThePartsItNeedsAndKeepsOnlyItsClasses) {
  nervemap::test::TempDir partial;
  write_synthetic_home(partial.path(), default_choices(), {291, 292, 293, 295});
  const CtVolume ct = synthetic_ct();
  TaskOptions t;
  t.models_dir = partial.path();
  t.roi_subset = {"skull"};
  InferenceOptions o;
  Warnings w;
  const Segmentation s = predict_task("total", ct, t, o, w); // only part 4 (and the 6 mm crop model) needed
  EXPECT_EQ(s.models, (std::vector<std::string>{"Dataset294_TotalSegmentator_part4_muscles_1559subj"}));
  EXPECT_EQ(s.table.size(), 1u);
  const auto h = histogram(s.labels);
  EXPECT_GT(h[91], 0);
  EXPECT_EQ(h[0] + h[91], int64_t(s.labels.data.size()));
  // Without the roi_subset the missing parts are an error that says how to get them.
  try {
    TaskOptions all;
    all.models_dir = partial.path();
    predict_task("total", ct, all, o, w);
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("Dataset291_TotalSegmentator_part1_organs_1559subj"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("totalseg_download_weights"), std::string::npos);
  }
}

TEST_F(SyntheticHome, HeadTasksAreCroppedToTheSkullFoundByTheRoughPass) {
  const CtVolume ct = synthetic_ct();
  Warnings w;
  const Segmentation s = run("head_muscles", ct, {}, w);
  EXPECT_TRUE(w.empty()) << w.items().front();
  // The crop box: the rough (6 mm) pass's skull ± 20 mm, on the input grid.
  detail::TsRun rough;
  rough.weights = dir_->path() / "nnunet" / "results";
  const MaskVolume organs = detail::ts_predict(detail::ts_task("total", "fastest"), ct, rough, w);
  bool found = false;
  const auto box = detail::ts_crop_box(organs, {91}, 20.0, &found);
  ASSERT_TRUE(found);
  const Index3 d = ct.geometry.dims;
  EXPECT_LT(box.hi[0] - box.lo[0], d[0]); // a real crop
  int64_t inside = 0, outside = 0;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i) {
        const bool in = i >= box.lo[0] && i < box.hi[0] && j >= box.lo[1] && j < box.hi[1] && k >= box.lo[2] &&
                        k < box.hi[2];
        (in ? inside : outside) += s.labels.at(i, j, k) != 0;
      }
  EXPECT_GT(inside, 0);
  EXPECT_EQ(outside, 0);
  // Labels at the input resolution although the model ran at 0.75 × 0.75 × 1 mm.
  EXPECT_TRUE(s.labels.geometry.same_grid(ct.geometry));
  EXPECT_EQ(histogram(s.labels)[size_t(id_of("head_muscles", "masseter_right"))] +
                histogram(s.labels)[0],
            int64_t(s.labels.data.size()));
}

TEST_F(SyntheticHome, NeckMusclesMergeTwoPartsAndWarnWhenTheCropRegionIsMissing) {
  const CtVolume ct = synthetic_ct();
  Warnings w;
  const Segmentation s = run("headneck_muscles", ct, {}, w);
  // The rough pass finds no clavicle or vertebra here: the whole image is segmented, with a warning.
  ASSERT_EQ(w.items().size(), 1u);
  EXPECT_NE(w.items()[0].find("none of the crop classes"), std::string::npos);
  const auto h = histogram(s.labels);
  EXPECT_GT(h[1], 0);  // sternocleidomastoid_right from part 778 (z > 1)
  EXPECT_GT(h[12], 0); // anterior_scalene_right from part 779 (z > 2), its own id 1 mapped to 12
  EXPECT_EQ(h[0] + h[1] + h[12], int64_t(s.labels.data.size()));
}

TEST_F(SyntheticHome, StructuresForTheNerveRulesMergeIntoCatalogueIds) {
  const CtVolume ct = synthetic_ct(Mat3::Identity(), {28, 24, 24});
  InferenceOptions o;
  o.threads = 2;
  Warnings w;
  std::vector<std::string> models;
  const auto map = segment_structures(ct, dir_->path(), o, w, false, &models);
  const auto& catalogue = anatomy::Catalogue::get();
  EXPECT_FALSE(models.empty());
  // Every value in the map is a catalogue id named in the table.
  std::set<int> values(map.voxels.data.begin(), map.voxels.data.end());
  values.erase(0);
  ASSERT_FALSE(values.empty());
  for (int v : values) {
    ASSERT_NE(map.table.find(v), nullptr) << v;
    EXPECT_EQ(catalogue.find(v)->name, map.table.find(v)->name);
  }
  // The last task run (craniofacial_structures) labels the bright voxels mandible; its catalogue id wins.
  EXPECT_TRUE(values.count(catalogue.at("mandible").id));
}
