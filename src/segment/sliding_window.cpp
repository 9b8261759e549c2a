// Sliding-window inference as nnU-Net runs it on the CPU (inference/predict_from_raw_data.py:
// predict_sliding_window_return_logits, _internal_predict_sliding_window_return_logits,
// _internal_maybe_mirror_and_predict, predict_logits_from_preprocessed_data; inference/
// sliding_window_prediction.py: compute_gaussian, compute_steps_for_sliding_window; acvl_utils
// pad_nd_image).
//
//  - pad every axis shorter than the patch with zeros (in normalised units), pad_below = diff // 2;
//  - tiles start at round(i · (size − patch)/(n − 1)) with n = ceil((size − patch)/(patch · step)) + 1;
//  - each tile's logits (mirrored variants averaged in float32) are multiplied by the Gaussian importance
//    map (σ = patch/8, peak 10, stored as torch.half) and added into a torch.half accumulator, the map
//    into a torch.half weight accumulator; the result is their quotient (rounded to half). With
//    fp16 = false the accumulators are float32 instead (differences ~1e-3, research §2.7).
#include "segment/internal.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numeric>

namespace nervemap::segment::detail {

namespace {

int64_t volume(const Shape3& s) { return s[0] * s[1] * s[2]; }

//! The non-empty combinations of the mirror axes in itertools.combinations order, by size.
std::vector<std::vector<int>> mirror_combinations(const std::vector<int>& axes) {
  std::vector<std::vector<int>> combos;
  const int n = int(axes.size());
  for (int k = 1; k <= n; ++k) {
    std::vector<int> pick(static_cast<size_t>(k));
    std::iota(pick.begin(), pick.end(), 0);
    for (;;) {
      std::vector<int> c;
      for (int i : pick)
        c.push_back(axes[size_t(i)]);
      combos.push_back(c);
      int i = k - 1;
      while (i >= 0 && pick[size_t(i)] == n - k + i)
        --i;
      if (i < 0)
        break;
      ++pick[size_t(i)];
      for (int j = i + 1; j < k; ++j)
        pick[size_t(j)] = pick[size_t(j - 1)] + 1;
    }
  }
  return combos;
}

//! Flip a (channels, d0, d1, d2) block along the given spatial axes (0–2) into `out`.
void flip(const float* in, int64_t channels, const Shape3& s, const std::vector<int>& axes, float* out) {
  bool f[3] = {false, false, false};
  for (int a : axes)
    f[a] = true;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t z = 0; z < s[0]; ++z)
      for (int64_t y = 0; y < s[1]; ++y) {
        const int64_t sz = f[0] ? s[0] - 1 - z : z, sy = f[1] ? s[1] - 1 - y : y;
        const float* src = in + ((c * s[0] + sz) * s[1] + sy) * s[2];
        float* dst = out + ((c * s[0] + z) * s[1] + y) * s[2];
        if (f[2])
          for (int64_t x = 0; x < s[2]; ++x)
            dst[x] = src[s[2] - 1 - x];
        else
          std::copy(src, src + s[2], dst);
      }
}

} // namespace

std::vector<std::vector<int64_t>> compute_steps(const Shape3& image, const Shape3& patch, double step_size) {
  if (!(step_size > 0 && step_size <= 1))
    throw InputError(fmt::format("tile step {} must lie in (0, 1]", step_size));
  std::vector<std::vector<int64_t>> steps(3);
  for (int a = 0; a < 3; ++a) {
    const double target = double(patch[size_t(a)]) * step_size;
    const int64_t span = image[size_t(a)] - patch[size_t(a)];
    const int64_t n = int64_t(std::ceil(double(span) / target)) + 1;
    const double actual = n > 1 ? double(span) / double(n - 1) : 99999999999.0;
    for (int64_t i = 0; i < n; ++i)
      steps[size_t(a)].push_back(int64_t(std::nearbyint(actual * double(i)))); // np.round: half to even
  }
  return steps;
}

