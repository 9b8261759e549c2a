// `--model DIR`: nnU-Net's predictor on one case (nnunetv2/inference/predict_from_raw_data.py,
// nnUNetPredictor: initialize_from_trained_model_folder, predict_from_files_sequential,
// predict_logits_from_preprocessed_data) — file voxel order, no reorientation, every selected fold's
// logits summed and averaged, mirroring only when asked, then export_prediction_from_logits.
#include "segment/internal.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <fmt/format.h>

namespace nervemap::segment {

namespace detail {

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

//! What a dataset.json channel name stands for: "CT", "PET" or "" (unknown).
std::string channel_kind(const std::string& name) {
  const std::string n = lower(name);
  if (n == "pet" || n == "pt" || n == "suv" || n.find("pet") != std::string::npos)
    return "PET";
  if (n == "ct" || n.find("ct") != std::string::npos || n == "hu")
    return "CT";
  return "";
}

} // namespace

CaseInput case_input(const std::vector<const CtVolume*>& channels) {
  CaseInput in;
  const Geometry& g = channels.front()->geometry;
  in.shape = {g.dims[2], g.dims[1], g.dims[0]};
  // SimpleITK/NibabelIO give the header's voxel size (float32 pixdim), reversed to (z, y, x).
  for (int a = 0; a < 3; ++a)
    in.spacing[size_t(a)] = double(float(g.spacing[2 - a]));
  for (const CtVolume* c : channels) {
    if (c->geometry.dims != g.dims)
      throw InputError("the input channels have different sizes; resample them onto one grid first");
    in.channels.push_back(c->data.data());
  }
  return in;
}

LabelTable output_table(const ModelFolder& model) {
  LabelTable t;
  for (size_t i = 0; i < model.labels.size(); ++i) {
    const LabelSpec& l = model.labels[i];
    const int value = model.has_regions ? model.regions_class_order[i] : l.values.front();
    if (!t.find(value) && !t.find(l.name))
      t.add({value, l.name, {128, 128, 128}});
  }
  return t;
}

CtVolume resample_linear(const CtVolume& image, const Geometry& target, float outside) {
  CtVolume out(target, outside);
  const Mat4 to_source = image.geometry.affine().inverse() * target.affine();
  const Index3& d = image.geometry.dims;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t k = 0; k < target.dims[2]; ++k)
    for (int64_t j = 0; j < target.dims[1]; ++j)
      for (int64_t i = 0; i < target.dims[0]; ++i) {
        const Eigen::Vector4d p = to_source * Eigen::Vector4d(double(i), double(j), double(k), 1.0);
        const double x = p[0], y = p[1], z = p[2];
        if (x < -0.5 || y < -0.5 || z < -0.5 || x > double(d[0]) - 0.5 || y > double(d[1]) - 0.5 ||
            z > double(d[2]) - 0.5)
          continue;
        auto clampi = [](double v, int64_t n) {
          return std::clamp<int64_t>(int64_t(std::floor(v)), 0, n - 1);
        };
        const int64_t x0 = clampi(x, d[0]), y0 = clampi(y, d[1]), z0 = clampi(z, d[2]);
        const int64_t x1 = std::min(x0 + 1, d[0] - 1), y1 = std::min(y0 + 1, d[1] - 1),
                      z1 = std::min(z0 + 1, d[2] - 1);
        const double fx = std::clamp(x - double(x0), 0.0, 1.0), fy = std::clamp(y - double(y0), 0.0, 1.0),
                     fz = std::clamp(z - double(z0), 0.0, 1.0);
        auto v = [&](int64_t a, int64_t b, int64_t c) { return double(image.at(a, b, c)); };
        const double c00 = v(x0, y0, z0) * (1 - fx) + v(x1, y0, z0) * fx;
        const double c10 = v(x0, y1, z0) * (1 - fx) + v(x1, y1, z0) * fx;
        const double c01 = v(x0, y0, z1) * (1 - fx) + v(x1, y0, z1) * fx;
        const double c11 = v(x0, y1, z1) * (1 - fx) + v(x1, y1, z1) * fx;
        out.at(i, j, k) = float((c00 * (1 - fy) + c10 * fy) * (1 - fz) + (c01 * (1 - fy) + c11 * fy) * fz);
      }
  return out;
}

