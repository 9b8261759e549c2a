// nnU-Net's preprocessing of one case and the export of its prediction.
//
// Preprocessing: DefaultPreprocessor.run_case_npy (preprocessing/preprocessors/default_preprocessor.py):
//   transpose (plans transpose_forward) → crop_to_nonzero (preprocessing/cropping/cropping.py) →
//   normalise (preprocessing/normalization/default_normalization_schemes.py, before resampling) →
//   resample to the configuration spacing (resampling_fn_data, order 3 by default).
// Export: convert_predicted_logits_to_segmentation_with_correct_shape (inference/export_prediction.py):
//   resample the logits (resampling_fn_probabilities, order 1) to the cropped shape → softmax/sigmoid
//   (LabelManager.apply_inference_nonlin) → argmax or regions (convert_probabilities_to_segmentation) →
//   un-crop (background 0; probabilities: channel 0 = 1 outside) → transpose_backward.
#include "segment/internal.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <fmt/format.h>

namespace nervemap::segment::detail {

namespace {

int64_t volume(const Shape3& s) {
  return s[0] * s[1] * s[2];
}

//! The strides of the source array for each axis of its transposed view (out axis a = in axis perm[a]).
std::array<int64_t, 3> permuted_strides(const Shape3& in_shape, const std::array<int, 3>& perm) {
  const std::array<int64_t, 3> stride{in_shape[1] * in_shape[2], in_shape[2], 1};
  return {stride[size_t(perm[0])], stride[size_t(perm[1])], stride[size_t(perm[2])]};
}

Shape3 permuted_shape(const Shape3& in_shape, const std::array<int, 3>& perm) {
  return {in_shape[size_t(perm[0])], in_shape[size_t(perm[1])], in_shape[size_t(perm[2])]};
}

//! One axis of skimage.transform.resize / ndimage.zoom(grid_mode=True, mode='nearest'): output index o
//! reads input coordinate (o + 0.5)·in/out − 0.5, linearly (order 1) or rounded (order 0, nnU-Net's order_z
//! along a separately resampled axis).
struct LinearTaps {
  std::vector<int64_t> lo, hi;
  std::vector<float> w; //!< weight of `hi`
};
LinearTaps linear_taps(int64_t in_len, int64_t out_len, bool nearest) {
  LinearTaps t;
  t.lo.resize(size_t(out_len));
  t.hi.resize(size_t(out_len));
  t.w.resize(size_t(out_len));
  const double scale = double(in_len) / double(out_len);
  for (int64_t o = 0; o < out_len; ++o) {
    const double c = std::clamp((double(o) + 0.5) * scale - 0.5, 0.0, double(in_len - 1));
    if (nearest) {
      t.lo[size_t(o)] = t.hi[size_t(o)] = std::min<int64_t>(int64_t(std::floor(c + 0.5)), in_len - 1);
      t.w[size_t(o)] = 0;
    } else {
      t.lo[size_t(o)] = int64_t(std::floor(c));
      t.hi[size_t(o)] = std::min<int64_t>(t.lo[size_t(o)] + 1, in_len - 1);
      t.w[size_t(o)] = float(c - double(t.lo[size_t(o)]));
    }
  }
  return t;
}

//! Step 1 + 2 of the export for softmax models in one pass (streaming_labels): each output voxel takes the
//! argmax over heads of its order-1 interpolated logits — what nnU-Net's resample-then-argmax gives, but
//! without holding every class at full resolution (61 classes on a 0.8 mm neck: 2.7 GB, 45 s → 0.3 GB).
//! It differs from the exact path only where two classes tie to within float16 rounding.
std::vector<uint8_t> argmax_of_resampled_logits(
    const float* logits, int64_t heads, const Shape3& in, const Shape3& out, const SeparateZ& sep) {
  std::array<LinearTaps, 3> taps;
  for (int a = 0; a < 3; ++a)
    taps[size_t(a)] = linear_taps(in[size_t(a)], out[size_t(a)], sep.separate && sep.axis == a);
  const int64_t plane = in[1] * in[2], channel = in[0] * plane;
  std::vector<uint8_t> seg(size_t(out[0] * out[1] * out[2]), 0);
#pragma omp parallel for schedule(dynamic)
  for (int64_t z = 0; z < out[0]; ++z) {
    const int64_t z0 = taps[0].lo[size_t(z)] * plane, z1 = taps[0].hi[size_t(z)] * plane;
    const float wz = taps[0].w[size_t(z)];
    for (int64_t y = 0; y < out[1]; ++y) {
      const int64_t y0 = taps[1].lo[size_t(y)] * in[2], y1 = taps[1].hi[size_t(y)] * in[2];
      const float wy = taps[1].w[size_t(y)];
      for (int64_t x = 0; x < out[2]; ++x) {
        const int64_t x0 = taps[2].lo[size_t(x)], x1 = taps[2].hi[size_t(x)];
        const float wx = taps[2].w[size_t(x)];
        const int64_t c000 = z0 + y0 + x0, c001 = z0 + y0 + x1, c010 = z0 + y1 + x0, c011 = z0 + y1 + x1,
                      c100 = z1 + y0 + x0, c101 = z1 + y0 + x1, c110 = z1 + y1 + x0, c111 = z1 + y1 + x1;
        int best = 0;
        float best_v = 0;
        for (int64_t h = 0; h < heads; ++h) {
          const float* l = logits + h * channel;
          const float a0 = l[c000] + wx * (l[c001] - l[c000]), a1 = l[c010] + wx * (l[c011] - l[c010]);
          const float b0 = l[c100] + wx * (l[c101] - l[c100]), b1 = l[c110] + wx * (l[c111] - l[c110]);
          const float a = a0 + wy * (a1 - a0), b = b0 + wy * (b1 - b0);
          const float v = a + wz * (b - a);
          if (h == 0 || v > best_v) { // argmax: the first maximum
            best_v = v;
            best = int(h);
          }
        }
        seg[size_t((z * out[1] + y) * out[2] + x)] = uint8_t(best);
      }
    }
  }
  return seg;
}

//! scipy.ndimage.binary_fill_holes (6-connected background reachable from the border stays background).
std::vector<uint8_t> fill_holes(const std::vector<uint8_t>& mask, const Shape3& s) {
  std::vector<uint8_t> outside(mask.size(), 0);
  std::vector<int64_t> queue;
  auto push = [&](int64_t i) {
    if (!mask[size_t(i)] && !outside[size_t(i)]) {
      outside[size_t(i)] = 1;
      queue.push_back(i);
    }
  };
  for (int64_t z = 0; z < s[0]; ++z)
    for (int64_t y = 0; y < s[1]; ++y)
      for (int64_t x = 0; x < s[2]; ++x)
        if (z == 0 || y == 0 || x == 0 || z == s[0] - 1 || y == s[1] - 1 || x == s[2] - 1)
          push((z * s[1] + y) * s[2] + x);
  while (!queue.empty()) {
    const int64_t i = queue.back();
    queue.pop_back();
    const int64_t x = i % s[2], y = (i / s[2]) % s[1], z = i / (s[1] * s[2]);
    if (x > 0)
      push(i - 1);
    if (x + 1 < s[2])
      push(i + 1);
    if (y > 0)
      push(i - s[2]);
    if (y + 1 < s[1])
      push(i + s[2]);
    if (z > 0)
      push(i - s[1] * s[2]);
    if (z + 1 < s[0])
      push(i + s[1] * s[2]);
  }
  std::vector<uint8_t> filled(mask.size());
  for (size_t i = 0; i < mask.size(); ++i)
    filled[i] = !outside[i];
  return filled;
}

//! Normalise one cropped channel in place, in float32 as numpy does (schemes in
//! default_normalization_schemes.py).
void normalise(float* x, int64_t n, const NormalizationSpec& spec, const uint8_t* mask) {
  if (spec.scheme == "CTNormalization") {
    // np.clip(image, p0.5, p99.5); image -= mean; image /= max(std, 1e-8) — all float32
    const float lo = float(spec.lower), hi = float(spec.upper), mean = float(spec.mean);
    const float sd = float(std::max(spec.std, 1e-8));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      float v = std::min(std::max(x[i], lo), hi);
      v -= mean;
      x[i] = v / sd;
    }
  } else if (spec.scheme == "ZScoreNormalization") {
    // Mean and population std over the image, or over the nonzero mask when use_mask_for_norm (then only
    // the masked voxels change).
    double sum = 0, count = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!spec.use_mask || mask[i]) {
        sum += x[i];
        count += 1;
      }
    const double mean = count > 0 ? sum / count : 0;
    double sq = 0;
    for (int64_t i = 0; i < n; ++i)
      if (!spec.use_mask || mask[i])
        sq += (x[i] - mean) * (x[i] - mean);
    const float m = float(mean), sd = std::max(float(count > 0 ? std::sqrt(sq / count) : 0.0), 1e-8f);
    for (int64_t i = 0; i < n; ++i)
      if (!spec.use_mask || mask[i])
        x[i] = (x[i] - m) / sd;
  } else if (spec.scheme == "RescaleTo01Normalization") {
    const auto [lo, hi] = std::minmax_element(x, x + n);
    const float a = *lo, range = std::max(*hi - *lo, 1e-8f);
    for (int64_t i = 0; i < n; ++i)
      x[i] = (x[i] - a) / range;
  } else if (spec.scheme == "RGBTo01Normalization") {
    for (int64_t i = 0; i < n; ++i)
      x[i] = x[i] / 255.0f;
  } // NoNormalization: unchanged
}

} // namespace

