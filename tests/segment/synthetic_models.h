// A synthetic TotalSegmentator home for the tests: nnU-Net model folders under the real dataset folder names
// and class maps, with tiny PlainConvUNets whose weights make the output a known function of the input, and
// checkpoints written byte-for-byte the way torch.save writes nnU-Net's (a zip of <name>/data.pkl in pickle
// protocol 2 + raw storages) — so that the real reader reads them.
//
// The network: 2 stages, 2 features, 1×1×1 kernels. Stage 0 computes [z, −z] → LeakyReLU with
// z = (x − mean)/std over the tile (InstanceNorm); stage 1 and the transposed conv are zero; the decoder conv
// takes lrelu(z) − lrelu(−z) = 1.01·z and normalises it again (→ z); the head gives class `bright` the logit
// gain·(lrelu(z) − threshold) and every other class −gain (background 0). So: label `bright` where the
// voxel is more than `threshold` tile standard deviations above the tile mean, background elsewhere.
#pragma once

#include "fixtures.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace nervemap::segment::test {

// ---------------------------------------------------------------------------------------------- pickle

class PickleWriter {
public:
  PickleWriter() { out_ += std::string("\x80\x02", 2); }
  void op(char c) { out_ += c; }
  void str(const std::string& s) {
    out_ += 'X';
    le(uint32_t(s.size()), 4);
    out_ += s;
  }
  void integer(int64_t v) {
    out_ += 'J';
    le(uint32_t(int32_t(v)), 4);
  }
  void global(const std::string& module, const std::string& name) { out_ += "c" + module + "\n" + name + "\n"; }
  void int_tuple(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v)
      integer(x);
    op('t');
  }
  std::string finish() { return out_ + "."; }

private:
  void le(uint32_t v, int n) {
    for (int b = 0; b < n; ++b)
      out_ += char((v >> (8 * b)) & 0xff);
  }
  std::string out_;
};

