// Per-nerve risk: distance profiles, lengths near the tumour, encasement, grade and probabilities.
#include "risk/risk.h"

#include <cmath>
#include <numbers>

namespace nervemap::risk {

namespace {

constexpr double kChi2d95 = 2.4477; // sqrt(χ²₂(0.95)), as the corridor radius (nerves module)

struct Frame {
  Vec3 u, v; // unit vectors perpendicular to the path at a point
};

Frame normal_frame(const std::vector<Vec3>& path, size_t i) {
  const size_t a = i > 0 ? i - 1 : i, b = i + 1 < path.size() ? i + 1 : i;
  Vec3 t = path[b] - path[a];
  if (t.norm() < 1e-9)
    t = Vec3::UnitZ();
  t.normalize();
  Vec3 u = t.cross(std::abs(t.z()) < 0.9 ? Vec3::UnitZ() : Vec3::UnitX()).normalized();
  return {u, t.cross(u).normalized()};
}

//! Length of the polyline pieces (within segments) where the linearly interpolated distance ≤ limit.
double length_within(const std::vector<Vec3>& path,
                     const std::vector<std::pair<size_t, size_t>>& segments,
                     const std::vector<double>& d,
                     double limit) {
  double total = 0;
  for (const auto& [first, last] : segments)
    for (size_t i = first + 1; i <= last; ++i) {
      const double len = (path[i] - path[i - 1]).norm(), a = d[i - 1], b = d[i];
      if (a <= limit && b <= limit)
        total += len;
      else if (a <= limit || b <= limit)
        total += len * (limit - std::min(a, b)) / std::abs(b - a); // the crossing of the linear profile
    }
  return total;
}

TumourDistance profile(const nerves::NervePath& n, const TumourSurface& s) {
  TumourDistance t;
  t.min_distance_mm = std::numeric_limits<double>::infinity();
  t.profile_mm.resize(n.path_mm.size());
  for (size_t i = 0; i < n.path_mm.size(); ++i) {
    Vec3 closest;
    const double d = s.distance(n.path_mm[i], &closest);
    t.profile_mm[i] = d;
    if (d < t.min_distance_mm) {
      t.min_distance_mm = d;
      t.closest_nerve = n.path_mm[i];
      t.closest_tumour = closest;
    }
  }
  return t;
}

//! Angle (degrees) of the corridor circle at point i that the tumour reaches (within `abut_mm`).
double encasement_at(
    const std::vector<Vec3>& path, size_t i, double radius, const TumourSurface& s, double abut_mm) {
  const Frame f = normal_frame(path, i);
  int abutted = 0;
  constexpr int kSteps = 72; // 5° steps
  for (int a = 0; a < kSteps; ++a) {
    const double th = 2 * std::numbers::pi * a / kSteps;
    const Vec3 q = path[i] + radius * (std::cos(th) * f.u + std::sin(th) * f.v);
    if (s.distance_within(q, abut_mm) <= abut_mm)
      ++abutted;
  }
  return 360.0 * abutted / kSteps;
}

//! max over the path of P(true nerve centre at that level lies within X of the tumour), for each X:
//! the corridor is a 2-D Gaussian with σ = (r95 − radius) / 2.4477 in the plane across the nerve,
//! integrated on 8 equal-probability rings × 16 angles.
std::vector<double> proximity_probability(const std::vector<Vec3>& path,
                                          const std::vector<double>& r95,
                                          double nerve_radius,
                                          const TumourSurface& s,
                                          const std::vector<double>& xs) {
  std::vector<double> best(xs.size(), 0.0);
  if (path.empty())
    return best;
  constexpr int kRings = 8, kAngles = 16;
  std::array<double, kRings> rho{};
  for (int k = 0; k < kRings; ++k) // Rayleigh quantiles at the ring mid-probabilities
    rho[size_t(k)] = std::sqrt(-2.0 * std::log(1.0 - (k + 0.5) / kRings));
  const double x_max = *std::max_element(xs.begin(), xs.end());
  for (size_t i = 0; i < path.size(); ++i) {
    const double sigma = std::max(0.1, (r95[i] - nerve_radius) / kChi2d95);
    if (s.distance(path[i]) > x_max + 4.5 * sigma)
      continue; // further than any sample reaches
    const Frame f = normal_frame(path, i);
    std::vector<int> hits(xs.size(), 0);
    for (int k = 0; k < kRings; ++k)
      for (int a = 0; a < kAngles; ++a) {
        const double th = 2 * std::numbers::pi * (a + 0.5 * (k % 2)) / kAngles;
        const Vec3 q = path[i] + sigma * rho[size_t(k)] * (std::cos(th) * f.u + std::sin(th) * f.v);
        const double d = s.distance_within(q, x_max);
        for (size_t x = 0; x < xs.size(); ++x)
          hits[x] += d <= xs[x];
      }
    for (size_t x = 0; x < xs.size(); ++x)
      best[x] = std::max(best[x], double(hits[x]) / (kRings * kAngles));
  }
  return best;
}

} // namespace

std::vector<NerveRisk> assess(const std::vector<nerves::NervePath>& nerves,
                              const anatomy::StructureMap* tumour,
                              const GradeThresholds& th) {
  std::map<std::string, TumourSurface> surfaces;
  std::optional<TumourSurface> both;
  if (tumour) {
    for (int id : {anatomy::kGtvpId, anatomy::kGtvnId}) {
      TumourSurface s(tumour->voxels, {id});
      if (!s.empty())
        surfaces.emplace(anatomy::Catalogue::tumour_name(id), std::move(s));
    }
    if (!surfaces.empty())
      both.emplace(tumour->voxels, std::vector<int>{anatomy::kGtvpId, anatomy::kGtvnId});
  }
  std::vector<NerveRisk> out;
  for (const auto& n : nerves) {
    NerveRisk r;
    r.id = n.id;
    if (!n.estimated) {
      out.push_back(r);
      continue;
    }
    r.length_mm = n.length_mm();
    if (!both) {
      r.grade = "none";
      out.push_back(r);
      continue;
    }
    r.assessed = true;
    for (const auto& [label, s] : surfaces)
      r.by_tumour[label] = profile(n, s);
    // Both tumours together: the pointwise minimum, closest points from the nearer tumour.
    r.combined.min_distance_mm = std::numeric_limits<double>::infinity();
    r.combined.profile_mm.assign(n.path_mm.size(), std::numeric_limits<double>::infinity());
    for (const auto& [label, t] : r.by_tumour) {
      for (size_t i = 0; i < t.profile_mm.size(); ++i)
        r.combined.profile_mm[i] = std::min(r.combined.profile_mm[i], t.profile_mm[i]);
      if (t.min_distance_mm < r.combined.min_distance_mm) {
        r.combined.min_distance_mm = t.min_distance_mm;
        r.combined.closest_nerve = t.closest_nerve;
        r.combined.closest_tumour = t.closest_tumour;
        r.closest_tumour = label;
      }
    }
    const auto& d = r.combined.profile_mm;
    // Inside length: sub-sample each step (0.1 mm) against the mask.
    for (const auto& [first, last] : n.segments)
      for (size_t i = first + 1; i <= last; ++i) {
        const Vec3 a = n.path_mm[i - 1], b = n.path_mm[i];
        if (d[i - 1] > 1.0 && d[i] > 1.0)
          continue;
        const int steps = std::max(1, int(std::ceil((b - a).norm() / 0.1)));
        for (int s = 0; s < steps; ++s)
          if (both->inside(a + (b - a) * ((s + 0.5) / steps)))
            r.length_inside_mm += (b - a).norm() / steps;
      }
    r.inside_tumour = r.combined.min_distance_mm <= 0.0;
    r.length_within_5mm = length_within(n.path_mm, n.segments, d, 5.0);
    r.length_within_10mm = length_within(n.path_mm, n.segments, d, 10.0);
    r.fraction_within_5mm = r.length_mm > 0 ? r.length_within_5mm / r.length_mm : 0.0;
    r.fraction_within_10mm = r.length_mm > 0 ? r.length_within_10mm / r.length_mm : 0.0;
    // Encasement at the worst point of the corridor.
    size_t closest_index = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i] < d[closest_index])
        closest_index = i;
      if (d[i] <= n.corridor_r95_mm[i] + th.abutment_mm)
        r.encasement_deg = std::max(r.encasement_deg,
                                    encasement_at(n.path_mm, i, n.corridor_r95_mm[i], *both, th.abutment_mm));
    }
    r.r95_at_closest_mm = n.corridor_r95_mm[closest_index];
    const double dmin = r.combined.min_distance_mm;
    if (dmin <= th.contact_mm || r.encasement_deg >= th.encasement_contact_deg)
      r.grade = "contact";
    else if (dmin <= r.r95_at_closest_mm)
      r.grade = "high";
    else if (dmin <= r.r95_at_closest_mm + th.moderate_margin_mm)
      r.grade = "moderate";
    else
      r.grade = "low";
    // Probability of proximity: the variant mixture of each course's corridor.
    std::vector<double> p(th.p_within_mm.size(), 0.0);
    double weight = 0;
    for (const auto& v : n.variants) {
      if (v.path_mm.empty() || v.probability <= 0)
        continue;
      auto pv = proximity_probability(v.path_mm, v.corridor_r95_mm, n.radius_mm, *both, th.p_within_mm);
      for (size_t x = 0; x < p.size(); ++x)
        p[x] += v.probability * pv[x];
      weight += v.probability;
    }
    for (size_t x = 0; x < p.size(); ++x)
      r.p_within[th.p_within_mm[x]] = weight > 0 ? p[x] / weight : 0.0;
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace nervemap::risk
