// The networks against nnU-Net's own: the middle sliding-window tile of each fixture model, run through the
// network nnUNetPredictor built (patch_logits.npy), must come out within 1e-4 (max abs).
#include "fixtures.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::segment;
using namespace nervemap::segment::test;

namespace {

struct PatchCase {
  const char* model;
};

class NetworkFixture : public ::testing::TestWithParam<PatchCase> {};

std::unique_ptr<detail::Network> load(const std::string& model, detail::ModelFolder* folder = nullptr) {
  auto m = detail::open_model_folder(nnunet_fixture(model), {});
  auto ck = detail::read_checkpoint(m.checkpoints.front(), true);
  auto net = detail::build_network(m.network, std::move(ck.weights), m.checkpoints.front().string());
  if (folder)
    *folder = m;
  return net;
}

} // namespace

TEST_P(NetworkFixture, PatchLogitsMatchNnUNet) {
  detail::set_compute_threads(2);
  detail::ModelFolder m;
  auto net = load(GetParam().model, &m);
  const Npy input = read_npy(nnunet_fixture(std::string("out/") + GetParam().model + "/patch/patch_input.npy"));
  const Npy expected = read_npy(nnunet_fixture(std::string("out/") + GetParam().model + "/patch/patch_logits.npy"));
  ASSERT_EQ(input.shape.size(), 5u);
  const detail::Shape3 size{input.shape[2], input.shape[3], input.shape[4]};
  EXPECT_EQ(std::vector<int64_t>(size.begin(), size.end()), m.patch_size);
  std::vector<float> logits(size_t(net->num_classes()) * size_t(size[0] * size[1] * size[2]));
  net->forward(input.values.data(), size, logits.data());
  const double err = max_abs_diff(logits, expected.values);
  RecordProperty("max_abs_error", std::to_string(err));
  std::printf("%s patch logits: max |diff| = %.3g\n", GetParam().model, err);
  EXPECT_LT(err, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Fixtures,
                         NetworkFixture,
                         ::testing::Values(PatchCase{"plain3d"}, PatchCase{"resenc3d"}),
                         [](const auto& info) { return std::string(info.param.model); });

TEST(Network, ParameterCountsMatchTheFixtureReadme) {
  EXPECT_EQ(load("plain3d")->parameter_count(), 351388);
  EXPECT_EQ(load("resenc3d")->parameter_count(), 405172);
}

TEST(Network, RefusesWeightsThatDoNotFitThePlans) {
  auto m = detail::open_model_folder(nnunet_fixture("plain3d"), {});
  auto ck = detail::read_checkpoint(m.checkpoints.front(), true);
  {
    auto w = ck.weights;
    w.erase("decoder.stages.0.convs.1.norm.bias");
    EXPECT_THROW(detail::build_network(m.network, w, "x"), InputError);
  }
  {
    auto w = ck.weights;
    w["encoder.stages.9.0.convs.0.conv.weight"] = w.begin()->second;
    try {
      detail::build_network(m.network, w, "x");
      ADD_FAILURE();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("does not use"), std::string::npos) << e.what();
    }
  }
  {
    auto spec = m.network;
    spec.features[1] = 24; // plans say 24 channels, checkpoint has 16
    EXPECT_THROW(detail::build_network(spec, ck.weights, "x"), InputError);
  }
}