Preprocessed preprocess(const CaseInput& input, const ModelFolder& model) {
  const int64_t channels = int64_t(input.channels.size());
  if (channels != int64_t(model.normalization.size()))
    throw InputError(fmt::format(
        "the model expects {} input channel(s) but {} were given", model.normalization.size(), channels));
  Preprocessed pre;
  const auto& tf = model.transpose_forward;
  // transpose_forward, also of the spacing
  pre.shape_before_cropping = permuted_shape(input.shape, tf);
  for (int a = 0; a < 3; ++a)
    pre.original_spacing[size_t(a)] = input.spacing[size_t(tf[size_t(a)])];
  for (int a = 0; a < 3; ++a)
    pre.target_spacing[size_t(a)] = model.spacing[size_t(a)];
  const Shape3& ts = pre.shape_before_cropping;
  const auto strides = permuted_strides(input.shape, tf);

  // crop_to_nonzero: the bounding box of voxels nonzero in any channel (hole filling cannot change it).
  std::array<int64_t, 3> lo{ts[0], ts[1], ts[2]}, hi{0, 0, 0};
  for (int64_t c = 0; c < channels; ++c) {
    const float* src = input.channels[size_t(c)];
    for (int64_t z = 0; z < ts[0]; ++z)
      for (int64_t y = 0; y < ts[1]; ++y) {
        const float* row = src + z * strides[0] + y * strides[1];
        for (int64_t x = 0; x < ts[2]; ++x)
          if (row[x * strides[2]] != 0.0f) {
            lo = {std::min(lo[0], z), std::min(lo[1], y), std::min(lo[2], x)};
            hi = {std::max(hi[0], z + 1), std::max(hi[1], y + 1), std::max(hi[2], x + 1)};
          }
      }
  }
  if (hi[0] == 0)
    throw InputError("the image is zero everywhere; nothing to segment (check the input file)");
  pre.bbox = {lo, hi};
  const Shape3 cs{hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]};
  pre.shape_after_cropping = cs;
  const int64_t n = volume(cs);

  // The nonzero mask inside the crop is only needed for ZScore with use_mask_for_norm.
  std::vector<uint8_t> mask;
  if (std::any_of(
          model.normalization.begin(), model.normalization.end(), [](const auto& s) { return s.use_mask; })) {
    std::vector<uint8_t> full(size_t(volume(ts)), 0);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t z = 0; z < ts[0]; ++z)
        for (int64_t y = 0; y < ts[1]; ++y)
          for (int64_t x = 0; x < ts[2]; ++x)
            if (input.channels[size_t(c)][z * strides[0] + y * strides[1] + x * strides[2]] != 0.0f)
              full[size_t((z * ts[1] + y) * ts[2] + x)] = 1;
    full = fill_holes(full, ts);
    mask.resize(size_t(n));
    for (int64_t z = 0; z < cs[0]; ++z)
      for (int64_t y = 0; y < cs[1]; ++y)
        for (int64_t x = 0; x < cs[2]; ++x)
          mask[size_t((z * cs[1] + y) * cs[2] + x)] =
              full[size_t(((z + lo[0]) * ts[1] + y + lo[1]) * ts[2] + x + lo[2])];
  }

  const Shape3 new_shape = compute_new_shape(cs, pre.original_spacing, pre.target_spacing);
  for (int a = 0; a < 3; ++a)
    if (new_shape[size_t(a)] < 1)
      throw InputError("the image is too small to resample to the model's spacing");
  const SeparateZ sep =
      decide_separate_z(model.resample_data.force_separate_z, pre.original_spacing, pre.target_spacing);
  pre.data = FloatArray({channels, new_shape[0], new_shape[1], new_shape[2]});
  std::vector<float> cropped(static_cast<size_t>(n));
  std::vector<double> as_double(static_cast<size_t>(n));
  for (int64_t c = 0; c < channels; ++c) {
    const float* src = input.channels[size_t(c)];
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t z = 0; z < cs[0]; ++z)
      for (int64_t y = 0; y < cs[1]; ++y)
        for (int64_t x = 0; x < cs[2]; ++x)
          cropped[size_t((z * cs[1] + y) * cs[2] + x)] =
              src[(z + lo[0]) * strides[0] + (y + lo[1]) * strides[1] + (x + lo[2]) * strides[2]];
    normalise(cropped.data(), n, model.normalization[size_t(c)], mask.empty() ? nullptr : mask.data());
    float* dst = pre.data.data.data() + c * volume(new_shape);
    if (new_shape == cs) { // resample_data_or_seg returns the data untouched
      std::copy(cropped.begin(), cropped.end(), dst);
      continue;
    }
    // resample_data_or_seg: float64 throughout, stored into the float32 result
    std::copy(cropped.begin(), cropped.end(), as_double.begin());
    std::vector<double> r = resample_channel(
        as_double.data(), cs, new_shape, model.resample_data.order, model.resample_data.order_z, sep);
    for (size_t i = 0; i < r.size(); ++i)
      dst[i] = float(r[i]);
  }
  const NormalizationSpec& ct = model.normalization.front();
  if (ct.scheme == "CTNormalization")
    pre.air_threshold = (std::min(std::max(-500.0f, float(ct.lower)), float(ct.upper)) - float(ct.mean)) /
                        float(std::max(ct.std, 1e-8));
  return pre;
}

