// Resampling exactly as nnU-Net and TotalSegmentator do it (research §2.5, §5.3).
//
// nnU-Net (preprocessing/resampling/default_resampling.py, resample_data_or_seg) calls
// skimage.transform.resize(order, mode='edge', anti_aliasing=False), which is scipy.ndimage.zoom with
// grid_mode=True (pixel-edge alignment: source = (o + 0.5)·in/out − 0.5) and mode 'nearest'; for cubic
// order scipy first pads 12 voxels of edge values and runs the B-spline prefilter in double
// (ndimage/_interpolation.py: _prepad_for_spline_filter, spline_filter); skimage then clips the result to
// the input's range (transform/_warps.py, _clip_warp_output). With anisotropic spacing (separate z) the
// slices are resized in-plane and the low-resolution axis goes through map_coordinates(order_z,
// mode 'nearest') at scale·(k + 0.5) − 0.5. TotalSegmentator's change_spacing uses ndimage.zoom with
// grid_mode=False (corner alignment: source = o·(in − 1)/(out − 1)).
//
// All of these are separable: interpolation along one axis at a time (and the prefilter, which commutes
// with it) gives scipy's tensor-product result up to rounding in the last bits of a double.
#include "segment/internal.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>

namespace nervemap::segment::detail {

namespace {

constexpr int64_t kSplinePad = 12; // scipy _prepad_for_spline_filter

//! Per output index along one axis: the first tap and order+1 weights.
struct AxisPlan {
  int order = 1;
  std::vector<int64_t> taps;    // out_len × (order+1) input indices (clamped)
  std::vector<double> weights;  // out_len × (order+1)
  int64_t out_len = 0;
};

void spline_weights(double t, int order, double* w) {
  switch (order) {
  case 0:
    w[0] = 1;
    break;
  case 1:
    w[0] = 1.0 - t;
    w[1] = t;
    break;
  case 3: {
    const double s = 1.0 - t;
    w[0] = s * s * s / 6.0;
    w[1] = (t * t * (t - 2.0) * 3.0 + 4.0) / 6.0;
    w[2] = (s * s * (s - 2.0) * 3.0 + 4.0) / 6.0;
    w[3] = 1.0 - w[0] - w[1] - w[2];
    break;
  }
  default:
    throw std::logic_error("unsupported interpolation order");
  }
}

//! ndimage zoom_shift coordinates for one axis: cc from the output index, shifted by the prefilter
//! padding, clamped as mode 'nearest' does (map_coordinate), then the spline's first tap.
AxisPlan plan_axis(int64_t in_len, int64_t out_len, bool grid_mode, int order, int64_t npad) {
  AxisPlan p;
  p.order = order;
  p.out_len = out_len;
  const int n = order + 1;
  p.taps.resize(size_t(out_len * n));
  p.weights.resize(size_t(out_len * n));
  double zoom;
  if (grid_mode)
    zoom = double(in_len) / double(out_len);
  else
    zoom = out_len > 1 ? double(in_len - 1) / double(out_len - 1) : 1.0;
  const int64_t line_len = in_len + 2 * npad;
  for (int64_t o = 0; o < out_len; ++o) {
    double cc = double(o);
    if (grid_mode) {
      cc += 0.5;
      cc *= zoom;
      cc -= 0.5;
    } else {
      cc *= zoom;
    }
    cc += double(npad);
    if (cc < 0)
      cc = 0;
    else if (cc > double(line_len - 1))
      cc = double(line_len - 1);
    int64_t start = (order & 1) ? int64_t(std::floor(cc)) - order / 2 : int64_t(std::floor(cc + 0.5)) - order / 2;
    const double t = cc - std::floor((order & 1) ? cc : cc + 0.5);
    spline_weights(t, order, &p.weights[size_t(o * n)]);
    for (int k = 0; k < n; ++k)
      p.taps[size_t(o * n + k)] = std::clamp<int64_t>(start + k, 0, line_len - 1);
  }
  return p;
}

//! out(outer, o, inner) = Σ_k w[o][k] · in(outer, taps[o][k], inner); in has len_in along the axis.
std::vector<double> interpolate_axis(const std::vector<double>& in,
                                     int64_t outer,
                                     int64_t len_in,
                                     int64_t inner,
                                     const AxisPlan& plan) {
  const int n = plan.order + 1;
  std::vector<double> out(size_t(outer * plan.out_len * inner));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t o = 0; o < plan.out_len; ++o) {
      double* dst = out.data() + (a * plan.out_len + o) * inner;
      const double* w = &plan.weights[size_t(o * n)];
      const int64_t* t = &plan.taps[size_t(o * n)];
      const double* src0 = in.data() + (a * len_in + t[0]) * inner;
      for (int64_t i = 0; i < inner; ++i)
        dst[i] = w[0] * src0[i];
      for (int k = 1; k < n; ++k) {
        const double* src = in.data() + (a * len_in + t[k]) * inner;
        const double wk = w[k];
        for (int64_t i = 0; i < inner; ++i)
          dst[i] += wk * src[i];
      }
    }
  return out;
}

//! np.pad(mode='edge') by `pad` along one axis.
std::vector<double> pad_edge_axis(const std::vector<double>& in, int64_t outer, int64_t len, int64_t inner, int64_t pad) {
  const int64_t plen = len + 2 * pad;
  std::vector<double> out(size_t(outer * plen * inner));
#pragma omp parallel for schedule(static)
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t j = 0; j < plen; ++j) {
      const int64_t src = std::clamp<int64_t>(j - pad, 0, len - 1);
      std::copy_n(in.data() + (a * len + src) * inner, inner, out.data() + (a * plen + j) * inner);
    }
  return out;
}

