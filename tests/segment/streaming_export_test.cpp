// The one-pass export (CaseOptions::streaming_labels: argmax of the order-1 interpolated logits per output
// voxel) against nnU-Net's labels, on both fixture models and both inputs: the anisotropic input exercises
// the separate-z rule (nearest along the coarse axis), the plain one the trilinear path.
#include "fixtures.h"
#include "io/io.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::segment;
using namespace nervemap::segment::test;

namespace {

class StreamingExport : public ::testing::TestWithParam<std::pair<const char*, const char*>> {
protected:
  void SetUp() override { detail::set_compute_threads(2); }
};

} // namespace

TEST_P(StreamingExport, GivesNnUNetsLabels) {
  const auto [model_name, input] = GetParam();
  const auto model = detail::open_model_folder(nnunet_fixture(model_name), {});
  Warnings w;
  const CtVolume ct = io::read_nifti_image(nnunet_fixture(std::string(input) + "/case_0000.nii.gz"), w);
  detail::CaseOptions options;
  options.streaming_labels = true;
  const auto e = detail::predict_case(model, detail::case_input({&ct}), options);
  const MaskVolume reference = io::read_nifti_labels(
      nnunet_fixture(std::string("out/") + model_name + "/" + input + "/notta/case.nii.gz"), w);
  ASSERT_EQ(reference.data.size(), e.labels.size());
  size_t same = 0;
  std::array<size_t, 256> count{};
  for (size_t i = 0; i < e.labels.size(); ++i) {
    same += e.labels[i] == reference.data[i];
    ++count[e.labels[i]];
  }
  const double agreement = double(same) / double(e.labels.size());
  std::printf("%s/%s streaming export: labels identical %.4f %% (%zu of %zu)\n",
              model_name,
              input,
              100 * agreement,
              same,
              e.labels.size());
  EXPECT_GE(agreement, 0.999);
  // Not a degenerate map: more than one class is present.
  EXPECT_GT(std::count_if(count.begin(), count.end(), [](size_t c) { return c > 0; }), 1);
}

INSTANTIATE_TEST_SUITE_P(Fixtures,
                         StreamingExport,
                         ::testing::Values(std::pair{"plain3d", "input"},
                                           std::pair{"plain3d", "input_aniso"},
                                           std::pair{"resenc3d", "input"},
                                           std::pair{"resenc3d", "input_aniso"}),
                         [](const auto& info) {
                           return std::string(info.param.first) + "_" + info.param.second;
                         });