Exported export_prediction(const Logits& logits,
                           const Preprocessed& pre,
                           const ModelFolder& model,
                           bool probabilities,
                           bool streaming_labels) {
  const int64_t heads = logits.values.shape.at(0);
  const Shape3 in{logits.values.shape.at(1), logits.values.shape.at(2), logits.values.shape.at(3)};
  const Shape3 cs = pre.shape_after_cropping;
  const int64_t n = volume(cs);
  const bool streaming = streaming_labels && !probabilities && !model.has_regions && in != cs &&
                         model.resample_probabilities.order == 1 && model.resample_probabilities.order_z == 0;

  // 1. Logits back to the cropped shape (current spacing = the configuration's, new = the original).
  std::vector<float> resampled;
  const float* logit_data = logits.values.data.data();
  std::vector<uint8_t> seg;
  if (streaming) {
    const SeparateZ sep = decide_separate_z(
        model.resample_probabilities.force_separate_z, pre.target_spacing, pre.original_spacing);
    seg = argmax_of_resampled_logits(logit_data, heads, in, cs, sep);
  } else if (in != cs) {
    const SeparateZ sep = decide_separate_z(
        model.resample_probabilities.force_separate_z, pre.target_spacing, pre.original_spacing);
    resampled.resize(size_t(heads * n));
    std::vector<double> channel(size_t(volume(in)));
    for (int64_t h = 0; h < heads; ++h) {
      const float* src = logits.values.data.data() + h * volume(in);
      std::copy(src, src + volume(in), channel.begin());
      std::vector<double> r = resample_channel(channel.data(),
                                               in,
                                               cs,
                                               model.resample_probabilities.order,
                                               model.resample_probabilities.order_z,
                                               sep);
      float* dst = resampled.data() + h * n;
      // resample_data_or_seg stores into an array of the logits' dtype: float16 when nnU-Net's half
      // accumulators produced them (numpy rounds float64 → float16 directly).
      if (logits.half) {
        for (size_t i = 0; i < r.size(); ++i)
          dst[i] = half_to_float(double_to_half(r[i]));
      } else {
        for (size_t i = 0; i < r.size(); ++i)
          dst[i] = float(r[i]);
      }
    }
    logit_data = resampled.data();
  }

  // 2. Nonlinearity and labels (float32, as LabelManager does after logits.float()).
  std::vector<float> probs;
  if (probabilities)
    probs.resize(size_t(heads * n));
  if (streaming) {
    // labels done in step 1
  } else if (!model.has_regions) {
    seg.assign(size_t(n), 0);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      float m = logit_data[i];
      for (int64_t h = 1; h < heads; ++h)
        m = std::max(m, logit_data[h * n + i]);
      float sum = 0;
      float e[256];
      for (int64_t h = 0; h < heads; ++h) {
        e[h] = std::exp(logit_data[h * n + i] - m);
        sum += e[h];
      }
      int best = 0;
      float best_p = -1;
      for (int64_t h = 0; h < heads; ++h) {
        const float p = e[h] / sum;
        if (p > best_p) { // argmax: the first maximum
          best_p = p;
          best = int(h);
        }
        if (probabilities)
          probs[size_t(h * n + i)] = p;
      }
      seg[size_t(i)] = uint8_t(best);
    }
  } else {
    seg.assign(size_t(n), 0);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      uint8_t label = 0;
      for (int64_t h = 0; h < heads; ++h) {
        const float p = 1.0f / (1.0f + std::exp(-logit_data[h * n + i]));
        if (p > 0.5f)
          label = uint8_t(model.regions_class_order[size_t(h)]);
        if (probabilities)
          probs[size_t(h * n + i)] = p;
      }
      seg[size_t(i)] = label;
    }
  }

  // 3. Un-crop (background outside the bbox) and 4. transpose back.
  const Shape3 ts = pre.shape_before_cropping;
  const auto& tb = model.transpose_backward;
  const Shape3 out_shape = permuted_shape(ts, tb);
  // Output index (o0, o1, o2) ↔ transposed index: transposed axis tb[a] has coordinate o_a.
  const auto tstride = std::array<int64_t, 3>{ts[1] * ts[2], ts[2], 1};
  const std::array<int64_t, 3> map{tstride[size_t(tb[0])], tstride[size_t(tb[1])], tstride[size_t(tb[2])]};
  auto uncrop_transpose = [&](const auto* cropped, auto outside, auto* out) {
    std::vector<std::decay_t<decltype(outside)>> full(size_t(volume(ts)), outside);
    for (int64_t z = 0; z < cs[0]; ++z)
      for (int64_t y = 0; y < cs[1]; ++y)
        for (int64_t x = 0; x < cs[2]; ++x)
          full[size_t(((z + pre.bbox.lo[0]) * ts[1] + y + pre.bbox.lo[1]) * ts[2] + x + pre.bbox.lo[2])] =
              cropped[(z * cs[1] + y) * cs[2] + x];
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t a = 0; a < out_shape[0]; ++a)
      for (int64_t b = 0; b < out_shape[1]; ++b)
        for (int64_t c = 0; c < out_shape[2]; ++c)
          out[(a * out_shape[1] + b) * out_shape[2] + c] = full[size_t(a * map[0] + b * map[1] + c * map[2])];
  };
  Exported result;
  result.labels.resize(size_t(volume(out_shape)));
  uncrop_transpose(seg.data(), uint8_t(0), result.labels.data());
  if (probabilities) {
    result.probabilities = FloatArray({heads, out_shape[0], out_shape[1], out_shape[2]});
    for (int64_t h = 0; h < heads; ++h)
      uncrop_transpose(probs.data() + h * n,
                       (!model.has_regions && h == 0) ? 1.0f : 0.0f, // revert_cropping_on_probabilities
                       result.probabilities.data.data() + h * volume(out_shape));
  }
  return result;
}

} // namespace nervemap::segment::detail
