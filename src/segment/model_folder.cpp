// A trained nnU-Net v2 model folder: what nnUNetPredictor.initialize_from_trained_model_folder reads
// (nnunetv2/inference/predict_from_raw_data.py), interpreted the way PlansManager/ConfigurationManager
// (utilities/plans_handling/plans_handler.py) and LabelManager (utilities/label_handling/
// label_handling.py) interpret it. Everything the runtime cannot honour is refused here, before any
// image is touched, with a message naming the file and the key.
#include "segment/internal.h"

#include <algorithm>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace nervemap::segment::detail {

namespace {

using json = nlohmann::json;

[[noreturn]] void fail(const fs::path& file, const std::string& what) {
  throw InputError(fmt::format("{}: {}", file.string(), what));
}

json parse_json_text(const std::string& text, const fs::path& file) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    fail(file, fmt::format("not valid JSON ({})", e.what()));
  }
}

std::string read_text(const fs::path& file, const char* what_to_do) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("{}: missing; {}", file.string(), what_to_do));
  std::string text((std::istreambuf_iterator<char>(in)), {});
  if (text.size() > (64u << 20))
    fail(file, "larger than 64 MiB; not an nnU-Net file");
  return text;
}

//! A json value of the expected type, or a clear error naming the key.
const json& need(const json& obj, const std::string& key, const fs::path& file, json::value_t type) {
  if (!obj.is_object() || !obj.contains(key))
    fail(file, fmt::format("has no '{}'", key));
  const json& v = obj.at(key);
  bool ok = v.type() == type || (type == json::value_t::number_float && v.is_number()) ||
            (type == json::value_t::number_integer && v.is_number_integer());
  if (!ok)
    fail(file, fmt::format("'{}' has the wrong type ({})", key, v.type_name()));
  return v;
}

std::vector<int> int_list(const json& v, const fs::path& file, const std::string& key) {
  if (!v.is_array())
    fail(file, fmt::format("'{}' is not a list", key));
  std::vector<int> out;
  for (const auto& x : v) {
    if (!x.is_number_integer())
      fail(file, fmt::format("'{}' holds a non-integer", key));
    out.push_back(x.get<int>());
  }
  return out;
}

std::array<int, 3> triple(const json& v, const fs::path& file, const std::string& key) {
  auto l = int_list(v, file, key);
  if (l.size() != 3)
    fail(file, fmt::format("'{}' must have 3 entries (2-D configurations are not supported yet; use a 3d_* "
                           "configuration)",
                           key));
  return {l[0], l[1], l[2]};
}

//! configurations[name] with inherits_from resolved (parent.update(child), recursively).
json resolve_configuration(const json& configurations, const std::string& name, const fs::path& file, int depth = 0) {
  if (!configurations.contains(name))
    fail(file, fmt::format("has no configuration '{}' (the checkpoint was trained with it; plans.json and the "
                           "checkpoint do not belong together)",
                           name));
  if (depth > 16)
    fail(file, "inherits_from forms a cycle");
  json c = configurations.at(name);
  if (!c.is_object())
    fail(file, fmt::format("configuration '{}' is not an object", name));
  if (c.contains("inherits_from")) {
    json parent = resolve_configuration(configurations, c.at("inherits_from").get<std::string>(), file, depth + 1);
    parent.update(c);
    parent.erase("inherits_from");
    return parent;
  }
  return c;
}

bool ends_with_name(const std::string& dotted, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    std::string_view v(dotted), t(n);
    if (v == t || (v.size() > t.size() && v.ends_with(t) && v[v.size() - t.size() - 1] == '.'))
      return true;
  }
  return false;
}

