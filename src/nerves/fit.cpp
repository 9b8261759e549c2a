// Smoothing and corridor: the placed points of a course become a P-spline path (Eilers & Marx 1996; the
// rule base's smoothing settings), resampled at ≤ 1 mm with a 95 % corridor radius per point.
#include "nerves/internal_engine.h"

#include <algorithm>
#include <cmath>

namespace nervemap::nerves::detail {

namespace {

//! [first, last] point indices of a course's pieces: per-plane courses split where consecutive points are
//! further apart than the bridging limit (design §4).
std::vector<std::pair<size_t, size_t>> pieces(const Course& c, double max_bridge_mm) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t start = 0;
  for (size_t i = 1; i <= c.points.size(); ++i) {
    const bool split = i == c.points.size() ||
                       (c.by_z && std::abs(c.points[i].p.z() - c.points[i - 1].p.z()) > max_bridge_mm + 1e-6);
    if (split) {
      out.emplace_back(start, i - 1);
      start = i;
    }
  }
  return out;
}

//! One piece's points as spline data: parameter u (z, or chord length for waypoints), coordinates and
//! weights 1 / (rule SD² + segmentation SD²).
struct Samples {
  std::vector<double> u, x, y, z, w;
};

Samples samples(const Course& c, size_t first, size_t last, double seg_sd) {
  const size_t n = last - first + 1;
  Samples out{std::vector<double>(n),
              std::vector<double>(n),
              std::vector<double>(n),
              std::vector<double>(n),
              std::vector<double>(n)};
  double s = 0;
  for (size_t i = 0; i < n; ++i) {
    const PlacedPoint& a = c.points[first + i];
    if (!c.by_z && i > 0)
      s += (a.p - c.points[first + i - 1].p).norm();
    out.u[i] = c.by_z ? a.p.z() : s;
    out.x[i] = a.p.x();
    out.y[i] = a.p.y();
    out.z[i] = a.p.z();
    const double sd = std::max({a.sd_lateral, a.sd_ap, 0.1}); // a zero SD would be an infinite weight
    out.w[i] = 1.0 / (sd * sd + seg_sd * seg_sd);
  }
  return out;
}

//! The smoothed piece sampled along its parameter from the origin end, and its least radius of curvature.
struct Smoothed {
  std::vector<Vec3> fine;
  std::vector<double> fine_u;
  double min_radius = 0;
};

//! Parameter step of the fine sampling: five samples per millimetre of z or chord, under the 1 mm
//! resampling step.
constexpr double kFineStepMm = 0.2;

Smoothed smooth(const Samples& s,
                bool by_z,
                const CourseSmoothing& smoothing,
                double lambda_growth,
                double min_radius_of_curvature_mm) {
  // The penalty grows until the radius of curvature is anatomically possible (design §4), within limits
  // for waypoint courses whose waypoints demand a turn.
  const double knot = smoothing.knot_spacing_mm.value;
  double lambda = smoothing.lambda.value;
  const double lambda_max = smoothing.lambda_max.value;
  const auto& u = s.u;
  const size_t n = u.size();
  Smoothed out;
  for (;;) {
    PSpline fx(u, s.x, s.w, knot, lambda), fy(u, s.y, s.w, knot, lambda);
    std::optional<PSpline> fz;
    if (!by_z)
      fz.emplace(u, s.z, s.w, knot, lambda);
    out.fine.clear();
    out.fine_u.clear();
    out.min_radius = 1e9;
    const double u_lo = *std::min_element(u.begin(), u.end()), u_hi = *std::max_element(u.begin(), u.end());
    const int steps = std::max(2, int(std::ceil(std::abs(u_hi - u_lo) / kFineStepMm)));
    for (int k = 0; k <= steps; ++k) {
      // Walk from the origin end: u[0] is the first point in path order.
      const double uu = u[0] + (u[n - 1] - u[0]) * double(k) / steps;
      Vec3 p(fx.value(uu), fy.value(uu), by_z ? uu : fz->value(uu));
      Vec3 d1(fx.derivative(uu), fy.derivative(uu), by_z ? 1.0 : fz->derivative(uu));
      Vec3 d2(fx.second_derivative(uu), fy.second_derivative(uu), by_z ? 0.0 : fz->second_derivative(uu));
      const double speed = d1.norm();
      if (speed > 1e-9)
        out.min_radius =
            std::min(out.min_radius, speed * speed * speed / std::max(d1.cross(d2).norm(), 1e-12));
      out.fine.push_back(p);
      out.fine_u.push_back(uu);
    }
    if (out.min_radius >= min_radius_of_curvature_mm || lambda >= lambda_max)
      break;
    lambda *= lambda_growth;
  }
  return out;
}

//! What the corridor adds up (research §14).
struct CorridorTerms {
  double segmentation_sd_mm, craniocaudal_sd_mm, gap_sd_per_mm, nerve_radius_mm;
};

//! Resample a smoothed piece at equal arc length (≤ step_mm) into `out`, each point with its corridor.
void resample(const Smoothed& sm,
              const Samples& s,
              const PlacedPoint* points,
              bool by_z,
              const CorridorTerms& terms,
              double step_mm,
              Fitted& out) {
  const auto& fine = sm.fine;
  const auto& fine_u = sm.fine_u;
  const auto& u = s.u;
  const size_t n = u.size();
  const double seg_sd = terms.segmentation_sd_mm;
  std::vector<double> arc(fine.size(), 0.0);
  for (size_t k = 1; k < fine.size(); ++k)
    arc[k] = arc[k - 1] + (fine[k] - fine[k - 1]).norm();
  const double length = arc.back();
  const int pieces = std::max(1, int(std::ceil(length / step_mm - 1e-9)));
  const size_t seg_first = out.path.size();
  size_t k = 0;
  for (int q = 0; q <= pieces; ++q) {
    const double target = length * double(q) / pieces;
    while (k + 1 < arc.size() && arc[k + 1] < target)
      ++k;
    const size_t k1 = std::min(k + 1, arc.size() - 1);
    const double span = arc[k1] - arc[k];
    const double f = span > 1e-12 ? (target - arc[k]) / span : 0.0;
    const Vec3 p = fine[k] + f * (fine[k1] - fine[k]);
    const double uu = fine_u[k] + f * (fine_u[k1] - fine_u[k]);
    // Corridor: the rule's SD near the placed points, growing across bridged gaps, plus segmentation and
    // the cranio-caudal (posture) term where the in-plane position depends on the level.
    size_t nearest = 0;
    double du = 1e300;
    for (size_t i = 0; i < n; ++i)
      if (std::abs(u[i] - uu) < du) {
        du = std::abs(u[i] - uu);
        nearest = i;
      }
    const PlacedPoint& a = points[nearest];
    // Posture term: per-plane rules move with their landmarks, so only a level-dependent offset shifts;
    // waypoint courses shift perpendicular to themselves by the level SD times their horizontal run.
    const Vec3 tangent = (fine[k1] - fine[k]).normalized();
    const double posture =
        by_z ? a.profile_shift_mm : terms.craniocaudal_sd_mm * std::hypot(tangent.x(), tangent.y());
    const double sd2 = std::max(a.sd_lateral * a.sd_lateral, a.sd_ap * a.sd_ap) + seg_sd * seg_sd +
                       std::pow(terms.gap_sd_per_mm * du, 2) + posture * posture;
    out.path.push_back(p);
    out.r95.push_back(kChi2d95 * std::sqrt(sd2) + terms.nerve_radius_mm);
  }
  out.segments.emplace_back(seg_first, out.path.size() - 1);
}

} // namespace

Fitted Engine::fit(const NerveRule& rule, const Course& c) const {
  const RuleSettings& settings = rules_.settings;
  const CourseSmoothing& smoothing = c.by_z ? settings.smoothing.per_plane : settings.smoothing.waypoints;
  const CorridorTerms terms{rule.segmentation_sd_mm.value,
                            rule.craniocaudal_sd_mm.value,
                            settings.gap_sd_per_mm.value,
                            rule.radius_mm.value};
  Fitted out;
  for (const auto& [first, last] : pieces(c, opt_.max_bridge_mm)) {
    if (c.by_z && last - first + 1 < 3)
      continue; // a stray level is not a course
    const Samples s = samples(c, first, last, terms.segmentation_sd_mm);
    const Smoothed sm =
        smooth(s, c.by_z, smoothing, settings.smoothing.lambda_growth.value, opt_.min_radius_of_curvature_mm);
    out.min_radius_mm = std::min(out.min_radius_mm, sm.min_radius);
    resample(sm, s, &c.points[first], c.by_z, terms, opt_.resample_step_mm, out);
  }
  return out;
}

} // namespace nervemap::nerves::detail
