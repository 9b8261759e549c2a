// Waypoint courses, for nerves that do not run cranio-caudally: points anchored on landmarks (an
// extreme, a surface, centroid, midline, between or groove point at a level, or another nerve's path).
#include "nerves/internal_engine.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace nervemap::nerves::detail {

Course Engine::waypoint_course(const NerveRule& rule,
                               const std::vector<Waypoint>& waypoints,
                               const std::string& side) {
  Course c;
  c.by_z = false;
  for (const auto& w : waypoints) {
    std::string why;
    Vec2 axis(1, 0);
    auto p = waypoint_point(w, side, why, axis);
    if (!p) {
      if (w.optional) {
        c.notes.push_back(fmt::format("waypoint '{}' skipped: {}", w.name, why));
        continue;
      }
      c.reason = fmt::format("waypoint '{}': {}", w.name, why);
      return c;
    }
    Vec3 q = *p;
    for (const auto& o : w.offsets)
      q += direction_vector(o.toward, side, axis) * o.mm.value;
    c.points.push_back({q, w.sd_mm.value, w.sd_mm.value, 0.0});
  }
  if (c.points.size() < 2) {
    c.reason = "fewer than two waypoints could be placed";
    return c;
  }
  std::string why;
  if (auto zf = lm_.level_z(rule.from, side, why), zt = lm_.level_z(rule.to, side, why); zf && zt)
    check_fov(rule, side, std::min(*zf, *zt), std::max(*zf, *zt));
  c.ok = true;
  return c;
}

std::optional<Vec3>
Engine::waypoint_point(const Waypoint& w, const std::string& side, std::string& why, Vec2& axis) {
  std::optional<double> z;
  if (w.at) {
    z = lm_.level_z(*w.at, side, why);
    if (!z)
      return std::nullopt;
    why.clear();
  }
  const std::string a = w.structure.empty() ? "" : resolve_side(w.structure, side);
  const std::string b = w.structure_b.empty() ? "" : resolve_side(w.structure_b, side);
  auto section_of = [&](const std::string& name) -> std::optional<Section> {
    Section s = lm_.section(name, *z);
    if (!s.empty() && w.side_half)
      s = s.half(side, lm_.midline_x(*z));
    if (s.empty()) {
      why = fmt::format("{} absent at {}", name, w.at->describe());
      return std::nullopt;
    }
    return s;
  };
  // Both sections of a two-structure anchor, and the a → b axis.
  auto section_pair = [&]() -> std::optional<std::pair<Section, Section>> {
    auto sa = section_of(a);
    if (!sa)
      return std::nullopt;
    auto sb = section_of(b);
    if (!sb)
      return std::nullopt;
    axis = sb->centroid - sa->centroid;
    return std::make_pair(std::move(*sa), std::move(*sb));
  };
  switch (w.anchor) {
  case Anchor::extreme: {
    auto p = lm_.extreme(a, direction_vector(w.toward, side), w.side_half ? side : "");
    if (!p)
      why = fmt::format("{} absent", a);
    return p;
  }
  case Anchor::nerve:
    return on_nerve(w, side, *z, why);
  case Anchor::surface:
    if (auto sa = section_of(a)) {
      Vec2 p = sa->extreme(xy(direction_vector(w.toward, side)));
      return Vec3(p.x(), p.y(), *z);
    }
    return std::nullopt;
  case Anchor::centroid:
    if (auto sa = section_of(a))
      return Vec3(sa->centroid.x(), sa->centroid.y(), *z);
    return std::nullopt;
  case Anchor::midline:
    if (auto sa = section_of(a))
      return Vec3(lm_.midline_x(*z), sa->centroid.y(), *z);
    return std::nullopt;
  case Anchor::between:
    if (auto s = section_pair()) {
      Vec2 p = s->first.centroid + w.t.value * (s->second.centroid - s->first.centroid);
      return Vec3(p.x(), p.y(), *z);
    }
    return std::nullopt;
  case Anchor::groove: {
    auto s = section_pair();
    if (!s)
      return std::nullopt;
    auto g = groove_point(s->first, s->second, side, rules_.settings.groove_tolerance_mm.value);
    if (!g) {
      why = fmt::format("no groove between {} and {}", a, b);
      return std::nullopt;
    }
    return Vec3(g->x(), g->y(), *z);
  }
  }
  return std::nullopt;
}

std::optional<Vec3>
Engine::on_nerve(const Waypoint& w, const std::string& side, double z, std::string& why) const {
  const std::string id = resolve_side(w.nerve, side);
  auto it = estimated_.find(id);
  if (it == estimated_.end() || !it->second.estimated) {
    why = fmt::format("{} not estimated", id);
    return std::nullopt;
  }
  const auto& path = it->second.path_mm;
  for (size_t i = 1; i < path.size(); ++i) {
    const double z0 = path[i - 1].z(), z1 = path[i].z();
    if ((z - z0) * (z - z1) <= 0 && std::abs(z1 - z0) > 1e-9)
      return path[i - 1] + (path[i] - path[i - 1]) * ((z - z0) / (z1 - z0));
  }
  why = fmt::format("{} does not reach {}", id, w.at->describe());
  return std::nullopt;
}

} // namespace nervemap::nerves::detail