struct NamedTensor {
  std::string key;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

//! checkpoint_final.pth as nnUNetTrainer.save_checkpoint writes it (the keys the runtime reads, plus the
//! OrderedDict, torch.device and a numpy-free `_best_ema` None).
inline void write_checkpoint(const fs::path& path,
                             const std::vector<NamedTensor>& weights,
                             const std::string& trainer,
                             const std::string& configuration,
                             bool mirroring) {
  PickleWriter p;
  p.op('}');
  p.op('(');
  p.str("network_weights");
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('(');
  for (size_t k = 0; k < weights.size(); ++k) {
    const auto& t = weights[k];
    p.str(t.key);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    p.op('(');
    p.str("storage");
    p.global("torch", "FloatStorage");
    p.str(std::to_string(k));
    p.str("cpu");
    p.integer(int64_t(t.values.size()));
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.shape);
    std::vector<int64_t> stride(t.shape.size(), 1);
    for (size_t d = t.shape.size(); d-- > 1;)
      stride[d - 1] = stride[d] * t.shape[d];
    p.int_tuple(stride);
    p.op('\x89');
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  p.op('u');
  p.str("trainer_name");
  p.str(trainer);
  p.str("init_args");
  p.op('}');
  p.op('(');
  p.str("configuration");
  p.str(configuration);
  p.str("device");
  p.global("torch", "device");
  p.str("cpu");
  p.op('\x85');
  p.op('R');
  p.op('u');
  p.str("_best_ema");
  p.op('N');
  p.str("inference_allowed_mirroring_axes");
  if (mirroring) {
    p.int_tuple({0, 1, 2});
  } else {
    p.op('N');
  }
  p.op('u');
  const std::string pickle = p.finish();

  fs::create_directories(path.parent_path());
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  std::vector<std::string> blobs;
  blobs.push_back(pickle);
  auto add = [&](const std::string& name, const std::string& bytes) {
    zip_source_t* s = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    zip_int64_t idx = zip_file_add(z, name.c_str(), s, ZIP_FL_OVERWRITE);
    zip_set_file_compression(z, zip_uint64_t(idx), ZIP_CM_STORE, 0);
  };
  add("checkpoint_final/data.pkl", blobs.back());
  blobs.reserve(weights.size() + 2);
  for (size_t k = 0; k < weights.size(); ++k) {
    blobs.push_back(std::string(reinterpret_cast<const char*>(weights[k].values.data()),
                                weights[k].values.size() * sizeof(float)));
    add("checkpoint_final/data/" + std::to_string(k), blobs.back());
  }
  blobs.push_back("3\n");
  add("checkpoint_final/version", blobs.back());
  zip_close(z);
}

// ---------------------------------------------------------------------------------------------- models

struct ThresholdModel {
  int classes = 2;        //!< segmentation heads incl. background
  int bright = 1;         //!< the label given to bright voxels
  double threshold = 1.5; //!< in tile standard deviations
  double gain = 8.0;
};

inline std::vector<NamedTensor> threshold_weights(const ThresholdModel& m) {
  auto t = [](std::string key, std::vector<int64_t> shape, std::vector<float> v) {
    size_t n = 1;
    for (auto d : shape)
      n *= size_t(d);
    if (v.empty())
      v.assign(n, 0.0f);
    return NamedTensor{std::move(key), std::move(shape), std::move(v)};
  };
  std::vector<NamedTensor> w;
  w.push_back(t("encoder.stages.0.0.convs.0.conv.weight", {2, 1, 1, 1, 1}, {1.0f, -1.0f}));
  w.push_back(t("encoder.stages.0.0.convs.0.conv.bias", {2}, {}));
  w.push_back(t("encoder.stages.0.0.convs.0.norm.weight", {2}, {1.0f, 1.0f}));
  w.push_back(t("encoder.stages.0.0.convs.0.norm.bias", {2}, {}));
  w.push_back(t("encoder.stages.1.0.convs.0.conv.weight", {2, 2, 1, 1, 1}, {}));
  w.push_back(t("encoder.stages.1.0.convs.0.conv.bias", {2}, {}));
  w.push_back(t("encoder.stages.1.0.convs.0.norm.weight", {2}, {1.0f, 1.0f}));
  w.push_back(t("encoder.stages.1.0.convs.0.norm.bias", {2}, {}));
  w.push_back(t("decoder.transpconvs.0.weight", {2, 2, 2, 2, 2}, {}));
  w.push_back(t("decoder.transpconvs.0.bias", {2}, {}));
  // concat [up0, up1, skip0 = lrelu(z), skip1 = lrelu(−z)] → channel 0 = skip0 − skip1
  w.push_back(t("decoder.stages.0.convs.0.conv.weight", {2, 4, 1, 1, 1}, {0, 0, 1, -1, 0, 0, 1, -1}));
  w.push_back(t("decoder.stages.0.convs.0.conv.bias", {2}, {}));
  w.push_back(t("decoder.stages.0.convs.0.norm.weight", {2}, {1.0f, 1.0f}));
  w.push_back(t("decoder.stages.0.convs.0.norm.bias", {2}, {}));
  std::vector<float> head(size_t(m.classes) * 2, 0.0f), bias(size_t(m.classes), float(-m.gain));
  bias[0] = 0;
  head[size_t(m.bright) * 2] = float(m.gain);
  bias[size_t(m.bright)] = float(-m.gain * m.threshold);
  w.push_back(t("decoder.seg_layers.0.weight", {m.classes, 2, 1, 1, 1}, head));
  w.push_back(t("decoder.seg_layers.0.bias", {m.classes}, bias));
  return w;
}

//! A trained-model folder: dataset.json (labels = class names in order), plans.json (the tiny network,
//! spacing in nnU-Net's z, y, x order, CTNormalization), fold_0/checkpoint_final.pth.
inline void write_model_folder(const fs::path& dir,
                               const std::vector<std::pair<int, std::string>>& classes,
                               const std::array<double, 3>& spacing_zyx,
                               const std::string& trainer,
                               const std::string& configuration,
                               const ThresholdModel& model) {
  fs::create_directories(dir);
  nlohmann::ordered_json labels;
  labels["background"] = 0;
  for (const auto& [id, name] : classes)
    labels[name] = id;
  nlohmann::ordered_json dataset{{"channel_names", {{"0", "CT"}}},
                                 {"labels", labels},
                                 {"numTraining", 1},
                                 {"file_ending", ".nii.gz"}};
  std::ofstream(dir / "dataset.json") << dataset.dump(2);
  nlohmann::json arch{
      {"network_class_name", "dynamic_network_architectures.architectures.unet.PlainConvUNet"},
      {"arch_kwargs",
       {{"n_stages", 2},
        {"features_per_stage", {2, 2}},
        {"conv_op", "torch.nn.modules.conv.Conv3d"},
        {"kernel_sizes", {{1, 1, 1}, {1, 1, 1}}},
        {"strides", {{1, 1, 1}, {2, 2, 2}}},
        {"n_conv_per_stage", {1, 1}},
        {"n_conv_per_stage_decoder", {1}},
        {"conv_bias", true},
        {"norm_op", "torch.nn.modules.instancenorm.InstanceNorm3d"},
        {"norm_op_kwargs", {{"eps", 1e-5}, {"affine", true}}},
        {"dropout_op", nullptr},
        {"nonlin", "torch.nn.LeakyReLU"},
        {"nonlin_kwargs", {{"inplace", true}}}}},
      {"_kw_requires_import", {"conv_op", "norm_op", "dropout_op", "nonlin"}}};
  nlohmann::json config{{"patch_size", {32, 32, 32}},
                        {"spacing", {spacing_zyx[0], spacing_zyx[1], spacing_zyx[2]}},
                        {"normalization_schemes", {"CTNormalization"}},
                        {"use_mask_for_norm", {false}},
                        {"resampling_fn_data", "resample_data_or_seg_to_shape"},
                        {"resampling_fn_data_kwargs", {{"is_seg", false}, {"order", 3}, {"order_z", 0}, {"force_separate_z", nullptr}}},
                        {"resampling_fn_probabilities", "resample_data_or_seg_to_shape"},
                        {"resampling_fn_probabilities_kwargs",
                         {{"is_seg", false}, {"order", 1}, {"order_z", 0}, {"force_separate_z", nullptr}}},
                        {"architecture", arch}};
  nlohmann::json plans{{"dataset_name", dir.parent_path().filename().string()},
                       {"plans_name", "nnUNetPlans"},
                       {"image_reader_writer", "SimpleITKIO"},
                       {"transpose_forward", {0, 1, 2}},
                       {"transpose_backward", {0, 1, 2}},
                       {"configurations", {{configuration, config}}},
                       {"foreground_intensity_properties_per_channel",
                        {{"0",
                          {{"mean", 0.0},
                           {"std", 400.0},
                           {"percentile_00_5", -1000.0},
                           {"percentile_99_5", 1500.0},
                           {"median", 0.0},
                           {"min", -1024.0},
                           {"max", 3000.0}}}}}};
  std::ofstream(dir / "plans.json") << plans.dump(2);
  write_checkpoint(dir / "fold_0" / "checkpoint_final.pth", threshold_weights(model), trainer, configuration, false);
}

} // namespace nervemap::segment::test