std::vector<float> gaussian_importance(const Shape3& patch) {
  // scipy.ndimage.gaussian_filter of a unit impulse at patch // 2 (mode constant, truncate 4): the
  // product of normalised 1-D kernels, zero beyond int(4σ + 0.5).
  std::array<std::vector<double>, 3> k;
  for (int a = 0; a < 3; ++a) {
    const int64_t p = patch[size_t(a)];
    const double sigma = double(p) * (1.0 / 8);
    const int64_t radius = int64_t(4.0 * sigma + 0.5);
    std::vector<double> phi(size_t(2 * radius + 1));
    double sum = 0;
    for (int64_t x = -radius; x <= radius; ++x)
      sum += phi[size_t(x + radius)] = std::exp(-0.5 / (sigma * sigma) * double(x * x));
    for (double& v : phi)
      v /= sum;
    k[size_t(a)].assign(size_t(p), 0.0);
    const int64_t centre = p / 2;
    for (int64_t i = 0; i < p; ++i)
      if (std::abs(i - centre) <= radius)
        k[size_t(a)][size_t(i)] = phi[size_t(i - centre + radius)];
  }
  const double peak = k[0][size_t(patch[0] / 2)] * k[1][size_t(patch[1] / 2)] * k[2][size_t(patch[2] / 2)];
  std::vector<float> g(size_t(volume(patch)));
  float min_nonzero = INFINITY;
  for (int64_t z = 0; z < patch[0]; ++z)
    for (int64_t y = 0; y < patch[1]; ++y)
      for (int64_t x = 0; x < patch[2]; ++x) {
        const double v = k[0][size_t(z)] * k[1][size_t(y)] * k[2][size_t(x)] / peak * 10.0;
        // .type(torch.float16) from float64 goes through float
        const float h = round_to_half(float(v));
        g[size_t((z * patch[1] + y) * patch[2] + x)] = h;
        if (h != 0)
          min_nonzero = std::min(min_nonzero, h);
      }
  for (float& v : g) // "gaussian_importance_map cannot be 0, otherwise we may end up with nans!"
    if (v == 0)
      v = min_nonzero;
  return g;
}

Logits sliding_window(Network& network,
                      const Preprocessed& pre,
                      const Shape3& patch,
                      int heads,
                      const SlidingWindowOptions& options) {
  const int64_t channels = pre.data.shape.at(0);
  const Shape3 image{pre.data.shape[1], pre.data.shape[2], pre.data.shape[3]};
  // pad_nd_image(data, patch, 'constant', value 0): only axes shorter than the patch.
  Shape3 padded = image, below{0, 0, 0};
  for (int a = 0; a < 3; ++a)
    if (image[size_t(a)] < patch[size_t(a)]) {
      padded[size_t(a)] = patch[size_t(a)];
      below[size_t(a)] = (patch[size_t(a)] - image[size_t(a)]) / 2;
    }
  const bool needs_pad = padded != image;
  std::vector<float> padded_data;
  const float* data = pre.data.data.data();
  if (needs_pad) {
    padded_data.assign(size_t(channels * volume(padded)), 0.0f);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t z = 0; z < image[0]; ++z)
        for (int64_t y = 0; y < image[1]; ++y) {
          const float* src = data + ((c * image[0] + z) * image[1] + y) * image[2];
          float* dst = padded_data.data() + ((c * padded[0] + z + below[0]) * padded[1] + y + below[1]) * padded[2] +
                       below[2];
          std::copy(src, src + image[2], dst);
        }
    data = padded_data.data();
  }

  const auto steps = compute_steps(padded, patch, options.step_size);
  std::vector<float> gaussian = options.use_gaussian ? gaussian_importance(patch) : std::vector<float>();
  const int64_t pv = volume(patch), iv = volume(padded);
  // Accumulators: torch.half values held in float (exactly representable), or plain float32.
  std::vector<float> acc(size_t(heads * iv), 0.0f), weight(size_t(iv), 0.0f);
  std::vector<float> tile(size_t(channels * pv)), flipped_in, pred(size_t(heads * pv)), flipped_out, sum;
  const auto combos = mirror_combinations(options.mirror_axes);
  if (!combos.empty()) {
    flipped_in.resize(tile.size());
    flipped_out.resize(pred.size());
    sum.resize(pred.size());
  }
  const int64_t total = int64_t(steps[0].size() * steps[1].size() * steps[2].size());
  int64_t done = 0, skipped = 0;
  for (int64_t sz : steps[0])
    for (int64_t sy : steps[1])
      for (int64_t sx : steps[2]) {
        // the tile, contiguous (torch.clone(d[s][None]))
        for (int64_t c = 0; c < channels; ++c)
          for (int64_t z = 0; z < patch[0]; ++z)
            for (int64_t y = 0; y < patch[1]; ++y) {
              const float* src = data + ((c * padded[0] + sz + z) * padded[1] + sy + y) * padded[2] + sx;
              std::copy(src, src + patch[2], tile.data() + ((c * patch[0] + z) * patch[1] + y) * patch[2]);
            }
        if (options.skip_air_tiles && pre.air_threshold) {
          const float t = *pre.air_threshold;
          if (std::none_of(tile.begin(), tile.begin() + pv, [t](float v) { return v > t; })) {
            ++skipped;
            if (options.on_tile)
              options.on_tile(++done, total);
            continue;
          }
        }
        network.forward(tile.data(), patch, pred.data());
        if (!combos.empty()) {
          // prediction += flip(net(flip(x, axes)), axes) for every combination; then / (n + 1)
          sum = pred;
          for (const auto& axes : combos) {
            flip(tile.data(), channels, patch, axes, flipped_in.data());
            network.forward(flipped_in.data(), patch, flipped_out.data());
            flip(flipped_out.data(), heads, patch, axes, pred.data());
            for (size_t i = 0; i < sum.size(); ++i)
              sum[i] += pred[i];
          }
          const float n = float(combos.size() + 1);
          for (size_t i = 0; i < sum.size(); ++i)
            pred[i] = sum[i] / n;
        }
        // prediction *= gaussian (float32); predicted_logits[sl] += prediction (half); n_predictions += g
#pragma omp parallel for collapse(2) schedule(static)
        for (int64_t h = 0; h < heads; ++h)
          for (int64_t z = 0; z < patch[0]; ++z)
            for (int64_t y = 0; y < patch[1]; ++y) {
              const int64_t t0 = (z * patch[1] + y) * patch[2];
              const float* p = pred.data() + h * pv + t0;
              float* a = acc.data() + h * iv + ((sz + z) * padded[1] + sy + y) * padded[2] + sx;
              const float* g = options.use_gaussian ? gaussian.data() + t0 : nullptr;
              for (int64_t x = 0; x < patch[2]; ++x)
                a[x] += g ? p[x] * g[x] : p[x];
              if (options.fp16)
                round_to_half_inplace(a, size_t(patch[2]));
            }
        for (int64_t z = 0; z < patch[0]; ++z)
          for (int64_t y = 0; y < patch[1]; ++y) {
            const int64_t t0 = (z * patch[1] + y) * patch[2];
            float* w = weight.data() + ((sz + z) * padded[1] + sy + y) * padded[2] + sx;
            for (int64_t x = 0; x < patch[2]; ++x)
              w[x] += options.use_gaussian ? gaussian[size_t(t0 + x)] : 1.0f;
            if (options.fp16)
              round_to_half_inplace(w, size_t(patch[2]));
          }
        if (options.on_tile)
          options.on_tile(++done, total);
      }

  // predicted_logits /= n_predictions; revert the padding.
  Logits out;
  out.half = options.fp16;
  out.values = FloatArray({heads, image[0], image[1], image[2]});
  bool overflow = false;
  const float background_logit = 10.0f;