Exported predict_case(const ModelFolder& model, const CaseInput& input, const CaseOptions& options) {
  auto report = [&](const std::string& stage, double f) {
    if (options.progress)
      options.progress(stage, f);
  };
  report("preprocessing", 0.0);
  const Preprocessed pre = preprocess(input, model);
  const Shape3 patch{model.patch_size[0], model.patch_size[1], model.patch_size[2]};

  SlidingWindowOptions sw;
  sw.step_size = options.step_size;
  sw.fp16 = options.fp16;
  sw.skip_air_tiles = options.skip_air_tiles;
  if (options.mirroring && model.mirroring_axes)
    sw.mirror_axes = *model.mirroring_axes;
  const int folds = int(model.checkpoints.size());
  Logits total;
  for (int f = 0; f < folds; ++f) {
    const std::string fold_name = model.folds[size_t(f)] < 0 ? "all" : std::to_string(model.folds[size_t(f)]);
    report(fmt::format("loading fold {}", fold_name), 0.05 + 0.9 * f / folds);
    Checkpoint ck = read_checkpoint(model.checkpoints[size_t(f)], true);
    if (ck.configuration != model.configuration)
      throw InputError(
          fmt::format("{}: trained with configuration '{}' but fold {} says '{}'; the folds do not "
                      "belong to one model",
                      model.checkpoints[size_t(f)].string(),
                      ck.configuration,
                      model.folds.front(),
                      model.configuration));
    auto network = build_network(model.network, std::move(ck.weights), model.checkpoints[size_t(f)].string());
    sw.on_tile = [&](int64_t done, int64_t count) {
      report(fmt::format("fold {}: tile {}/{}", fold_name, done, count),
             0.05 + 0.9 * (f + double(done) / double(count)) / folds);
    };
    Logits logits = sliding_window(*network, pre, patch, model.num_heads, sw);
    if (f == 0)
      total = std::move(logits);
    else
      add_fold(total, logits);
  }
  average_folds(total, folds);
  report("exporting", 0.96);
  Exported e = export_prediction(total, pre, model, options.probabilities, options.streaming_labels);
  report("done", 1.0);
  return e;
}

} // namespace detail

using namespace detail;

ModelSummary inspect_model(const fs::path& model_dir, const std::vector<int>& folds) {
  const ModelFolder m = open_model_folder(model_dir, folds);
  ModelSummary s;
  s.dir = m.dir;
  s.dataset_name = m.dataset_name;
  s.plans_name = m.plans_name;
  s.trainer = m.trainer;
  s.configuration = m.configuration;
  s.network = m.network.kind;
  s.channel_names = m.channel_names;
  s.folds = m.folds;
  s.labels = output_table(m);
  s.region_based = m.has_regions;
  s.patch_size = m.patch_size;
  s.spacing = m.spacing;
  return s;
}

Segmentation predict_model(const fs::path& model_dir,
                           const std::vector<InputChannel>& channels,
                           const std::vector<int>& folds,
                           const InferenceOptions& options,
                           Warnings& warnings) {
  if (channels.empty() || !channels.front().volume)
    throw InputError("no input image given");
  const ModelFolder model = open_model_folder(model_dir, folds);
  set_compute_threads(options.threads);

  // Match the given images to dataset.json channel_names (CT, PET, ...).
  std::vector<std::string> expected;
  for (const auto& name : model.channel_names) {
    std::string kind = channel_kind(name);
    if (kind.empty() && model.channel_names.size() == 1)
      kind = "CT"; // a single unnamed channel takes the CT
    expected.push_back(kind.empty() ? name : kind);
  }
  std::vector<std::string> given;
  for (const auto& c : channels)
    given.push_back(c.name);
  std::vector<const CtVolume*> ordered;
  for (const auto& want : expected) {
    auto it = std::find_if(channels.begin(), channels.end(), [&](const InputChannel& c) {
      return lower(c.name) == lower(want);
    });
    if (it == channels.end())
      throw InputError(
          fmt::format("the model expects the input channels {} (dataset.json channel_names: {}) but "
                      "got {}; pass {}",
                      fmt::join(expected, " + "),
                      fmt::join(model.channel_names, ", "),
                      fmt::join(given, " + "),
                      lower(want) == "pet" ? "--pet with the PET image" : "--ct with the CT"));
    ordered.push_back(it->volume);
  }
  if (channels.size() != expected.size())
    throw InputError(
        fmt::format("the model takes {} input channel(s) ({}) but {} were given ({}); leave out the "
                    "extra image",
                    expected.size(),
                    fmt::join(expected, " + "),
                    channels.size(),
                    fmt::join(given, " + ")));
  // nnU-Net needs every channel on one grid; PET usually comes on its own (HECKTOR): resample it onto the CT.
  std::vector<CtVolume> resampled;
  resampled.reserve(ordered.size());
  for (size_t c = 1; c < ordered.size(); ++c)
    if (!ordered[c]->geometry.same_grid(ordered[0]->geometry)) {
      warnings.add(fmt::format("the {} image is on another grid than the {}; resampled onto it (linear)",
                               expected[c],
                               expected[0]));
      resampled.push_back(resample_linear(*ordered[c], ordered[0]->geometry, 0.0f));
      ordered[c] = &resampled.back();
    }

  CaseOptions co;
  co.step_size = options.step_size.value_or(0.5);
  co.mirroring = options.mirroring;
  co.fp16 = options.fp16_accumulation;
  co.skip_air_tiles = options.skip_air_tiles;
  co.progress = options.progress;
  if (options.mirroring && !model.mirroring_axes)
    warnings.add(
        "the model was trained without mirroring (inference_allowed_mirroring_axes is None); --tta has "
        "no effect");
  Exported e = predict_case(model, case_input(ordered), co);

  Segmentation s;
  s.labels = MaskVolume(ordered[0]->geometry);
  s.labels.data = std::move(e.labels);
  s.table = output_table(model);
  s.models.push_back(model.dir.filename().empty() ? model.dir.parent_path().filename().string()
                                                  : model.dir.filename().string());
  return s;
}

} // namespace nervemap::segment