//! Cubic B-spline prefilter along one axis, in place (ndimage/src/ni_splines.c, apply_filter with the
//! mode 'nearest' boundary, which scipy initialises like 'reflect'). Vectorised over `inner`.
void spline_filter_axis(std::vector<double>& data, int64_t outer, int64_t len, int64_t inner) {
  if (len < 2)
    return;
  const double z = std::sqrt(3.0) - 2.0;
  const double gain = (1.0 - z) * (1.0 - 1.0 / z);
  const double z_n = std::pow(z, double(len));
#pragma omp parallel for schedule(static)
  for (int64_t a = 0; a < outer; ++a) {
    double* c = data.data() + a * len * inner;
    auto at = [&](int64_t j) { return c + j * inner; };
    for (int64_t j = 0; j < len; ++j)
      for (int64_t i = 0; i < inner; ++i)
        at(j)[i] *= gain;
    // causal initialisation (reflect): c0 = c0 + z/(1−z^2n) Σ_{i<n} z^i (c_i + z^n c_{n−1−i})
    std::vector<double> c0(at(0), at(0) + inner);
    std::vector<double> acc(static_cast<size_t>(inner));
    for (int64_t i = 0; i < inner; ++i)
      acc[size_t(i)] = at(0)[i] + z_n * at(len - 1)[i];
    double z_i = z;
    for (int64_t k = 1; k < len; ++k) {
      for (int64_t i = 0; i < inner; ++i)
        acc[size_t(i)] += z_i * (at(k)[i] + z_n * at(len - 1 - k)[i]);
      z_i *= z;
    }
    for (int64_t i = 0; i < inner; ++i)
      at(0)[i] = acc[size_t(i)] * (z / (1 - z_n * z_n)) + c0[size_t(i)];
    for (int64_t k = 1; k < len; ++k)
      for (int64_t i = 0; i < inner; ++i)
        at(k)[i] += z * at(k - 1)[i];
    // anticausal initialisation (reflect): c_{n−1} ·= z/(z − 1)
    for (int64_t i = 0; i < inner; ++i)
      at(len - 1)[i] *= z / (z - 1);
    for (int64_t k = len - 2; k >= 0; --k)
      for (int64_t i = 0; i < inner; ++i)
        at(k)[i] = z * (at(k + 1)[i] - at(k)[i]);
  }
}

int64_t product(const std::vector<int64_t>& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t k = from; k < to; ++k)
    p *= s[k];
  return p;
}

//! ndimage.zoom(mode='nearest') to out_shape along every axis (prefilter for cubic order).
std::vector<double> zoom_separable(const double* in,
                                   const std::vector<int64_t>& in_shape,
                                   const std::vector<int64_t>& out_shape,
                                   int order,
                                   bool grid_mode) {
  std::vector<int64_t> shape = in_shape;
  std::vector<double> data(in, in + product(in_shape, 0, in_shape.size()));
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    const int64_t outer = product(shape, 0, axis), inner = product(shape, axis + 1, shape.size());
    const int64_t len = shape[axis];
    int64_t npad = 0;
    if (order > 1) {
      data = pad_edge_axis(data, outer, len, inner, kSplinePad);
      npad = kSplinePad;
      spline_filter_axis(data, outer, len + 2 * npad, inner);
    }
    const AxisPlan plan = plan_axis(len, out_shape[axis], grid_mode, order, npad);
    data = interpolate_axis(data, outer, len + 2 * npad, inner, plan);
    shape[axis] = out_shape[axis];
  }
  return data;
}

} // namespace