//! The old plans format (UNet_class_name, pool_op_kernel_sizes, ...) → architecture, exactly as
//! ConfigurationManager.__init__ reconstructs it.
json legacy_architecture(const json& c, const fs::path& file) {
  const std::string unet = need(c, "UNet_class_name", file, json::value_t::string).get<std::string>();
  std::string network_class;
  if (unet == "PlainConvUNet")
    network_class = "dynamic_network_architectures.architectures.unet.PlainConvUNet";
  else if (unet == "ResidualEncoderUNet")
    network_class = "dynamic_network_architectures.architectures.residual_unet.ResidualEncoderUNet";
  else
    fail(file, fmt::format("old-format plans with UNet_class_name '{}' (only PlainConvUNet and "
                           "ResidualEncoderUNet can be converted)",
                           unet));
  const json& enc = need(c, "n_conv_per_stage_encoder", file, json::value_t::array);
  const int n_stages = int(enc.size());
  const int base = need(c, "UNet_base_num_features", file, json::value_t::number_integer).get<int>();
  const int max_features = need(c, "unet_max_num_features", file, json::value_t::number_integer).get<int>();
  json features = json::array();
  for (int s = 0; s < n_stages; ++s)
    features.push_back(std::min(base << std::min(s, 20), max_features));
  json kwargs = {{"n_stages", n_stages},
                 {"features_per_stage", features},
                 {"conv_op", "torch.nn.modules.conv.Conv3d"},
                 {"kernel_sizes", need(c, "conv_kernel_sizes", file, json::value_t::array)},
                 {"strides", need(c, "pool_op_kernel_sizes", file, json::value_t::array)},
                 {unet == "PlainConvUNet" ? "n_conv_per_stage" : "n_blocks_per_stage", enc},
                 {"n_conv_per_stage_decoder", need(c, "n_conv_per_stage_decoder", file, json::value_t::array)},
                 {"conv_bias", true},
                 {"norm_op", "torch.nn.modules.instancenorm.InstanceNorm3d"},
                 {"norm_op_kwargs", {{"eps", 1e-5}, {"affine", true}}},
                 {"dropout_op", nullptr},
                 {"nonlin", "torch.nn.LeakyReLU"},
                 {"nonlin_kwargs", {{"inplace", true}}}};
  return {{"network_class_name", network_class}, {"arch_kwargs", kwargs}};
}

