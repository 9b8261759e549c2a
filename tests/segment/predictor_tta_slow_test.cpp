// Test-time mirroring (8 forward passes per tile, identity + 7 flips over axes 0–2) against nnU-Net's
// predictor run with use_mirroring=True: probabilities ≤ 1e-3, labels ≥ 99.9 % identical. Slow (8× the
// work of the plain run): CTest label `slow`.
#include "fixtures.h"
#include "io/io.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::segment;
using namespace nervemap::segment::test;

namespace {

struct Case {
  const char* model;
  const char* input;
};

class MirroringFixture : public ::testing::TestWithParam<Case> {};

} // namespace

TEST_P(MirroringFixture, ProbabilitiesAndLabelsMatchWithMirroring) {
  detail::set_compute_threads(2);
  const auto model = detail::open_model_folder(nnunet_fixture(GetParam().model), {});
  ASSERT_TRUE(model.mirroring_axes);
  Warnings w;
  const CtVolume ct = io::read_nifti_image(nnunet_fixture(std::string(GetParam().input) + "/case_0000.nii.gz"), w);
  detail::CaseOptions options;
  options.probabilities = true;
  options.mirroring = true;
  const auto e = detail::predict_case(model, detail::case_input({&ct}), options);
  const fs::path out = nnunet_fixture(std::string("out/") + GetParam().model + "/" + GetParam().input + "/tta");
  const Npy probs = read_npz(out / "case.npz", "probabilities");
  const double err = max_abs_diff(e.probabilities.data, probs.values);
  const MaskVolume reference = io::read_nifti_labels(out / "case.nii.gz", w);
  size_t same = 0;
  for (size_t i = 0; i < e.labels.size(); ++i)
    same += e.labels[i] == reference.data[i];
  const double agreement = double(same) / double(e.labels.size());
  std::printf("%s_%s TTA: probabilities max |diff| = %.3g, labels identical %.4f %%\n", GetParam().model,
              GetParam().input, err, 100 * agreement);
  EXPECT_LT(err, 1e-3);
  EXPECT_GE(agreement, 0.999);
}

INSTANTIATE_TEST_SUITE_P(Fixtures,
                         MirroringFixture,
                         ::testing::Values(Case{"plain3d", "input"},
                                           Case{"plain3d", "input_aniso"},
                                           Case{"resenc3d", "input"},
                                           Case{"resenc3d", "input_aniso"}),
                         [](const auto& info) { return std::string(info.param.model) + "_" + info.param.input; });
