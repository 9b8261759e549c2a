// Landmarks: presence, statistics, extremes and axial cross-sections of the segmented structures.
#include "anatomy/anatomy.h"
#include "nerves/internal.h"

#include <cmath>
#include <fmt/format.h>

namespace nervemap::nerves::detail {

Vec3 direction_vector(Direction d, const std::string& side, const Vec2& axis) {
  const double lateral = side == "right" ? -1.0 : 1.0; // LPS +x is patient left
  switch (d) {
  case Direction::anterior:
    return Vec3(0, -1, 0);
  case Direction::posterior:
    return Vec3(0, 1, 0);
  case Direction::lateral:
    return Vec3(lateral, 0, 0);
  case Direction::medial:
    return Vec3(-lateral, 0, 0);
  case Direction::superior:
    return Vec3(0, 0, 1);
  case Direction::inferior:
    return Vec3(0, 0, -1);
  case Direction::anterolateral:
    return Vec3(lateral, -1, 0).normalized();
  case Direction::posterolateral:
    return Vec3(lateral, 1, 0).normalized();
  case Direction::anteromedial:
    return Vec3(-lateral, -1, 0).normalized();
  case Direction::posteromedial:
    return Vec3(-lateral, 1, 0).normalized();
  case Direction::axis_posterior:
  case Direction::axis_anterior: {
    Vec2 n(-axis.y(), axis.x()); // perpendicular to the a→b axis in the axial plane
    if (n.norm() < 1e-12)
      n = Vec2(0, 1);
    n.normalize();
    const bool want_posterior = d == Direction::axis_posterior;
    if ((n.y() > 0) != want_posterior) // LPS +y is posterior
      n = -n;
    return Vec3(n.x(), n.y(), 0);
  }
  }
  return Vec3::Zero();
}

std::string resolve_side(const std::string& name, const std::string& side) {
  std::string s = name;
  if (auto p = s.find("<side>"); p != std::string::npos)
    s.replace(p, 6, side);
  return s;
}

Landmarks::Landmarks(const LabelMap& labels, const CtVolume* ct) : labels_(labels), ct_(ct) {
  const Geometry& g = labels.voxels.geometry;
  lps_to_index_ = g.affine().inverse();
  // Lattice finer than the in-plane voxel size so that centroids and walls keep sub-voxel accuracy.
  h_ = std::min(0.5, 0.5 * std::min(g.spacing[0], g.spacing[1]));
  // Place the lattice so that, on axis-aligned grids, no lattice point falls on a voxel boundary, where
  // nearest-voxel rounding would shift every section by half a cell: with n lattice steps per voxel,
  // points sit symmetric about the voxel centre (on it for odd n, a half step off for even n).
  auto phase = [&](int world_axis) {
    for (int a = 0; a < 3; ++a)
      if (std::abs(g.direction(world_axis, a)) > 0.9999) {
        const double n = g.spacing[a] / h_;
        if (std::abs(n - std::round(n)) < 1e-9 && std::llround(n) % 2 == 1)
          return 0.0;
      }
    return 0.5 * h_;
  };
  lattice_origin_ = Vec2(g.origin.x() + phase(0), g.origin.y() + phase(1));
  stats_ = anatomy::label_statistics(labels);
  // Global midline: the trachea, else the mean of the paired structures' centroids.
  if (present("trachea")) {
    global_midline_x_ = centroid("trachea").x();
  } else {
    double sum = 0;
    int n = 0;
    for (const auto& label : labels.table.labels())
      if (label.name.ends_with("_left") && present(label.name)) {
        std::string right = label.name.substr(0, label.name.size() - 5) + "_right";
        if (present(right)) {
          sum += 0.5 * (centroid(label.name).x() + centroid(right).x());
          ++n;
        }
      }
    global_midline_x_ =
        n ? sum / n
          : g.index_to_lps((Vec3(double(g.dims[0]), double(g.dims[1]), double(g.dims[2])) - Vec3::Ones()) / 2)
                .x();
  }
}

int Landmarks::id(const std::string& name) const {
  const anatomy::Structure* s = anatomy::Catalogue::get().find(name);
  if (!s || !labels_.table.find(s->id))
    return 0;
  return s->id;
}

const anatomy::LabelStatistics* Landmarks::stats(const std::string& name) const {
  int v = id(name);
  return v > 0 && v < 256 && stats_[size_t(v)].voxels > 0 ? &stats_[size_t(v)] : nullptr;
}

bool Landmarks::present(const std::string& name) const {
  return stats(name) != nullptr;
}

Vec3 Landmarks::centroid(const std::string& name) const {
  const anatomy::LabelStatistics* s = stats(name);
  return s ? geometry().index_to_lps(s->index_sum / double(s->voxels)) : Vec3::Zero();
}

double Landmarks::volume_ml(const std::string& name) const {
  const anatomy::LabelStatistics* s = stats(name);
  return s ? double(s->voxels) * geometry().voxel_volume_mm3() / 1000.0 : 0.0;
}

int Landmarks::label_at(const Vec3& p) const {
  const Vec3 c = lps_to_index_.block<3, 3>(0, 0) * p + lps_to_index_.block<3, 1>(0, 3);
  const int64_t i = std::llround(c[0]), j = std::llround(c[1]), k = std::llround(c[2]);
  return labels_.voxels.contains(i, j, k) ? labels_.voxels.at(i, j, k) : 0;
}

std::optional<float> Landmarks::hu_at(const Vec3& p) const {
  if (!ct_)
    return std::nullopt;
  const Vec3 c = ct_->geometry.lps_to_index(p);
  const int64_t i = std::llround(c[0]), j = std::llround(c[1]), k = std::llround(c[2]);
  if (!ct_->contains(i, j, k))
    return std::nullopt;
  return ct_->at(i, j, k);
}

Vec3 Landmarks::boundary_crossing(int label, const Vec3& inside_point, const Vec3& outside_point) const {
  // March to the first outside sample, then bisect to 1 µm: exact against the voxel mask.
  const double length = (outside_point - inside_point).norm();
  const double step = std::min(0.1, 0.25 * geometry().spacing.minCoeff());
  const Vec3 dir = (outside_point - inside_point) / std::max(length, 1e-12);
  double lo = 0, hi = length;
  for (double s = step; s <= length; s += step)
    if (label_at(inside_point + dir * s) != label) {
      lo = s - step;
      hi = s;
      break;
    }
  for (int it = 0; it < 20; ++it) {
    double mid = 0.5 * (lo + hi);
    (label_at(inside_point + dir * mid) == label ? lo : hi) = mid;
  }
  return inside_point + dir * (0.5 * (lo + hi));
}

const Section& Landmarks::section(const std::string& name, double z) {
  const int label = id(name);
  const auto key = std::make_pair(label, int64_t(std::llround(z * 100)));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = sections_.find(key); it != sections_.end())
      return it->second;
  }
  Section s;
  s.z = z;
  s.h = h_;
  const anatomy::LabelStatistics* st = stats(name);
  const Geometry& g = geometry();
  // Only planes within the structure's z-range (± half the voxel extent) can cut it.
  const double half_voxel =
      0.5 * (g.direction * g.spacing.asDiagonal()).cwiseAbs().rowwise().sum().maxCoeff();
  if (st && z >= st->lps_min.z() - half_voxel && z <= st->lps_max.z() + half_voxel) {
    const double margin = half_voxel + h_;
    s.lattice_origin = lattice_origin_;
    s.i0 = int64_t(std::floor((st->lps_min.x() - margin - lattice_origin_.x()) / h_));
    s.j0 = int64_t(std::floor((st->lps_min.y() - margin - lattice_origin_.y()) / h_));
    s.nx = int64_t(std::ceil((st->lps_max.x() + margin - lattice_origin_.x()) / h_)) - s.i0 + 1;
    s.ny = int64_t(std::ceil((st->lps_max.y() + margin - lattice_origin_.y()) / h_)) - s.j0 + 1;
    s.inside.assign(size_t(s.nx * s.ny), 0);
    const Mat3 m = lps_to_index_.block<3, 3>(0, 0);
    const Vec3 t = lps_to_index_.block<3, 1>(0, 3);
    const Vec3 di = m.col(0) * h_;
    double sx = 0, sy = 0;
    for (int64_t j = 0; j < s.ny; ++j) {
      Vec3 c =
          m * Vec3(lattice_origin_.x() + double(s.i0) * h_, lattice_origin_.y() + double(s.j0 + j) * h_, z) +
          t;
      for (int64_t i = 0; i < s.nx; ++i, c += di) {
        const int64_t vi = std::llround(c[0]), vj = std::llround(c[1]), vk = std::llround(c[2]);
        if (labels_.voxels.contains(vi, vj, vk) && labels_.voxels.at(vi, vj, vk) == label) {
          s.inside[size_t(i + s.nx * j)] = 1;
          ++s.count;
          sx += lattice_origin_.x() + double(s.i0 + i) * h_;
          sy += lattice_origin_.y() + double(s.j0 + j) * h_;
        }
      }
    }
    if (s.count)
      s.centroid = Vec2(sx, sy) / double(s.count);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  return sections_.emplace(key, std::move(s)).first->second;
}