NetworkSpec parse_network(const json& architecture, const fs::path& file) {
  NetworkSpec n;
  n.class_name = need(architecture, "network_class_name", file, json::value_t::string).get<std::string>();
  const json& k = need(architecture, "arch_kwargs", file, json::value_t::object);
  if (ends_with_name(n.class_name, {"PlainConvUNet"}))
    n.kind = "PlainConvUNet";
  else if (ends_with_name(n.class_name, {"ResidualEncoderUNet"}))
    n.kind = "ResidualEncoderUNet";
  else
    fail(file, fmt::format("the network '{}' is not supported by this runtime (supported: PlainConvUNet, "
                           "ResidualEncoderUNet); run this model with nnU-Net itself",
                           n.class_name));
  n.n_stages = need(k, "n_stages", file, json::value_t::number_integer).get<int>();
  if (n.n_stages < 1 || n.n_stages > 12)
    fail(file, fmt::format("arch_kwargs.n_stages = {} is out of range", n.n_stages));
  const json& f = need(k, "features_per_stage", file, json::value_t::array);
  if (f.is_array()) {
    n.features = int_list(f, file, "features_per_stage");
  }
  auto stage_triples = [&](const char* key) {
    const json& v = need(k, key, file, json::value_t::array);
    std::vector<std::array<int, 3>> out;
    for (const auto& e : v)
      out.push_back(triple(e, file, key));
    return out;
  };
  n.kernel_sizes = stage_triples("kernel_sizes");
  n.strides = stage_triples("strides");
  const char* per_stage = n.kind == "PlainConvUNet" ? "n_conv_per_stage" : "n_blocks_per_stage";
  n.n_per_stage = int_list(need(k, per_stage, file, json::value_t::array), file, per_stage);
  n.n_conv_per_stage_decoder =
      int_list(need(k, "n_conv_per_stage_decoder", file, json::value_t::array), file, "n_conv_per_stage_decoder");
  const size_t s = size_t(n.n_stages);
  if (n.features.size() != s || n.kernel_sizes.size() != s || n.strides.size() != s || n.n_per_stage.size() != s ||
      n.n_conv_per_stage_decoder.size() != s - 1)
    fail(file, "arch_kwargs lists do not match n_stages");
  for (size_t i = 0; i < s; ++i) {
    if (n.features[i] < 1 || n.features[i] > 4096 || n.n_per_stage[i] < 1 || n.n_per_stage[i] > 64)
      fail(file, "arch_kwargs has an implausible feature or block count");
    for (int a = 0; a < 3; ++a)
      if (n.kernel_sizes[i][a] < 1 || n.kernel_sizes[i][a] % 2 == 0 || n.kernel_sizes[i][a] > 7 ||
          n.strides[i][a] < 1 || n.strides[i][a] > 4)
        fail(file, "arch_kwargs has an unsupported kernel size or stride");
  }
  for (int d : n.n_conv_per_stage_decoder)
    if (d < 1 || d > 64)
      fail(file, "arch_kwargs.n_conv_per_stage_decoder is out of range");
  if (k.contains("conv_bias"))
    n.conv_bias = k.at("conv_bias").get<bool>();
  const std::string conv_op = need(k, "conv_op", file, json::value_t::string).get<std::string>();
  if (!ends_with_name(conv_op, {"Conv3d"}))
    fail(file, fmt::format("conv_op '{}' is not supported (only 3-D networks: use a 3d_fullres/3d_lowres "
                           "configuration)",
                           conv_op));
  const std::string norm_op = k.contains("norm_op") && k.at("norm_op").is_string() ? k.at("norm_op").get<std::string>()
                                                                                     : std::string("null");
  if (!ends_with_name(norm_op, {"InstanceNorm3d"}))
    fail(file, fmt::format("norm_op '{}' is not supported (nnU-Net plans use InstanceNorm3d)", norm_op));
  if (k.contains("norm_op_kwargs") && k.at("norm_op_kwargs").is_object()) {
    const json& nk = k.at("norm_op_kwargs");
    if (nk.contains("eps"))
      n.norm_eps = nk.at("eps").get<double>();
    if (nk.contains("affine"))
      n.norm_affine = nk.at("affine").get<bool>();
  }
  if (k.contains("dropout_op") && !k.at("dropout_op").is_null()) {
    // Dropout is the identity at inference; accept it.
  }
  const std::string nonlin = k.contains("nonlin") && k.at("nonlin").is_string() ? k.at("nonlin").get<std::string>()
                                                                                : std::string("null");
  if (ends_with_name(nonlin, {"LeakyReLU"})) {
    n.negative_slope = 0.01;
    if (k.contains("nonlin_kwargs") && k.at("nonlin_kwargs").is_object() &&
        k.at("nonlin_kwargs").contains("negative_slope"))
      n.negative_slope = k.at("nonlin_kwargs").at("negative_slope").get<double>();
  } else if (ends_with_name(nonlin, {"ReLU"})) {
    n.negative_slope = 0;
  } else {
    fail(file, fmt::format("nonlin '{}' is not supported (LeakyReLU or ReLU)", nonlin));
  }
  return n;
}

ResamplingSpec parse_resampling(const json& c, const char* fn_key, const char* kwargs_key, const fs::path& file) {
  ResamplingSpec r;
  if (c.contains(fn_key))
    r.function = c.at(fn_key).get<std::string>();
  if (r.function != "resample_data_or_seg_to_shape")
    fail(file, fmt::format("{} = '{}' is not supported (only nnU-Net's default resample_data_or_seg_to_shape)",
                           fn_key, r.function));
  if (c.contains(kwargs_key) && c.at(kwargs_key).is_object()) {
    const json& k = c.at(kwargs_key);
    if (k.contains("order"))
      r.order = k.at("order").get<int>();
    if (k.contains("order_z"))
      r.order_z = k.at("order_z").get<int>();
    if (k.contains("force_separate_z") && !k.at("force_separate_z").is_null())
      r.force_separate_z = k.at("force_separate_z").get<bool>();
    if (k.contains("is_seg") && k.at("is_seg").get<bool>())
      fail(file, fmt::format("{} resamples as a segmentation; not supported for images", kwargs_key));
  }
  if ((r.order != 0 && r.order != 1 && r.order != 3) || (r.order_z != 0 && r.order_z != 1))
    fail(file, fmt::format("{}: interpolation order {}/{} is not supported (0, 1 or 3; order_z 0 or 1)", kwargs_key,
                           r.order, r.order_z));
  return r;
}

} // namespace

