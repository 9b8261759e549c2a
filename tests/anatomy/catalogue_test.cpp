#include "anatomy/anatomy.h"

#include <gtest/gtest.h>
#include <set>

using namespace nervemap;
using anatomy::Catalogue;

TEST(Catalogue, TotalTaskIdsAreTotalSegmentatorsAndStable) {
  const Catalogue& c = Catalogue::get();
  // Spot checks against TotalSegmentator v2 class_map["total"] (research/nnunet-inference.md §5.1).
  const std::vector<std::pair<int, std::string>> expected{{15, "esophagus"},
                                                          {16, "trachea"},
                                                          {17, "thyroid_gland"},
                                                          {43, "vertebrae_T1"},
                                                          {44, "vertebrae_C7"},
                                                          {50, "vertebrae_C1"},
                                                          {54, "brachiocephalic_trunk"},
                                                          {55, "subclavian_artery_right"},
                                                          {58, "common_carotid_artery_left"},
                                                          {73, "clavicula_left"},
                                                          {79, "spinal_cord"},
                                                          {91, "skull"},
                                                          {92, "rib_left_1"},
                                                          {104, "rib_right_1"},
                                                          {117, "costal_cartilages"}};
  auto total = c.task_classes("total");
  ASSERT_EQ(total.size(), 117u);
  for (const auto& [label, name] : expected) {
    EXPECT_EQ(total[size_t(label - 1)].second, name);
    ASSERT_NE(c.find(name), nullptr) << name;
    EXPECT_EQ(c.find(name)->id, label) << name; // stable id = total id
  }
}

TEST(Catalogue, HeadNeckTasksMatchTotalSegmentatorClassMaps) {
  const Catalogue& c = Catalogue::get();
  auto bv = c.task_classes("headneck_bones_vessels");
  ASSERT_EQ(bv.size(), 12u);
  EXPECT_EQ(bv[0].second, "larynx_air");
  EXPECT_EQ(bv[11], (std::pair<int, std::string>{12, "internal_jugular_vein_left"}));
  auto mus = c.task_classes("headneck_muscles");
  ASSERT_EQ(mus.size(), 23u);
  EXPECT_EQ(mus[4].second, "inferior_pharyngeal_constrictor");
  EXPECT_EQ(mus[22].second, "prevertebral_left");
  auto glands = c.task_classes("head_glands_cavities");
  ASSERT_EQ(glands.size(), 19u);
  EXPECT_EQ(glands[8].second, "submandibular_gland_right");
  auto head = c.task_classes("head_muscles");
  ASSERT_EQ(head.size(), 11u);
  EXPECT_EQ(head[10].second, "digastric_left");
  auto cranio = c.task_classes("craniofacial_structures");
  ASSERT_EQ(cranio.size(), 7u);
  EXPECT_EQ(cranio[0].second, "mandible");
  EXPECT_EQ(cranio[2].second, "skull");
  EXPECT_THROW(c.task_classes("face"), InputError);
}

TEST(Catalogue, IdsAreUniqueWithinStructureRangeAndKnowEveryTask) {
  const Catalogue& c = Catalogue::get();
  std::set<int> ids;
  std::set<std::string> names;
  for (const auto& s : c.structures()) {
    EXPECT_GE(s.id, 1);
    EXPECT_LE(s.id, 199);
    EXPECT_TRUE(ids.insert(s.id).second) << s.id;
    EXPECT_TRUE(names.insert(s.name).second) << s.name;
    EXPECT_FALSE(s.tasks.empty());
    EXPECT_FALSE(s.group.empty());
  }
  EXPECT_EQ(c.structures().size(), 188u); // 117 + 12 + 23 + 19 + 11 + 7 - 1 (skull in two tasks)
  const auto* skull = c.find("skull");
  ASSERT_EQ(skull->tasks.size(), 2u);
  EXPECT_EQ(skull->tasks[1].task, "craniofacial_structures");
  EXPECT_EQ(skull->tasks[1].label, 3);
  // Never renumber: these ids are written into users' labels.nii.gz files.
  EXPECT_EQ(c.find("larynx_air")->id, 118);
  EXPECT_EQ(c.find("internal_jugular_vein_left")->id, 129);
  EXPECT_EQ(c.find("prevertebral_left")->id, 152);
  EXPECT_EQ(c.find("mandible")->id, 183);
}

TEST(Catalogue, FindsSynonymsCaseAndSeparatorInsensitively) {
  const Catalogue& c = Catalogue::get();
  EXPECT_EQ(c.find("Oesophagus")->name, "esophagus");
  EXPECT_EQ(c.find("clavicle-left")->name, "clavicula_left");
  EXPECT_EQ(c.find("Parotid_L")->name, "parotid_gland_left");
  EXPECT_EQ(c.find("Thyroid Gland")->name, "thyroid_gland");
  EXPECT_EQ(c.find("no_such_thing"), nullptr);
  EXPECT_THROW(c.at("no_such_thing"), InputError);
  EXPECT_EQ(c.find(58)->name, "common_carotid_artery_left");
  EXPECT_EQ(c.find(250), nullptr);
}

TEST(Catalogue, ColoursPairLeftAndRightAndSeparateVesselKinds) {
  const Catalogue& c = Catalogue::get();
  EXPECT_EQ(c.find("internal_jugular_vein_left")->rgb, c.find("internal_jugular_vein_right")->rgb);
  auto artery = c.find("common_carotid_artery_left")->rgb, vein = c.find("internal_jugular_vein_left")->rgb;
  EXPECT_GT(artery[0], artery[2]); // red
  EXPECT_GT(vein[2], vein[0]);     // blue
  EXPECT_EQ(c.find("common_carotid_artery_left")->group, "artery");
  EXPECT_EQ(c.find("thyroid_cartilage")->group, "cartilage");
  EXPECT_EQ(c.find("hyoid")->group, "bone");
  EXPECT_EQ(c.find("levator_scapulae_left")->group, "muscle"); // not the scapula
  EXPECT_EQ(c.find("scapula_left")->group, "bone");
  EXPECT_EQ(c.find("costal_cartilages")->group, "cartilage");
}

TEST(Catalogue, OutputTableHasStructuresAndTumours) {
  LabelTable t = Catalogue::get().output_table();
  EXPECT_EQ(t.size(), 190u);
  EXPECT_EQ(t.find(201)->name, "GTVp");
  EXPECT_EQ(t.find(202)->name, "GTVn");
  EXPECT_EQ(Catalogue::tumour_name(202), "GTVn");
  EXPECT_EQ(Catalogue::tumour_name(5), "");
}
