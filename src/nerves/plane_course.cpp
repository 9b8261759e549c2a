// Per-plane placement: on every axial plane of a nerve's extent, the first placement whose landmarks are
// there places a point (design §4 primitives: between, groove, surface).
#include "nerves/internal_engine.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

namespace nervemap::nerves::detail {

Course Engine::plane_course(const NerveRule& rule,
                            const std::vector<Placement>& placement,
                            const std::string& side) {
  Course c;
  c.by_z = true;
  auto z_from = level(rule.from, side, &c.notes), z_to = level(rule.to, side, &c.notes);
  // Where an end level is undefined, the course runs as far as its landmarks reach (and says so).
  double lo = 1e300, hi = -1e300;
  for (const auto& p : placement)
    for (const std::string& s : {p.a, p.b, p.structure})
      if (!s.empty())
        if (const anatomy::LabelStatistics* st = lm_.stats(resolve_side(s, side))) {
          lo = std::min(lo, st->lps_min.z());
          hi = std::max(hi, st->lps_max.z());
        }
  if (lo > hi) {
    c.reason = fmt::format("landmarks absent: {}", missing_landmarks(placement, side));
    return c;
  }
  const bool cranial_first = rule.cranial_origin;
  if (!z_from) {
    z_from = cranial_first ? hi : lo;
    warnings_.add(
        fmt::format("{}_{}: start of the extent ({}) undefined; the course starts where its landmarks begin",
                    rule.nerve,
                    side,
                    rule.from.describe()));
  }
  if (!z_to) {
    z_to = cranial_first ? lo : hi;
    warnings_.add(
        fmt::format("{}_{}: end of the extent ({}) undefined; the course ends where its landmarks end",
                    rule.nerve,
                    side,
                    rule.to.describe()));
  }
  const double step = opt_.plane_step_mm;
  const double z_hi = std::max(*z_from, *z_to), z_lo = std::min(*z_from, *z_to);
  check_fov(rule, side, z_lo, z_hi);
  std::vector<double> planes;
  for (double z = std::floor(z_hi / step) * step; z >= z_lo - 1e-9; z -= step)
    planes.push_back(z);
  if (!cranial_first)
    std::reverse(planes.begin(), planes.end());
  for (double z : planes) {
    std::string first_reason;
    std::optional<PlacedPoint> a;
    for (const auto& p : placement) {
      std::string why;
      a = place(p, side, z, rule.craniocaudal_sd_mm.value, why);
      if (a)
        break;
      if (first_reason.empty())
        first_reason = why;
    }
    if (a)
      c.points.push_back(*a);
    else
      c.skipped.push_back({z, first_reason});
  }
  if (c.points.size() < 3) {
    c.reason = c.points.empty() ? fmt::format("no level between {} and {} has its landmarks ({})",
                                              rule.from.describe(),
                                              rule.to.describe(),
                                              c.skipped.empty() ? "extent empty" : c.skipped.front().reason)
                                : fmt::format("landmarks present on only {} level(s)", c.points.size());
    return c;
  }
  c.ok = true;
  return c;
}

std::optional<PlacedPoint>
Engine::place(const Placement& p, const std::string& side, double z, double cc_sd, std::string& why) {
  PlacedPoint anchor;
  anchor.sd_lateral = p.sd_lateral_mm.value;
  anchor.sd_ap = p.sd_anteroposterior_mm.value;
  Vec2 axis(1, 0);
  std::optional<Vec2> base;
  switch (p.primitive) {
  case Primitive::between:
    if (auto s = sections(p, side, z, axis, why))
      base = between(*s, z, p.t.value, p.walls);
    break;
  case Primitive::groove:
    if (auto s = sections(p, side, z, axis, why))
      base = groove(p, *s, side, z, cc_sd, anchor.profile_shift_mm, why);
    break;
  case Primitive::surface:
    base = surface(p, side, z, cc_sd, anchor.profile_shift_mm, why);
    break;
  }
  if (!base)
    return std::nullopt;
  Vec3 point(base->x(), base->y(), z);
  for (const auto& o : p.offsets)
    point += direction_vector(o.toward, side, axis) * o.mm.value;
  anchor.p = point;
  return anchor;
}

std::optional<Engine::SectionPair>
Engine::sections(const Placement& p, const std::string& side, double z, Vec2& axis, std::string& why) {
  SectionPair s{resolve_side(p.a, side), resolve_side(p.b, side), nullptr, nullptr};
  s.sa = &lm_.section(s.a, z);
  s.sb = &lm_.section(s.b, z);
  if (s.sa->empty() || s.sb->empty()) {
    why = s.sa->empty() && s.sb->empty() ? fmt::format("{} and {} absent", s.a, s.b)
                                         : fmt::format("{} absent", s.sa->empty() ? s.a : s.b);
    return std::nullopt;
  }
  axis = s.sb->centroid - s.sa->centroid;
  return s;
}

std::optional<Vec2> Engine::groove(const Placement& p,
                                   const SectionPair& s,
                                   const std::string& side,
                                   double z,
                                   double cc_sd,
                                   double& profile_shift_mm,
                                   std::string& why) {
  auto g = groove_point(*s.sa, *s.sb, side, rules_.settings.groove_tolerance_mm.value);
  if (!g) {
    why = fmt::format("no groove between {} and {}", s.a, s.b);
    return std::nullopt;
  }
  Vec2 base = *g;
  if (auto it = p.offset_profile.find(side); it != p.offset_profile.end()) {
    auto offset_at = [&](double zz) {
      return Vec2(profile_value(it->second.first, side, zz).value_or(0.0),
                  profile_value(it->second.second, side, zz).value_or(0.0));
    };
    const Vec2 o = offset_at(z);
    base += xy(direction_vector(Direction::lateral, side)) * o.x() +
            xy(direction_vector(Direction::anterior, side)) * o.y();
    profile_shift_mm = 0.5 * (offset_at(z + cc_sd) - offset_at(z - cc_sd)).norm();
  }
  return base;
}

std::optional<Vec2> Engine::surface(const Placement& p,
                                    const std::string& side,
                                    double z,
                                    double cc_sd,
                                    double& profile_shift_mm,
                                    std::string& why) {
  const std::string name = resolve_side(p.structure, side);
  const Section& s = lm_.section(name, z);
  if (s.empty()) {
    why = fmt::format("{} absent", name);
    return std::nullopt;
  }
  const Vec2 dir = xy(direction_vector(p.surface, side));
  if (p.along_fraction.empty() && p.along_mm.empty())
    return s.extreme(dir);
  const Vec2 across = xy(direction_vector(Direction::lateral, side));
  auto [medial_border, lateral_border] = s.extent(across);
  const bool from_lateral = p.along_from == Direction::lateral;
  const double width = lateral_border - medial_border;
  auto position_at = [&](double zz) {
    if (!p.along_fraction.empty()) {
      const double f = profile_value(p.along_fraction, side, zz).value_or(0.5);
      return from_lateral ? lateral_border - f * width : medial_border + f * width;
    }
    const double mm = profile_value(p.along_mm, side, zz).value_or(0.0);
    return from_lateral ? lateral_border - mm : medial_border + mm;
  };
  const double u = position_at(z);
  profile_shift_mm = 0.5 * std::abs(position_at(z + cc_sd) - position_at(z - cc_sd));
  return s.extreme_at(dir, across, u);
}

Vec2 Engine::between(const SectionPair& s, double z, double t, bool walls) const {
  const Vec3 ca(s.sa->centroid.x(), s.sa->centroid.y(), z), cb(s.sb->centroid.x(), s.sb->centroid.y(), z);
  if (!walls)
    return xy(ca + t * (cb - ca));
  const int la = lm_.id(s.a), lb = lm_.id(s.b);
  // A crescent-shaped section may not contain its centroid: fall back to centroids then.
  if (lm_.label_at(ca) != la || lm_.label_at(cb) != lb)
    return xy(ca + t * (cb - ca));
  const Vec3 wall_a = lm_.boundary_crossing(la, ca, cb);
  const Vec3 wall_b = lm_.boundary_crossing(lb, cb, ca);
  if ((wall_b - ca).norm() < (wall_a - ca).norm()) // touching or overlapping: the contact point
    return xy(0.5 * (wall_a + wall_b));
  return xy(wall_a + t * (wall_b - wall_a));
}

std::string Engine::missing_landmarks(const std::vector<Placement>& placement,
                                      const std::string& side) const {
  std::set<std::string> missing;
  for (const auto& p : placement)
    for (const std::string& s : {p.a, p.b, p.structure})
      if (!s.empty() && !lm_.present(resolve_side(s, side)))
        missing.insert(resolve_side(s, side));
  return fmt::format("{}", fmt::join(missing, ", "));
}

} // namespace nervemap::nerves::detail
