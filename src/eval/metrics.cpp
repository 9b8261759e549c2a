// Dice, HD95 and NSD of one pair of masks (conventions in eval.h).
#include "eval/eval.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <memory>

namespace nervemap::eval {

namespace {

//! Which label values belong to the mask (a table, so that one scan serves a value or "nonzero").
using Selector = std::array<bool, 256>;

struct Box {
  Index3 lo{0, 0, 0}, hi{-1, -1, -1}; // inclusive; empty when hi < lo
  bool empty() const { return hi[0] < lo[0]; }
};

Box bounding_box(const MaskVolume& v, const Selector& in) {
  const auto& d = v.geometry.dims;
  Box b;
  b.lo = {d[0], d[1], d[2]};
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j) {
      const uint8_t* row = &v.data[v.offset(0, j, k)];
      for (int64_t i = 0; i < d[0]; ++i)
        if (in[row[i]]) {
          b.lo = {std::min(b.lo[0], i), std::min(b.lo[1], j), std::min(b.lo[2], k)};
          b.hi = {std::max(b.hi[0], i), std::max(b.hi[1], j), std::max(b.hi[2], k)};
        }
    }
  if (b.hi[0] < 0)
    b = Box{};
  return b;
}

//! LPS centres of the surface voxels (at least one 6-neighbour outside the mask or the image).
std::vector<Vec3> surface(const MaskVolume& v, const Selector& in, const Box& box) {
  std::vector<Vec3> cloud;
  if (box.empty())
    return cloud;
  auto inside = [&](int64_t i, int64_t j, int64_t k) { return v.contains(i, j, k) && in[v.at(i, j, k)]; };
  for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k)
    for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j)
      for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i) {
        if (!in[v.at(i, j, k)])
          continue;
        if (inside(i - 1, j, k) && inside(i + 1, j, k) && inside(i, j - 1, k) && inside(i, j + 1, k) &&
            inside(i, j, k - 1) && inside(i, j, k + 1))
          continue;
        cloud.push_back(v.geometry.index_to_lps(Vec3(double(i), double(j), double(k))));
      }
  return cloud;
}

//! Distance from each point of `from` to the nearest point of `to` (non-empty).
void nearest_distances(const std::vector<Vec3>& from, const PointIndex& to, std::vector<double>& out) {
  for (const Vec3& p : from)
    out.push_back(std::sqrt(to.nearest(p).distance_sq_mm2));
}

//! Percentile with linear interpolation between order statistics (numpy's default method).
double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double position = q / 100.0 * double(values.size() - 1);
  const size_t below = size_t(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double t = position - double(below);
  return values[below] + t * (values[above] - values[below]);
}

Box merge(const Box& a, const Box& b) {
  if (a.empty())
    return b;
  if (b.empty())
    return a;
  Box m;
  for (int d = 0; d < 3; ++d) {
    m.lo[size_t(d)] = std::min(a.lo[size_t(d)], b.lo[size_t(d)]);
    m.hi[size_t(d)] = std::max(a.hi[size_t(d)], b.hi[size_t(d)]);
  }
  return m;
}

void check_inputs(const MaskVolume& pred, const MaskVolume& ref, double tolerance_mm) {
  if (!pred.geometry.same_grid(ref.geometry))
    throw InputError(fmt::format("the prediction and the reference are on different grids (prediction: {}; "
                                 "reference: {}); evaluate segmentations of the same image",
                                 pred.geometry.describe(),
                                 ref.geometry.describe()));
  if (!(tolerance_mm >= 0) || !std::isfinite(tolerance_mm))
    throw UsageError(
        fmt::format("the NSD tolerance must be a finite number of mm ≥ 0, not {}", tolerance_mm));
}

//! Bounding boxes of every label value in one scan (evaluating many structures would otherwise scan
//! the whole volume twice per structure).
std::array<Box, 256> bounding_boxes(const MaskVolume& v) {
  const auto& d = v.geometry.dims;
  std::array<Box, 256> boxes;
  for (auto& b : boxes)
    b.lo = {d[0], d[1], d[2]};
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j) {
      const uint8_t* row = &v.data[v.offset(0, j, k)];
      for (int64_t i = 0; i < d[0]; ++i) {
        if (!row[i])
          continue;
        Box& b = boxes[row[i]];
        b.lo = {std::min(b.lo[0], i), std::min(b.lo[1], j), std::min(b.lo[2], k)};
        b.hi = {std::max(b.hi[0], i), std::max(b.hi[1], j), std::max(b.hi[2], k)};
      }
    }
  for (auto& b : boxes)
    if (b.hi[0] < 0)
      b = Box{};
  return boxes;
}