ModelFolder parse_model_folder(const fs::path& dir,
                               const std::string& dataset_text,
                               const std::string& plans_text,
                               const std::string& configuration,
                               const std::string& trainer) {
  const fs::path dataset_file = dir / "dataset.json", plans_file = dir / "plans.json";
  const json dataset = parse_json_text(dataset_text, dataset_file);
  const json plans = parse_json_text(plans_text, plans_file);
  ModelFolder m;
  m.dir = dir;
  m.trainer = trainer;
  m.configuration = configuration;

  // --- dataset.json: channels and labels
  const json* channels = nullptr;
  if (dataset.contains("channel_names"))
    channels = &dataset.at("channel_names");
  else if (dataset.contains("modality")) // nnU-Net v1 name, still accepted by determine_num_input_channels
    channels = &dataset.at("modality");
  if (!channels || !channels->is_object() || channels->empty())
    fail(dataset_file, "has no channel_names");
  m.channel_names.resize(channels->size());
  for (const auto& [index, name] : channels->items()) {
    size_t i = 0;
    try {
      i = std::stoul(index);
    } catch (...) {
      fail(dataset_file, fmt::format("channel_names key '{}' is not a channel number", index));
    }
    if (i >= m.channel_names.size() || !name.is_string())
      fail(dataset_file, "channel_names must be numbered 0..n-1 with names");
    m.channel_names[i] = name.get<std::string>();
  }
  const json& labels = need(dataset, "labels", dataset_file, json::value_t::object);
  if (!labels.contains("background") || !labels.at("background").is_number_integer() ||
      labels.at("background").get<int>() != 0)
    fail(dataset_file, "labels must declare background = 0");
  std::set<int> all_values{0};
  for (const auto& [name, value] : labels.items()) {
    if (name == "background" || name == "ignore")
      continue;
    LabelSpec l;
    l.name = name;
    if (value.is_number_integer())
      l.values = {value.get<int>()};
    else if (value.is_array())
      l.values = int_list(value, dataset_file, "labels." + name);
    else
      fail(dataset_file, fmt::format("label '{}' is neither a number nor a list", name));
    if (l.values.empty())
      fail(dataset_file, fmt::format("label '{}' is empty", name));
    for (int v : l.values) {
      if (v < 0 || v > 255)
        fail(dataset_file, fmt::format("label '{}' has value {} outside 0–255", name, v));
      all_values.insert(v);
    }
    if (l.values.size() > 1)
      m.has_regions = true;
    m.labels.push_back(std::move(l));
  }
  if (m.labels.empty())
    fail(dataset_file, "declares no foreground label");
  if (m.has_regions) {
    m.regions_class_order =
        int_list(need(dataset, "regions_class_order", dataset_file, json::value_t::array), dataset_file,
                 "regions_class_order");
    // LabelManager._get_regions: one region per non-background label, in dataset.json order.
    if (m.regions_class_order.size() != m.labels.size())
      fail(dataset_file, "regions_class_order must have one entry per region");
    m.num_heads = int(m.labels.size());
  } else {
    // Softmax export writes the argmax index as the label value: the labels must be 0..n-1.
    int expect = 0;
    for (int v : all_values)
      if (v != expect++)
        fail(dataset_file, "label values must be consecutive (0, 1, 2, ...), as nnU-Net requires");
    m.num_heads = int(all_values.size());
  }

  // --- plans.json
  m.plans_name = plans.value("plans_name", std::string());
  m.dataset_name = plans.value("dataset_name", std::string());
  m.image_reader_writer = plans.value("image_reader_writer", std::string("SimpleITKIO"));
  const auto tf = int_list(need(plans, "transpose_forward", plans_file, json::value_t::array), plans_file,
                           "transpose_forward");
  const auto tb = int_list(need(plans, "transpose_backward", plans_file, json::value_t::array), plans_file,
                           "transpose_backward");
  if (tf.size() != 3 || tb.size() != 3)
    fail(plans_file, "transpose_forward/backward must have 3 entries");
  for (int a = 0; a < 3; ++a) {
    m.transpose_forward[size_t(a)] = tf[size_t(a)];
    m.transpose_backward[size_t(a)] = tb[size_t(a)];
  }
  std::array<int, 3> check{};
  for (int a = 0; a < 3; ++a) {
    int f = m.transpose_forward[size_t(a)];
    if (f < 0 || f > 2 || m.transpose_backward[size_t(f)] != a)
      fail(plans_file, "transpose_forward and transpose_backward are not inverse permutations");
    ++check[size_t(f)];
  }
  if (check != std::array<int, 3>{1, 1, 1})
    fail(plans_file, "transpose_forward is not a permutation");

  const json& configurations = need(plans, "configurations", plans_file, json::value_t::object);
  json c = resolve_configuration(configurations, configuration, plans_file);
  if (c.contains("previous_stage") && !c.at("previous_stage").is_null())
    fail(plans_file, fmt::format("configuration '{}' is a cascade stage (needs the '{}' prediction first); "
                                 "cascades are not supported — use 3d_fullres",
                                 configuration,
                                 c.at("previous_stage").dump()));
  for (auto v : int_list(need(c, "patch_size", plans_file, json::value_t::array), plans_file, "patch_size")) {
    if (v < 1 || v > 1024)
      fail(plans_file, "patch_size out of range");
    m.patch_size.push_back(v);
  }
  for (const auto& v : need(c, "spacing", plans_file, json::value_t::array)) {
    if (!v.is_number() || !(v.get<double>() > 0))
      fail(plans_file, "spacing must hold positive numbers");
    m.spacing.push_back(v.get<double>());
  }
  if (m.patch_size.size() != 3 || m.spacing.size() != 3)
    fail(plans_file, fmt::format("configuration '{}' is 2-D; only 3-D configurations are supported", configuration));

  // Normalisation: one scheme per channel, statistics from the foreground intensity properties.
  const json& schemes = need(c, "normalization_schemes", plans_file, json::value_t::array);
  if (schemes.size() != m.channel_names.size())
    fail(plans_file, fmt::format("normalization_schemes has {} entries but dataset.json declares {} channels",
                                 schemes.size(), m.channel_names.size()));
  const json* props = nullptr;
  if (plans.contains("foreground_intensity_properties_per_channel"))
    props = &plans.at("foreground_intensity_properties_per_channel");
  else if (plans.contains("foreground_intensity_properties_by_modality"))
    props = &plans.at("foreground_intensity_properties_by_modality");
  std::vector<bool> use_mask(schemes.size(), false);
  if (c.contains("use_mask_for_norm") && c.at("use_mask_for_norm").is_array()) {
    const json& um = c.at("use_mask_for_norm");
    for (size_t i = 0; i < std::min(um.size(), use_mask.size()); ++i)
      use_mask[i] = um[i].get<bool>();
  }
  for (size_t ch = 0; ch < schemes.size(); ++ch) {
    NormalizationSpec n;
    n.scheme = schemes[ch].get<std::string>();
    n.use_mask = use_mask[ch];
    if (n.scheme == "CTNormalization") {
      const std::string key = std::to_string(ch);
      if (!props || !props->contains(key))
        fail(plans_file, fmt::format("CTNormalization of channel {} needs foreground_intensity_properties_per_"
                                     "channel['{}']",
                                     ch, key));
      const json& p = props->at(key);
      n.mean = need(p, "mean", plans_file, json::value_t::number_float).get<double>();
      n.std = need(p, "std", plans_file, json::value_t::number_float).get<double>();
      n.lower = need(p, "percentile_00_5", plans_file, json::value_t::number_float).get<double>();
      n.upper = need(p, "percentile_99_5", plans_file, json::value_t::number_float).get<double>();
    } else if (n.scheme != "ZScoreNormalization" && n.scheme != "NoNormalization" &&
               n.scheme != "RescaleTo01Normalization" && n.scheme != "RGBTo01Normalization") {
      fail(plans_file, fmt::format("normalization scheme '{}' is not supported", n.scheme));
    }
    m.normalization.push_back(n);
  }
  m.resample_data = parse_resampling(c, "resampling_fn_data", "resampling_fn_data_kwargs", plans_file);
  m.resample_probabilities =
      parse_resampling(c, "resampling_fn_probabilities", "resampling_fn_probabilities_kwargs", plans_file);

  json architecture = c.contains("architecture") ? c.at("architecture") : legacy_architecture(c, plans_file);
  m.network = parse_network(architecture, plans_file);
  m.network.in_channels = int(m.channel_names.size());
  m.network.num_classes = m.num_heads;
  if (trainer.starts_with("STUNetTrainer"))
    fail(dir, fmt::format("trainer '{}' builds an STU-Net; STU-Net models are not supported yet", trainer));
  return m;
}