Shape3 compute_new_shape(const Shape3& shape, const Spacing3& old_spacing, const Spacing3& new_spacing) {
  Shape3 out{};
  for (int a = 0; a < 3; ++a)
    out[size_t(a)] = int64_t(std::nearbyint(old_spacing[size_t(a)] / new_spacing[size_t(a)] * double(shape[size_t(a)])));
  return out;
}

SeparateZ decide_separate_z(std::optional<bool> force, const Spacing3& current, const Spacing3& target) {
  // get_do_separate_z: max/min > 3; get_lowres_axis: axes where max(spacing)/spacing == 1.
  auto lowres_axes = [](const Spacing3& s) {
    const double m = *std::max_element(s.begin(), s.end());
    std::vector<int> axes;
    for (int a = 0; a < 3; ++a)
      if (m / s[size_t(a)] == 1.0)
        axes.push_back(a);
    return axes;
  };
  auto anisotropic = [](const Spacing3& s) {
    return *std::max_element(s.begin(), s.end()) / *std::min_element(s.begin(), s.end()) > 3.0;
  };
  SeparateZ r;
  std::vector<int> axes;
  if (force) {
    r.separate = *force;
    if (*force)
      axes = lowres_axes(current);
  } else if (anisotropic(current)) {
    r.separate = true;
    axes = lowres_axes(current);
  } else if (anisotropic(target)) {
    r.separate = true;
    axes = lowres_axes(target);
  }
  if (axes.size() != 1) // two or three axes share the coarsest spacing: no separate z
    r.separate = false;
  if (r.separate)
    r.axis = axes[0];
  return r;
}

std::vector<double> skimage_resize(const double* in,
                                   const std::vector<int64_t>& in_shape,
                                   const std::vector<int64_t>& out_shape,
                                   int order) {
  const int64_t n = product(in_shape, 0, in_shape.size());
  std::vector<double> out = zoom_separable(in, in_shape, out_shape, order, true);
  if (order > 0 && n > 0) { // skimage clips to the input's range (no-op for orders 0 and 1)
    const auto [lo, hi] = std::minmax_element(in, in + n);
    const double a = *lo, b = *hi;
    for (double& v : out)
      v = std::clamp(v, a, b);
  }
  return out;
}

std::vector<double> resample_channel(const double* in,
                                     const Shape3& in_shape,
                                     const Shape3& out_shape,
                                     int order,
                                     int order_z,
                                     const SeparateZ& separate_z) {
  if (in_shape == out_shape)
    return std::vector<double>(in, in + in_shape[0] * in_shape[1] * in_shape[2]);
  if (!separate_z.separate)
    return skimage_resize(in, {in_shape[0], in_shape[1], in_shape[2]}, {out_shape[0], out_shape[1], out_shape[2]},
                          order);
  // In-plane: every slice along `axis` resized in 2-D (each clipped to its own range, as skimage does).
  const int axis = separate_z.axis;
  std::vector<int> plane;
  for (int a = 0; a < 3; ++a)
    if (a != axis)
      plane.push_back(a);
  const std::vector<int64_t> slice_in{in_shape[size_t(plane[0])], in_shape[size_t(plane[1])]};
  const std::vector<int64_t> slice_out{out_shape[size_t(plane[0])], out_shape[size_t(plane[1])]};
  Shape3 mid_shape = out_shape;
  mid_shape[size_t(axis)] = in_shape[size_t(axis)];
  std::vector<double> mid(size_t(mid_shape[0] * mid_shape[1] * mid_shape[2]));
  const int64_t slices = in_shape[size_t(axis)];
  auto index = [](const Shape3& s, int64_t i, int64_t j, int64_t k) { return (i * s[1] + j) * s[2] + k; };
  for (int64_t sl = 0; sl < slices; ++sl) {
    std::vector<double> slice(size_t(slice_in[0] * slice_in[1]));
    for (int64_t u = 0; u < slice_in[0]; ++u)
      for (int64_t v = 0; v < slice_in[1]; ++v) {
        int64_t c[3];
        c[axis] = sl;
        c[plane[0]] = u;
        c[plane[1]] = v;
        slice[size_t(u * slice_in[1] + v)] = in[index(in_shape, c[0], c[1], c[2])];
      }
    std::vector<double> resized = skimage_resize(slice.data(), slice_in, slice_out, order);
    for (int64_t u = 0; u < slice_out[0]; ++u)
      for (int64_t v = 0; v < slice_out[1]; ++v) {
        int64_t c[3];
        c[axis] = sl;
        c[plane[0]] = u;
        c[plane[1]] = v;
        mid[size_t(index(mid_shape, c[0], c[1], c[2]))] = resized[size_t(u * slice_out[1] + v)];
      }
  }
  if (mid_shape == out_shape)
    return mid;
  // Along the low-resolution axis: map_coordinates(order_z, mode='nearest') at scale·(k + 0.5) − 0.5
  // (the in-plane coordinates are the identity there).
  const int64_t len_in = in_shape[size_t(axis)], len_out = out_shape[size_t(axis)];
  const double scale = double(len_in) / double(len_out);
  AxisPlan plan;
  plan.order = order_z;
  plan.out_len = len_out;
  const int n = order_z + 1;
  plan.taps.resize(size_t(len_out * n));
  plan.weights.resize(size_t(len_out * n));
  for (int64_t k = 0; k < len_out; ++k) {
    double cc = scale * (double(k) + 0.5) - 0.5;
    cc = std::clamp(cc, 0.0, double(len_in - 1));
    int64_t start = order_z == 1 ? int64_t(std::floor(cc)) : int64_t(std::floor(cc + 0.5));
    spline_weights(cc - std::floor(order_z == 1 ? cc : cc + 0.5), order_z, &plan.weights[size_t(k * n)]);
    for (int t = 0; t < n; ++t)
      plan.taps[size_t(k * n + t)] = std::clamp<int64_t>(start + t, 0, len_in - 1);
  }
  const std::vector<int64_t> ms{mid_shape[0], mid_shape[1], mid_shape[2]};
  return interpolate_axis(mid, product(ms, 0, size_t(axis)), len_in, product(ms, size_t(axis) + 1, 3), plan);
}