//! The metrics, given each mask's bounding box (inputs already checked).
Metrics compare(const MaskVolume& pred,
                const Selector& in_pred,
                const Box& box_pred,
                const MaskVolume& ref,
                const Selector& in_ref,
                const Box& box_ref,
                double tolerance_mm) {
  const Box both = merge(box_pred, box_ref);
  Metrics m;
  int64_t overlap = 0;
  if (!both.empty())
    for (int64_t k = both.lo[2]; k <= both.hi[2]; ++k)
      for (int64_t j = both.lo[1]; j <= both.hi[1]; ++j)
        for (int64_t i = both.lo[0]; i <= both.hi[0]; ++i) {
          const size_t o = pred.offset(i, j, k);
          const bool p = in_pred[pred.data[o]], r = in_ref[ref.data[o]];
          m.voxels_pred += p;
          m.voxels_ref += r;
          overlap += p && r;
        }
  const double voxel_ml = ref.geometry.voxel_volume_mm3() / 1000.0;
  m.volume_pred_ml = double(m.voxels_pred) * voxel_ml;
  m.volume_ref_ml = double(m.voxels_ref) * voxel_ml;
  if (m.voxels_pred == 0 && m.voxels_ref == 0) {
    m.dice = 1;
    m.hd95_mm = 0.0;
    m.nsd = 1;
    return m;
  }
  m.dice = 2.0 * double(overlap) / double(m.voxels_pred + m.voxels_ref);
  const PointIndex surface_pred(surface(pred, in_pred, box_pred)), surface_ref(surface(ref, in_ref, box_ref));
  m.surface_voxels_pred = int64_t(surface_pred.size());
  m.surface_voxels_ref = int64_t(surface_ref.size());
  if (m.voxels_pred == 0 || m.voxels_ref == 0) {
    m.hd95_mm.reset();
    m.nsd = 0;
    return m;
  }
  std::vector<double> distances;
  distances.reserve(surface_pred.size() + surface_ref.size());
  nearest_distances(surface_pred.points(), surface_ref, distances);
  nearest_distances(surface_ref.points(), surface_pred, distances);
  const auto within = std::count_if(distances.begin(), distances.end(), [&](double d) {
    // A hair of slack: a distance of exactly τ computed through the affine may land 1 ulp above it.
    return d <= tolerance_mm + 1e-9;
  });
  m.nsd = double(within) / double(distances.size());
  m.hd95_mm = percentile(std::move(distances), 95.0);
  return m;
}

Selector value_selector(int value) {
  if (value < 1 || value > 255)
    throw std::invalid_argument(fmt::format("label value {} is not in 1..255", value));
  Selector s{};
  s[size_t(value)] = true;
  return s;
}

} // namespace

Metrics compare_labels(
    const MaskVolume& pred, int pred_value, const MaskVolume& ref, int ref_value, double tolerance_mm) {
  check_inputs(pred, ref, tolerance_mm);
  const Selector in_pred = value_selector(pred_value), in_ref = value_selector(ref_value);
  return compare(
      pred, in_pred, bounding_box(pred, in_pred), ref, in_ref, bounding_box(ref, in_ref), tolerance_mm);
}

Metrics compare_masks(const MaskVolume& pred, const MaskVolume& ref, double tolerance_mm) {
  check_inputs(pred, ref, tolerance_mm);
  Selector nonzero;
  nonzero.fill(true);
  nonzero[0] = false;
  return compare(
      pred, nonzero, bounding_box(pred, nonzero), ref, nonzero, bounding_box(ref, nonzero), tolerance_mm);
}

Evaluation evaluate(const LabelMap& pred, const LabelMap& ref, double tolerance_mm) {
  check_inputs(pred.voxels, ref.voxels, tolerance_mm);
  const auto boxes_pred = bounding_boxes(pred.voxels), boxes_ref = bounding_boxes(ref.voxels);
  // Match by name: each side's label value for every name in its table (values outside 1..255 hold no
  // voxels of a uint8 map and are skipped).
  std::map<std::string, std::pair<int, int>> by_name; // name → (pred value, ref value), 0 = not in table
  for (const auto& l : pred.table.labels())
    if (l.id >= 1 && l.id <= 255)
      by_name[l.name].first = l.id;
  for (const auto& l : ref.table.labels())
    if (l.id >= 1 && l.id <= 255)
      by_name[l.name].second = l.id;
  Evaluation e;
  e.tolerance_mm = tolerance_mm;
  double dice_sum = 0;
  for (const auto& [name, values] : by_name) { // std::map: sorted by name
    const auto [vp, vr] = values;
    const Selector in_pred = vp ? value_selector(vp) : Selector{};
    const Selector in_ref = vr ? value_selector(vr) : Selector{};
    const Box box_pred = vp ? boxes_pred[size_t(vp)] : Box{};
    const Box box_ref = vr ? boxes_ref[size_t(vr)] : Box{};
    if (box_pred.empty() && box_ref.empty()) {
      e.empty_in_both.push_back(name);
      continue;
    }
    StructureResult r;
    r.name = name;
    r.in_pred = !box_pred.empty();
    r.in_ref = !box_ref.empty();
    r.metrics = compare(pred.voxels, in_pred, box_pred, ref.voxels, in_ref, box_ref, tolerance_mm);
    dice_sum += r.metrics.dice;
    e.structures.push_back(std::move(r));
  }
  if (!e.structures.empty())
    e.mean_dice = dice_sum / double(e.structures.size());
  return e;
}

} // namespace nervemap::eval