ModelFolder open_model_folder(const fs::path& dir, const std::vector<int>& folds) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw InputError(fmt::format("{}: model folder not found; pass the nnU-Net trained-model folder (the one "
                                 "holding dataset.json, plans.json and fold_N/)",
                                 dir.string()));
  const char* hint = "a trained nnU-Net model folder holds dataset.json, plans.json and fold_N/checkpoint_final.pth";
  const std::string dataset_text = read_text(dir / "dataset.json", hint);
  const std::string plans_text = read_text(dir / "plans.json", hint);

  // Folds: explicit list, or every fold_N with a checkpoint (auto_detect_available_folds skips fold_all).
  std::vector<int> present;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("fold_") || !fs::is_regular_file(entry.path() / "checkpoint_final.pth", ec))
      continue;
    if (name == "fold_all") {
      present.push_back(-1);
      continue;
    }
    try {
      size_t used = 0;
      int f = std::stoi(name.substr(5), &used);
      if (used == name.size() - 5 && f >= 0)
        present.push_back(f);
    } catch (...) {
    }
  }
  std::sort(present.begin(), present.end());
  auto fold_list = [&]() {
    std::vector<std::string> names;
    for (int f : present)
      names.push_back(f < 0 ? "all" : std::to_string(f));
    return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
  };
  std::vector<int> use = folds;
  if (use.empty()) {
    for (int f : present)
      if (f >= 0)
        use.push_back(f);
    if (use.empty() && !present.empty())
      use.push_back(-1); // only fold_all: nnU-Net would need it named explicitly; accept it
  }
  if (use.empty())
    throw InputError(fmt::format("{}: no fold_N/checkpoint_final.pth found; the model folder is incomplete (copy "
                                 "the trained folds into it)",
                                 dir.string()));
  for (int f : use)
    if (std::find(present.begin(), present.end(), f) == present.end())
      throw InputError(fmt::format("{}: fold {} has no checkpoint_final.pth (folds present: {}); choose folds "
                                   "with --folds",
                                   dir.string(), f < 0 ? std::string("all") : std::to_string(f), fold_list()));

  std::vector<fs::path> checkpoints;
  for (int f : use)
    checkpoints.push_back(dir / (f < 0 ? std::string("fold_all") : "fold_" + std::to_string(f)) /
                          "checkpoint_final.pth");
  const Checkpoint first = read_checkpoint(checkpoints.front(), false);
  ModelFolder m = parse_model_folder(dir, dataset_text, plans_text, first.configuration, first.trainer_name);
  m.folds = use;
  m.checkpoints = checkpoints;
  m.mirroring_axes = first.mirroring_axes;
  return m;
}

} // namespace nervemap::segment::detail
