// The one description of a case's files: its stored form (the server's case table) and its checks.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

using namespace nervemap;
namespace fs = std::filesystem;

TEST(CaseInputs, StoredFormRoundTripsWithPathsInsideTheCase) {
  const fs::path base = "/data/cases/0123456789abcdef";
  pipeline::CaseInputs in;
  in.name = "neck ct.nii.gz";
  in.ct = base / "input" / "ct";
  in.series_uid = "1.2.3.4";
  in.structures = base / "input" / "structures" / "masks";
  in.label_table_task = "total";
  in.tumour = base / "input" / "tumor.nii.gz";
  in.tumour_binary_as_gtvn = true;
  in.pet = base / "input" / "pet.nii.gz";
  const nlohmann::json stored = pipeline::to_json(in, base);
  // The keys the upload form and existing data folders use.
  EXPECT_EQ(stored,
            nlohmann::json({{"name", "neck ct.nii.gz"},
                            {"ct", "input/ct"},
                            {"series", "1.2.3.4"},
                            {"structures", "input/structures/masks"},
                            {"label_table_task", "total"},
                            {"tumor", "input/tumor.nii.gz"},
                            {"tumor_label", "GTVn"},
                            {"pet", "input/pet.nii.gz"}}));
  const fs::path moved = "/elsewhere/case";
  const pipeline::CaseInputs back = pipeline::case_inputs_from_json(stored, moved);
  EXPECT_EQ(back.ct, moved / "input/ct");
  EXPECT_EQ(back.series_uid, in.series_uid);
  EXPECT_EQ(back.structures, moved / "input/structures/masks");
  EXPECT_EQ(back.label_table_task, in.label_table_task);
  EXPECT_FALSE(back.label_table_file);
  EXPECT_EQ(back.tumour, moved / "input/tumor.nii.gz");
  EXPECT_TRUE(back.tumour_binary_as_gtvn);
  EXPECT_EQ(back.pet, moved / "input/pet.nii.gz");
  EXPECT_EQ(pipeline::to_json(back, moved), stored);
}

TEST(CaseInputs, ReadsRowsOfEarlierVersions) {
  // A case table written before CaseInputs existed: no tumour label means GTVp.
  const auto in = pipeline::case_inputs_from_json({{"name", "x"},
                                                   {"ct", "input/ct.nii.gz"},
                                                   {"structures", "input/structures"},
                                                   {"tumor", "input/t.nii"}},
                                                  "/c");
  EXPECT_EQ(in.ct, fs::path("/c/input/ct.nii.gz"));
  EXPECT_FALSE(in.tumour_binary_as_gtvn);
  EXPECT_FALSE(in.pet);
}

TEST(CaseInputs, StoredPathsMayNotLeaveTheCaseFolder) {
  for (const char* bad : {"/etc/passwd", "../other/ct.nii", "input/../../x", ""}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(pipeline::case_inputs_from_json({{"ct", bad}}, "/c"), InputError);
  }
  EXPECT_THROW(pipeline::case_inputs_from_json({{"name", "no ct"}}, "/c"), InputError);
  EXPECT_THROW(pipeline::case_inputs_from_json({{"ct", "ct.nii"}, {"tumor_label", "GTVx"}}, "/c"),
               InputError);
  EXPECT_THROW(pipeline::case_inputs_from_json({{"ct", "ct.nii"}, {"pet", 3}}, "/c"), InputError);
}