std::vector<double> ndimage_zoom_corners(const double* in, const Shape3& in_shape, const Shape3& out_shape, int order) {
  if (order != 0 && order != 1 && order != 3)
    throw InputError(fmt::format("resampling order {} is not supported (0, 1 or 3)", order));
  if (order == 3)
    return zoom_separable(in, {in_shape[0], in_shape[1], in_shape[2]}, {out_shape[0], out_shape[1], out_shape[2]},
                          order, false);
  // Orders 0 and 1 in scipy's own arithmetic (ni_interpolation.c, NI_ZoomShift): per output voxel the sum
  // over the 2³ taps (last axis fastest) of ((value · w0) · w1) · w2, with w1 = 1 − w0. TotalSegmentator
  // truncates the result to int32, so a result that scipy rounds to 326.99999999999994 must stay below 327.
  const int n = order + 1;
  std::array<std::vector<int64_t>, 3> taps;
  std::array<std::vector<double>, 3> weights;
  for (int a = 0; a < 3; ++a) {
    const int64_t len = in_shape[size_t(a)], out_len = out_shape[size_t(a)];
    const double zoom = out_len > 1 ? double(len - 1) / double(out_len - 1) : 1.0;
    for (int64_t o = 0; o < out_len; ++o) {
      const double cc = std::clamp(double(o) * zoom, 0.0, double(len - 1));
      const int64_t start = order == 1 ? int64_t(std::floor(cc)) : int64_t(std::floor(cc + 0.5));
      const double t = cc - std::floor(order == 1 ? cc : cc + 0.5);
      const double w0 = order == 1 ? 1.0 - t : 1.0;
      for (int k = 0; k < n; ++k) {
        taps[size_t(a)].push_back(std::clamp<int64_t>(start + k, 0, len - 1));
        weights[size_t(a)].push_back(k == 0 ? w0 : 1.0 - w0);
      }
    }
  }
  std::vector<double> out(size_t(out_shape[0] * out_shape[1] * out_shape[2]));
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t o0 = 0; o0 < out_shape[0]; ++o0)
    for (int64_t o1 = 0; o1 < out_shape[1]; ++o1)
      for (int64_t o2 = 0; o2 < out_shape[2]; ++o2) {
        double t = 0.0;
        for (int a = 0; a < n; ++a)
          for (int b = 0; b < n; ++b)
            for (int c = 0; c < n; ++c) {
              double coeff = in[(taps[0][size_t(o0 * n + a)] * in_shape[1] + taps[1][size_t(o1 * n + b)]) * in_shape[2] +
                                taps[2][size_t(o2 * n + c)]];
              if (order > 0) {
                coeff *= weights[0][size_t(o0 * n + a)];
                coeff *= weights[1][size_t(o1 * n + b)];
                coeff *= weights[2][size_t(o2 * n + c)];
              }
              t += coeff;
            }
        out[size_t((o0 * out_shape[1] + o1) * out_shape[2] + o2)] = t;
      }
  return out;
}

} // namespace nervemap::segment::detail