std::optional<Vec3>
Landmarks::extreme(const std::string& name, const Vec3& dir, const std::string& half_side) {
  const anatomy::LabelStatistics* st = stats(name);
  if (!st)
    return std::nullopt;
  const int label = id(name);
  const Geometry& g = geometry();
  const double midline = half_side.empty() ? 0.0 : midline_x(centroid(name).z());
  const double sign = half_side == "right" ? -1.0 : 1.0;
  const double tolerance = 0.5 * g.spacing.minCoeff();
  std::vector<std::pair<double, Vec3>> candidates;
  double best = -1e300;
  for (int64_t k = st->index_min[2]; k <= st->index_max[2]; ++k)
    for (int64_t j = st->index_min[1]; j <= st->index_max[1]; ++j)
      for (int64_t i = st->index_min[0]; i <= st->index_max[0]; ++i) {
        if (labels_.voxels.at(i, j, k) != label)
          continue;
        const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        if (!half_side.empty() && sign * (p.x() - midline) <= 0)
          continue;
        const double proj = p.dot(dir);
        if (proj < best - tolerance)
          continue;
        best = std::max(best, proj);
        candidates.emplace_back(proj, p);
      }
  std::vector<Vec3> points;
  for (const auto& [proj, p] : candidates)
    if (proj >= best - tolerance)
      points.push_back(p);
  if (points.empty())
    return std::nullopt;
  Vec3 sum = Vec3::Zero();
  for (const auto& p : points)
    sum += p;
  return sum / double(points.size());
}

double Landmarks::midline_x(double z) {
  for (const char* name : {"trachea", "larynx_air", "cricoid_cartilage", "thyroid_cartilage", "esophagus"}) {
    if (!present(name))
      continue;
    const Section& s = section(name, z);
    if (!s.empty())
      return s.centroid.x();
  }
  return global_midline_x_;
}

std::pair<double, double> Landmarks::scan_z_range() const {
  const Geometry& g = geometry();
  double zmin = 1e300, zmax = -1e300;
  for (int c = 0; c < 8; ++c) {
    const double z = g.index_to_lps(Vec3((c & 1) ? double(g.dims[0] - 1) : 0.0,
                                         (c & 2) ? double(g.dims[1] - 1) : 0.0,
                                         (c & 4) ? double(g.dims[2] - 1) : 0.0))
                         .z();
    zmin = std::min(zmin, z);
    zmax = std::max(zmax, z);
  }
  return {zmin, zmax};
}

} // namespace nervemap::nerves::detail
