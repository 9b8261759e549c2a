// The committed demo model (models/demo_phantom_neck, trained by tools/train_demo_model.py on phantoms with
// seeds from 1000) through segment_with_model() — the `nervemap run --model` / `make demo` path — on necks it
// has not seen. Phantom Dice only: it shows the runtime, the canonical reorientation and the label mapping
// work.
#include "eval/eval.h"
#include "phantom/phantom.h"
#include "segment/internal.h"
#include "segment/segment.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

using namespace nervemap;
namespace fs = std::filesystem;

namespace {

const fs::path kModel = "models/demo_phantom_neck"; // tests run in the source tree

MaskVolume only(const MaskVolume& labels, int id) {
  MaskVolume m(labels.geometry, 0);
  for (size_t i = 0; i < m.data.size(); ++i)
    m.data[i] = labels.data[i] == id;
  return m;
}

eval::Metrics metrics_of(const LabelMap& pred, const LabelMap& ref, const std::string& name) {
  const Label* p = pred.table.find(name);
  const Label* r = ref.table.find(name);
  if (!r)
    throw std::runtime_error(name + " not in the reference");
  return eval::compare_masks(
      p ? only(pred.voxels, p->id) : MaskVolume(pred.voxels.geometry, 0), only(ref.voxels, r->id), 1.0);
}

phantom::Options neck(uint64_t seed, phantom::Orientation orientation, double noise_hu, Vec3 spacing_mm) {
  phantom::Options o;
  o.seed = seed;
  o.spacing_mm = spacing_mm;
  o.orientation = orientation;
  o.noise_hu = noise_hu;
  o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
  return o;
}

} // namespace

TEST(DemoModel, IsACompleteNnUNetModelFolder) {
  const segment::ModelSummary m = segment::inspect_model(kModel);
  EXPECT_EQ(m.configuration, "3d_fullres");
  EXPECT_EQ(m.network, "PlainConvUNet");
  EXPECT_EQ(m.folds, std::vector<int>{0});
  ASSERT_EQ(m.channel_names.size(), 1u);
  for (const char* name : {"common_carotid_artery_left",
                           "internal_jugular_vein_right",
                           "trachea",
                           "esophagus",
                           "thyroid_gland",
                           "cricoid_cartilage",
                           "hyoid",
                           "vertebrae_C4",
                           "GTVp",
                           "GTVn"})
    EXPECT_TRUE(m.labels.find(std::string(name))) << name;
  // Small enough to commit: a few MB.
  EXPECT_LT(fs::file_size(kModel / "fold_0" / "checkpoint_final.pth"), 8u << 20);
}

TEST(DemoModel, SegmentsAnUnseenObliqueNeck) {
  const phantom::Phantom p =
      phantom::make_phantom(neck(31, phantom::Orientation::oblique, 18, Vec3(1.1, 1.1, 2.2)));
  Warnings w;
  segment::InferenceOptions options;
  options.threads = 2;
  const segment::ModelStructures s = segment::segment_with_model(p.ct, kModel, options, w);
  ASSERT_TRUE(s.structures.voxels.geometry.same_grid(p.ct.geometry));
  // The model leaves islands on an oblique neck; they are removed, and said so.
  ASSERT_EQ(w.items().size(), 1u);
  EXPECT_NE(w.items()[0].find("lying more than 20 mm from the main body"), std::string::npos) << w.items()[0];
  EXPECT_EQ(s.models, std::vector<std::string>{"demo_phantom_neck"});
  // Tumours come separately, never as structures.
  EXPECT_FALSE(s.structures.table.find(std::string("GTVn")));
  ASSERT_TRUE(s.tumour.has_value());
  LabelMap truth_tumour;
  truth_tumour.voxels = MaskVolume(p.ct.geometry, 0);
  for (size_t i = 0; i < p.tumour.data.size(); ++i)
    truth_tumour.voxels.data[i] = p.tumour.data[i] == anatomy::kHecktorGtvn ? anatomy::kGtvnId : 0;
  truth_tumour.table.add({anatomy::kGtvnId, "GTVn", {0, 0, 0}});
  const double tumour_dice = metrics_of(*s.tumour, truth_tumour, "GTVn").dice;
  std::printf("GTVn Dice %.3f\n", tumour_dice);
  // Found, not delineated: 0.10 here; the small model's held-out GTVn Dice is 0.18–0.42 (training.json).
  EXPECT_GT(tumour_dice, 0.05);
  // The landmarks the vagus and recurrent laryngeal rules stand on.
  for (const char* name : {"common_carotid_artery_left",
                           "common_carotid_artery_right",
                           "internal_jugular_vein_left",
                           "internal_jugular_vein_right",
                           "trachea",
                           "esophagus",
                           "thyroid_gland",
                           "sternocleidomastoid_left",
                           "sternocleidomastoid_right"}) {
    const eval::Metrics m = metrics_of(s.structures, p.structures, name);
    std::printf("%-30s Dice %.3f HD95 %.1f mm\n", name, m.dice, m.hd95_mm.value_or(-1));
    EXPECT_GT(m.dice, 0.5) << name; // measured 0.83–0.95 on this neck
    // No far islands: they are removed. With them the held-out HD95 of the jugular veins and the thyroid was
    // 77–109 mm on average; without, 1–10 mm on this neck (up to 32 mm with an earlier model whose veins ran
    // on past their ends).
    ASSERT_TRUE(m.hd95_mm) << name;
    EXPECT_LT(*m.hd95_mm, 40.0) << name;
  }
}

TEST(DemoModel, TheFilesAxisOrderDoesNotChangeTheLabels) {
  // The same noiseless neck stored LPS and RAS: after the canonical reorientation the network sees the same
  // array, so every physical voxel must get the same label (an axis or flip error would move them).
  Warnings w;
  segment::InferenceOptions options;
  options.threads = 2;
  const phantom::Phantom lps =
      phantom::make_phantom(neck(32, phantom::Orientation::lps, 0, Vec3(1.6, 1.6, 1.6)));
  const phantom::Phantom ras =
      phantom::make_phantom(neck(32, phantom::Orientation::ras, 0, Vec3(1.6, 1.6, 1.6)));
  const auto a = segment::segment_with_model(lps.ct, kModel, options, w);
  const auto b = segment::segment_with_model(ras.ct, kModel, options, w);
  const MaskVolume b_on_a = anatomy::resample_nearest(b.structures.voxels, a.structures.voxels.geometry);
  size_t same = 0, labelled = 0;
  for (size_t i = 0; i < b_on_a.data.size(); ++i) {
    same += b_on_a.data[i] == a.structures.voxels.data[i];
    labelled += a.structures.voxels.data[i] != 0;
  }
  EXPECT_GT(labelled, b_on_a.data.size() / 20);
  EXPECT_EQ(same, b_on_a.data.size());
}

TEST(DemoModel, AModelWithoutCatalogueNamesIsRefused) {
  // The nnU-Net fixture's labels are organA, organB, boneC.
  Warnings w;
  CtVolume ct(Geometry{}, -1000.0f);
  try {
    segment::segment_with_model(ct, nervemap::test::shared_path("fixtures/nnunet/plain3d"), {}, w);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("organA"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("TotalSegmentator class names"), std::string::npos) << e.what();
  }
}