#pragma omp parallel for collapse(2) schedule(static) reduction(|| : overflow)
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t z = 0; z < image[0]; ++z)
      for (int64_t y = 0; y < image[1]; ++y)
        for (int64_t x = 0; x < image[2]; ++x) {
          const int64_t pi = ((z + below[0]) * padded[1] + y + below[1]) * padded[2] + x + below[2];
          float v;
          if (weight[size_t(pi)] == 0) // only in skipped air tiles: background
            v = h == 0 ? background_logit : -background_logit;
          else {
            v = acc[size_t(h * iv + pi)] / weight[size_t(pi)];
            if (options.fp16)
              v = round_to_half(v);
          }
          overflow = overflow || std::isinf(v) || std::isinf(acc[size_t(h * iv + pi)]);
          out.values.data[size_t(((h * image[0] + z) * image[1] + y) * image[2] + x)] = v;
        }
  if (overflow)
    throw InputError("the network produced logits too large for nnU-Net's half-precision accumulation (inf); "
                     "run it with float32 accumulation (--fp32-accumulation)");
  (void)skipped;
  return out;
}

void add_fold(Logits& total, const Logits& fold) {
  auto& t = total.values.data;
  const auto& f = fold.values.data;
  if (t.size() != f.size())
    throw std::logic_error("fold logits of different shapes");
#pragma omp parallel for schedule(static)
  for (size_t i = 0; i < t.size(); ++i)
    t[i] = total.half ? round_to_half(t[i] + f[i]) : t[i] + f[i];
}

void average_folds(Logits& total, int folds) {
  if (folds <= 1)
    return;
  const float n = float(folds);
  for (float& v : total.values.data)
    v = total.half ? round_to_half(v / n) : v / n;
}

} // namespace nervemap::segment::detail
