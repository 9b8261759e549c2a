// The nerve estimation engine: rules → anchor points → smoothed, resampled path with a 95 % corridor.
#include "anatomy/anatomy.h"
#include "nerves/internal.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>

namespace nervemap::nerves {

using namespace detail;

namespace {

//! sqrt(χ²₂(0.95)): the 95 % radius of a 2-D isotropic Gaussian in units of σ (research §14).
constexpr double kChi2d95 = 2.4477;

struct PlacedPoint {
  Vec3 p;
  double sd_lateral = 2, sd_ap = 2;
  //! In-plane movement of a level-dependent offset when the levels shift by the cranio-caudal SD (half the
  //! difference between the offsets at z ± SD): the posture term of the corridor.
  double profile_shift_mm = 0;
};

struct Course {
  bool ok = false;
  std::string reason;
  bool by_z = true; //!< per-plane (parameterised by z) or waypoints (by chord length)
  std::vector<PlacedPoint> anchors;
  std::vector<SkippedLevel> skipped;
  std::vector<std::string> notes;
};

struct Fitted {
  std::vector<Vec3> path;
  std::vector<double> r95;
  std::vector<std::pair<size_t, size_t>> segments;
  double min_radius_mm = 1e9;
};

Vec2 xy(const Vec3& v) {
  return Vec2(v.x(), v.y());
}

class Engine {
public:
  Engine(const RuleBase& rules, Landmarks& lm, const EstimationOptions& opt, Warnings& warnings)
      : rules_(rules), lm_(lm), opt_(opt), warnings_(warnings) {
    aberrant_right_subclavian_ = detect_aberrant_right_subclavian();
    goitre_ =
        lm_.volume_ml("thyroid_gland") > rules.settings.large_goitre_ml.value ? Goitre::large : Goitre::small;
  }

  NervePath estimate(const NerveRule& rule, const std::string& side) {
    NervePath out;
    out.nerve = rule.nerve;
    out.side = side;
    out.id = rule.nerve + "_" + side;
    out.radius_mm = rule.radius_mm.value;
    out.sources = rule.sources;

    struct Candidate {
      const Variant* variant;
      double probability;
      Course course;
      Fitted fitted;
    };
    std::vector<Candidate> candidates;
    double others = 0;
    for (const auto& v : rule.variants)
      if (!v.typical) {
        double p = probability(v, side);
        others += p;
        candidates.push_back({&v, p, {}, {}});
      }
    const Variant* typical =
        &*std::find_if(rule.variants.begin(), rule.variants.end(), [](auto& v) { return v.typical; });
    if (others > 1.0) { // keyed frequencies from different cohorts can overshoot: renormalise
      for (auto& c : candidates)
        c.probability /= others;
      others = 1.0;
    }
    candidates.insert(candidates.begin(), {typical, std::max(0.0, 1.0 - others), {}, {}});

    for (auto& c : candidates) {
      if (c.probability <= 0 && !c.variant->typical)
        continue;
      const auto& placement = c.variant->placement.empty() ? rule.placement : c.variant->placement;
      const auto& waypoints = c.variant->waypoints.empty() ? rule.waypoints : c.variant->waypoints;
      const bool use_waypoints = c.variant->typical ? rule.placement.empty() : !c.variant->waypoints.empty();
      c.course = use_waypoints ? waypoint_course(rule, waypoints, side) : plane_course(rule, placement, side);
      if (c.course.ok)
        c.fitted = fit(rule, c.course);
    }
    // The most likely course that could be placed is the path; every variant is kept with its probability.
    const Candidate* chosen = nullptr;
    for (const auto& c : candidates)
      if (c.course.ok && !c.fitted.path.empty() && (!chosen || c.probability > chosen->probability))
        chosen = &c;
    for (const auto& c : candidates) {
      VariantPath vp;
      vp.name = c.variant->name;
      vp.probability = c.probability;
      vp.typical = c.variant->typical;
      if (c.course.ok) {
        vp.path_mm = c.fitted.path;
        vp.corridor_r95_mm = c.fitted.r95;
      }
      out.variants.push_back(std::move(vp));
    }
    const Candidate& typical_candidate = candidates.front();
    if (!chosen) {
      out.estimated = false;
      out.reason = typical_candidate.course.reason.empty() ? "no variant could be placed"
                                                           : typical_candidate.course.reason;
      out.skipped_levels = typical_candidate.course.skipped;
      return out;
    }
    out.estimated = true;
    out.path_mm = chosen->fitted.path;
    out.corridor_r95_mm = chosen->fitted.r95;
    out.segments = chosen->fitted.segments;
    out.skipped_levels = chosen->course.skipped;
    out.notes = chosen->course.notes;
    if (!chosen->variant->typical)
      out.notes.push_back(fmt::format("most likely course: {} ({:.0f} %): {}",
                                      chosen->variant->name,
                                      100 * chosen->probability,
                                      chosen->variant->description));
    warn_conditions(rule, side);
    check_sanity(out, chosen->fitted);
    return out;
  }

private:
  // ---------------------------------------------------------------- probabilities
  //! Whether a keyed entry applies to this patient, scan and side (every key it gives matches).
  bool applies(const KeyedProbability& k, const std::string& side) const {
    if (!k.population.empty() && k.population != opt_.keys.population)
      return false;
    if (!k.side.empty() && k.side != side)
      return false;
    if (!k.sex.empty() && k.sex != opt_.keys.sex)
      return false;
    if (k.goitre && *k.goitre != goitre_)
      return false;
    if (k.condition && !holds(*k.condition))
      return false;
    if (k.age && (!opt_.keys.age || *opt_.keys.age < k.age->first || *opt_.keys.age > k.age->second))
      return false;
    return true;
  }

  //! The variant's frequency: the applicable entry matching most keys (ties: the first listed).
  double probability(const Variant& v, const std::string& side) const {
    const KeyedProbability* best = nullptr;
    for (const auto& k : v.probability)
      if (applies(k, side) && (!best || k.specificity() > best->specificity()))
        best = &k;
    return best ? best->probability.value : 0.0;
  }

  //! The warnings of the applicable entries that carry one (a condition on the scan that changes what
  //! the estimated nerve is expected to do), in the rule's order.
  void warn_conditions(const NerveRule& rule, const std::string& side) {
    for (const auto& v : rule.variants)
      for (const auto& k : v.probability)
        if (!k.warning.empty() && applies(k, side))
          warnings_.add(k.warning);
  }

  //! Whether a finding keying variant frequencies is on this scan.
  bool holds(Condition condition) const {
    switch (condition) {
    case Condition::aberrant_right_subclavian:
      return aberrant_right_subclavian_;
    }
    return false;
  }

  // ---------------------------------------------------------------- levels
  struct Range {
    double z_origin = 0, z_end = 0;
  };

  //! z of a level, or nullopt (with the reason appended to notes). A level found through a fallback
  //! (e.g. the thoracic inlet without T1) is also a warning (design §4).
  std::optional<double>
  level(const Level& l, const std::string& side, std::vector<std::string>* notes = nullptr) {
    std::string why;
    auto z = lm_.level_z(l, side, why);
    if (!why.empty() && notes)
      notes->push_back(why);
    if (z && !why.empty())
      warnings_.add(why);
    return z;
  }

  //! A level profile's points (z, value) in the rule's listed order, forced monotonic in z with ≥ 5 mm
  //! steps: when two sources disagree about which level is higher (e.g. where the right recurrent nerve
  //! joins the groove versus its offset at C7), the later point is moved, not reordered [D].
  const std::vector<std::pair<double, double>>& resolved(const LevelProfile& prof, const std::string& side) {
    auto key = std::make_pair(&prof, side);
    if (auto it = profiles_.find(key); it != profiles_.end())
      return it->second;
    std::vector<std::pair<double, double>> pts;
    for (const auto& [lv, q] : prof.points)
      if (auto lz = level(lv, side))
        pts.emplace_back(*lz, q.value);
    if (pts.size() >= 2) {
      const double dir = pts.back().first >= pts.front().first ? 1.0 : -1.0;
      const double min_step = rules_.settings.level_profile_min_step_mm.value;
      for (size_t i = 1; i < pts.size(); ++i)
        if ((pts[i].first - pts[i - 1].first) * dir < min_step)
          pts[i].first = pts[i - 1].first + dir * min_step;
      std::sort(pts.begin(), pts.end());
    }
    return profiles_.emplace(key, std::move(pts)).first->second;
  }

  //! Linear interpolation of a level profile at z (constant beyond the ends).
  std::optional<double> profile_value(const LevelProfile& prof, const std::string& side, double z) {
    const auto& pts = resolved(prof, side);
    if (pts.empty())
      return std::nullopt;
    if (z <= pts.front().first)
      return pts.front().second;
    if (z >= pts.back().first)
      return pts.back().second;
    for (size_t i = 1; i < pts.size(); ++i)
      if (z <= pts[i].first) {
        const double dz = pts[i].first - pts[i - 1].first;
        const double f = dz > 1e-9 ? (z - pts[i - 1].first) / dz : 0.0;
        return pts[i - 1].second + f * (pts[i].second - pts[i - 1].second);
      }
    return pts.back().second;
  }

  // ---------------------------------------------------------------- per-plane placement
  std::optional<PlacedPoint>
  place(const Placement& p, const std::string& side, double z, double cc_sd, std::string& why) {
    PlacedPoint anchor;
    anchor.sd_lateral = p.sd_lateral_mm.value;
    anchor.sd_ap = p.sd_anteroposterior_mm.value;
    Vec2 axis(1, 0);
    std::optional<Vec2> base;
    switch (p.primitive) {
    case Primitive::between:
      if (auto s = sections(p, side, z, axis, why))
        base = between(s->a, s->b, *s->sa, *s->sb, z, p.t.value, p.walls);
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

  //! The sections of a two-structure primitive (a, b) on plane z, and the a → b axis.
  struct SectionPair {
    std::string a, b;
    const Section *sa, *sb;
  };
  std::optional<SectionPair>
  sections(const Placement& p, const std::string& side, double z, Vec2& axis, std::string& why) {
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

  //! The groove point, moved by the rule's level-dependent offset for the side.
  std::optional<Vec2> groove(const Placement& p,
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

  //! The surface point facing the rule's direction, optionally at a position across the structure.
  std::optional<Vec2> surface(const Placement& p,
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

  //! Point at fraction t from a to b: between centroids, or between the walls met on that line.
  Vec2 between(const std::string& a,
               const std::string& b,
               const Section& sa,
               const Section& sb,
               double z,
               double t,
               bool walls) {
    const Vec3 ca(sa.centroid.x(), sa.centroid.y(), z), cb(sb.centroid.x(), sb.centroid.y(), z);
    if (!walls)
      return xy(ca + t * (cb - ca));
    const int la = lm_.id(a), lb = lm_.id(b);
    // A crescent-shaped section may not contain its centroid: fall back to centroids then.
    if (lm_.label_at(ca) != la || lm_.label_at(cb) != lb)
      return xy(ca + t * (cb - ca));
    const Vec3 wall_a = lm_.boundary_crossing(la, ca, cb);
    const Vec3 wall_b = lm_.boundary_crossing(lb, cb, ca);
    if ((wall_b - ca).norm() < (wall_a - ca).norm()) // touching or overlapping: the contact point
      return xy(0.5 * (wall_a + wall_b));
    return xy(wall_a + t * (wall_b - wall_a));
  }

  Course
  plane_course(const NerveRule& rule, const std::vector<Placement>& placement, const std::string& side) {
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
      warnings_.add(fmt::format(
          "{}_{}: start of the extent ({}) undefined; the course starts where its landmarks begin",
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
        c.anchors.push_back(*a);
      else
        c.skipped.push_back({z, first_reason});
    }
    if (c.anchors.size() < 3) {
      c.reason = c.anchors.empty()
                     ? fmt::format("no level between {} and {} has its landmarks ({})",
                                   rule.from.describe(),
                                   rule.to.describe(),
                                   c.skipped.empty() ? "extent empty" : c.skipped.front().reason)
                     : fmt::format("landmarks present on only {} level(s)", c.anchors.size());
      return c;
    }
    c.ok = true;
    return c;
  }

  std::string missing_landmarks(const std::vector<Placement>& placement, const std::string& side) const {
    std::set<std::string> missing;
    for (const auto& p : placement)
      for (const std::string& s : {p.a, p.b, p.structure})
        if (!s.empty() && !lm_.present(resolve_side(s, side)))
          missing.insert(resolve_side(s, side));
    return fmt::format("{}", fmt::join(missing, ", "));
  }

  void check_fov(const NerveRule& rule, const std::string& side, double z_lo, double z_hi) {
    const auto [zmin, zmax] = lm_.scan_z_range();
    if (z_lo < zmin - 1 || z_hi > zmax + 1)
      warnings_.add(
          fmt::format("{}_{}: the scan (z {:.0f} to {:.0f} mm) does not cover the nerve's extent ({:.0f} to "
                      "{:.0f} mm)",
                      rule.nerve,
                      side,
                      zmin,
                      zmax,
                      z_lo,
                      z_hi));
  }

  // ---------------------------------------------------------------- waypoints
  std::optional<Vec3>
  waypoint_point(const Waypoint& w, const std::string& side, std::string& why, Vec2& axis) {
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

  //! The point of an already estimated nerve's path at level z.
  std::optional<Vec3> on_nerve(const Waypoint& w, const std::string& side, double z, std::string& why) const {
    const std::string id = resolve_side(w.nerve, side);
    auto it = done_.find(id);
    if (it == done_.end() || !it->second.estimated) {
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

  Course
  waypoint_course(const NerveRule& rule, const std::vector<Waypoint>& waypoints, const std::string& side) {
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
      c.anchors.push_back({q, w.sd_mm.value, w.sd_mm.value, 0.0});
    }
    if (c.anchors.size() < 2) {
      c.reason = "fewer than two waypoints could be placed";
      return c;
    }
    std::string why;
    if (auto zf = lm_.level_z(rule.from, side, why), zt = lm_.level_z(rule.to, side, why); zf && zt)
      check_fov(rule, side, std::min(*zf, *zt), std::max(*zf, *zt));
    c.ok = true;
    return c;
  }

  // ---------------------------------------------------------------- smoothing and corridor
  Fitted fit(const NerveRule& rule, const Course& c) {
    Fitted out;
    const double seg_sd = rule.segmentation_sd_mm.value;
    const double cc_sd = rule.craniocaudal_sd_mm.value;
    // Split where consecutive anchors are further apart than the bridging limit (per-plane courses).
    std::vector<std::pair<size_t, size_t>> groups;
    size_t start = 0;
    for (size_t i = 1; i <= c.anchors.size(); ++i) {
      const bool split =
          i == c.anchors.size() ||
          (c.by_z && std::abs(c.anchors[i].p.z() - c.anchors[i - 1].p.z()) > opt_.max_bridge_mm + 1e-6);
      if (split) {
        groups.emplace_back(start, i - 1);
        start = i;
      }
    }
    for (const auto& [first, last] : groups) {
      const size_t n = last - first + 1;
      if (c.by_z && n < 3)
        continue; // a stray level is not a course
      std::vector<double> u(n), x(n), y(n), z(n), w(n);
      double s = 0;
      for (size_t i = 0; i < n; ++i) {
        const PlacedPoint& a = c.anchors[first + i];
        if (!c.by_z && i > 0)
          s += (a.p - c.anchors[first + i - 1].p).norm();
        u[i] = c.by_z ? a.p.z() : s;
        x[i] = a.p.x();
        y[i] = a.p.y();
        z[i] = a.p.z();
        const double sd = std::max({a.sd_lateral, a.sd_ap, 0.1});
        w[i] = 1.0 / (sd * sd + seg_sd * seg_sd);
      }
      // Smoothness grows until the radius of curvature is anatomically possible (design §4), within
      // limits for waypoint courses whose anchors demand a turn.
      const CourseSmoothing& smoothing =
          c.by_z ? rules_.settings.smoothing.per_plane : rules_.settings.smoothing.waypoints;
      const double knot = smoothing.knot_spacing_mm.value;
      double lambda = smoothing.lambda.value;
      const double lambda_max = smoothing.lambda_max.value;
      std::vector<Vec3> fine;
      std::vector<double> fine_u;
      double min_radius = 0;
      for (;;) {
        PSpline fx(u, x, w, knot, lambda), fy(u, y, w, knot, lambda);
        std::optional<PSpline> fz;
        if (!c.by_z)
          fz.emplace(u, z, w, knot, lambda);
        fine.clear();
        fine_u.clear();
        min_radius = 1e9;
        const double u_lo = *std::min_element(u.begin(), u.end()),
                     u_hi = *std::max_element(u.begin(), u.end());
        const int steps = std::max(2, int(std::ceil(std::abs(u_hi - u_lo) / 0.2)));
        for (int k = 0; k <= steps; ++k) {
          // Walk from the origin end: u[0] is the first anchor in path order.
          const double uu = u[0] + (u[n - 1] - u[0]) * double(k) / steps;
          Vec3 p(fx.value(uu), fy.value(uu), c.by_z ? uu : fz->value(uu));
          Vec3 d1(fx.derivative(uu), fy.derivative(uu), c.by_z ? 1.0 : fz->derivative(uu));
          Vec3 d2(
              fx.second_derivative(uu), fy.second_derivative(uu), c.by_z ? 0.0 : fz->second_derivative(uu));
          const double speed = d1.norm();
          if (speed > 1e-9)
            min_radius = std::min(min_radius, speed * speed * speed / std::max(d1.cross(d2).norm(), 1e-12));
          fine.push_back(p);
          fine_u.push_back(uu);
        }
        if (min_radius >= opt_.min_radius_of_curvature_mm || lambda >= lambda_max)
          break;
        lambda *= rules_.settings.smoothing.lambda_growth.value;
      }
      out.min_radius_mm = std::min(out.min_radius_mm, min_radius);
      // Resample at equal arc length, ≤ the requested step.
      std::vector<double> arc(fine.size(), 0.0);
      for (size_t k = 1; k < fine.size(); ++k)
        arc[k] = arc[k - 1] + (fine[k] - fine[k - 1]).norm();
      const double length = arc.back();
      const int pieces = std::max(1, int(std::ceil(length / opt_.resample_step_mm - 1e-9)));
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
        // Corridor: the rule's SD near the anchors, growing across bridged gaps, plus segmentation and the
        // cranio-caudal (posture) term where the in-plane position depends on the level.
        size_t nearest = 0;
        double du = 1e300;
        for (size_t i = 0; i < n; ++i)
          if (std::abs(u[i] - uu) < du) {
            du = std::abs(u[i] - uu);
            nearest = i;
          }
        const PlacedPoint& a = c.anchors[first + nearest];
        // Posture term: per-plane rules move with their landmarks, so only a level-dependent offset shifts;
        // waypoint courses shift perpendicular to themselves by the level SD times their horizontal run.
        const Vec3 tangent = (fine[k1] - fine[k]).normalized();
        const double posture = c.by_z ? a.profile_shift_mm : cc_sd * std::hypot(tangent.x(), tangent.y());
        const double sd2 = std::max(a.sd_lateral * a.sd_lateral, a.sd_ap * a.sd_ap) + seg_sd * seg_sd +
                           std::pow(rules_.settings.gap_sd_per_mm.value * du, 2) + posture * posture;
        out.path.push_back(p);
        out.r95.push_back(kChi2d95 * std::sqrt(sd2) + rule.radius_mm.value);
      }
      out.segments.emplace_back(seg_first, out.path.size() - 1);
    }
    return out;
  }

  // ---------------------------------------------------------------- checks
  void check_sanity(NervePath& nerve, const Fitted& f) {
    std::map<std::string, int> inside;
    int outside_body = 0;
    for (const auto& p : nerve.path_mm) {
      const int label = lm_.label_at(p);
      if (label) {
        const anatomy::Structure* s = anatomy::Catalogue::get().find(label);
        if (s && (s->group == "bone" || s->group == "airway"))
          ++inside[s->name];
        else if (!s && label < 200)
          ++inside["label " + std::to_string(label)];
        if (s && s->group == "airway")
          continue;
      }
      if (auto hu = lm_.hu_at(p); hu && *hu < -500)
        ++outside_body;
    }
    for (const auto& [name, count] : inside)
      warnings_.add(fmt::format("{}: {} mm of the estimated course lies inside {}; check that segmentation",
                                nerve.id,
                                count,
                                name));
    if (outside_body > 0)
      warnings_.add(fmt::format(
          "{}: {} mm of the estimated course lies in air outside the body", nerve.id, outside_body));
    if (f.min_radius_mm < opt_.min_radius_of_curvature_mm)
      warnings_.add(
          fmt::format("{}: the course turns with a {:.1f} mm radius (anatomy allows ≥ {:.0f} mm); its "
                      "waypoints demand it",
                      nerve.id,
                      f.min_radius_mm,
                      opt_.min_radius_of_curvature_mm));
    for (size_t s = 1; s < nerve.segments.size(); ++s)
      warnings_.add(fmt::format(
          "{}: gap of {:.0f} mm without landmarks; the course is split there",
          nerve.id,
          (nerve.path_mm[nerve.segments[s].first] - nerve.path_mm[nerve.segments[s - 1].second]).norm()));
  }

  bool detect_aberrant_right_subclavian() {
    // A right subclavian artery running behind the oesophagus (research NRLN-1/NRLN-2): on some plane
    // part of its section lies posterior to the oesophagus' centroid and within its left-right extent.
    const anatomy::LabelStatistics* sub = lm_.stats("subclavian_artery_right");
    if (!sub || !lm_.present("esophagus"))
      return false;
    double retro_mm2 = 0;
    for (double z = std::ceil(sub->lps_min.z()); z <= sub->lps_max.z(); z += 1.0) {
      const Section& s = lm_.section("subclavian_artery_right", z);
      const Section& e = lm_.section("esophagus", z);
      if (s.empty() || e.empty())
        continue;
      auto [e_lo, e_hi] = e.extent(Vec2(1, 0));
      for (int64_t j = 0; j < s.ny; ++j)
        for (int64_t i = 0; i < s.nx; ++i)
          if (s.at(i, j)) {
            const Vec2 p = s.cell_centre(i, j);
            if (p.y() > e.centroid.y() && p.x() >= e_lo && p.x() <= e_hi)
              retro_mm2 += s.h * s.h;
          }
    }
    return retro_mm2 >= rules_.settings.retro_oesophageal_mm2.value;
  }

public:
  std::map<std::string, NervePath> done_;

private:
  const RuleBase& rules_;
  Landmarks& lm_;
  const EstimationOptions& opt_;
  Warnings& warnings_;
  bool aberrant_right_subclavian_ = false;
  Goitre goitre_ = Goitre::small;
  std::map<std::pair<const LevelProfile*, std::string>, std::vector<std::pair<double, double>>> profiles_;
};

//! Nerves whose waypoints follow another nerve come after it.
std::vector<const NerveRule*> dependency_order(const RuleBase& rules) {
  std::vector<const NerveRule*> order;
  std::set<std::string> placed;
  auto deps = [](const NerveRule& r) {
    std::set<std::string> d;
    auto add = [&](const std::vector<Waypoint>& wps) {
      for (const auto& w : wps)
        if (w.anchor == Anchor::nerve)
          d.insert(w.nerve.substr(0, w.nerve.find("_<side>")));
    };
    add(r.waypoints);
    for (const auto& v : r.variants)
      add(v.waypoints);
    return d;
  };
  while (order.size() < rules.nerves.size()) {
    bool progress = false;
    for (const auto& r : rules.nerves) {
      if (placed.count(r.nerve))
        continue;
      auto d = deps(r);
      if (std::all_of(
              d.begin(), d.end(), [&](const std::string& n) { return placed.count(n) || n == r.nerve; })) {
        order.push_back(&r);
        placed.insert(r.nerve);
        progress = true;
      }
    }
    if (!progress)
      throw InputError("the rule base has a cycle of nerves whose waypoints follow each other");
  }
  return order;
}

void global_checks(Landmarks& lm, const CtVolume* ct, const RuleSettings& settings, Warnings& warnings) {
  // Slice thickness: the spacing along the voxel axis closest to the cranio-caudal direction.
  const Geometry& g = lm.geometry();
  int zaxis = 0;
  for (int a = 1; a < 3; ++a)
    if (std::abs(g.direction(2, a)) > std::abs(g.direction(2, zaxis)))
      zaxis = a;
  if (g.spacing[zaxis] > settings.max_slice_spacing_mm.value)
    warnings.add(fmt::format(
        "slices are {:.1f} mm apart (> {:g} mm): small landmarks (cricoid, hyoid, thyroid poles) and "
        "nerve levels are less certain",
        g.spacing[zaxis],
        settings.max_slice_spacing_mm.value));
  if (!ct)
    return;
  double sum = 0;
  int64_t n = 0;
  for (const char* name : {"common_carotid_artery_left",
                           "common_carotid_artery_right",
                           "internal_carotid_artery_left",
                           "internal_carotid_artery_right"}) {
    const int id = lm.id(name);
    const anatomy::LabelStatistics* st = lm.stats(name);
    if (!st)
      continue;
    for (int64_t k = st->index_min[2]; k <= st->index_max[2]; ++k)
      for (int64_t j = st->index_min[1]; j <= st->index_max[1]; ++j)
        for (int64_t i = st->index_min[0]; i <= st->index_max[0]; ++i)
          if (lm.labels().voxels.at(i, j, k) == id) {
            if (auto hu = lm.hu_at(g.index_to_lps(Vec3(double(i), double(j), double(k))))) {
              sum += *hu;
              ++n;
            }
          }
  }
  if (n > 0 && sum / double(n) < settings.contrast_min_hu.value)
    warnings.add(
        fmt::format("the carotid arteries are not contrast-enhanced (mean {:.0f} HU): vessel landmarks from "
                    "non-contrast CT are less reliable, widen the margins",
                    sum / double(n)));
}

} // namespace

double NervePath::length_mm() const {
  double length = 0;
  for (const auto& [first, last] : segments)
    for (size_t i = first + 1; i <= last; ++i)
      length += (path_mm[i] - path_mm[i - 1]).norm();
  return length;
}

std::vector<NervePath> estimate_nerves(const RuleBase& rules,
                                       const LabelMap& structures,
                                       const CtVolume* ct,
                                       const EstimationOptions& options,
                                       Warnings& warnings) {
  if (ct && !ct->geometry.same_grid(structures.voxels.geometry))
    throw InputError("the CT and the structure map are on different grids");
  Landmarks lm(structures, ct);
  global_checks(lm, ct, rules.settings, warnings);
  Engine engine(rules, lm, options, warnings);
  std::vector<NervePath> out;
  for (const NerveRule* rule : dependency_order(rules))
    for (const auto& side : rule->sides) {
      NervePath path = engine.estimate(*rule, side);
      engine.done_[path.id] = path;
      out.push_back(std::move(path));
    }
  // Report order: the rule base's order, left before right as written.
  std::vector<NervePath> ordered;
  for (const auto& r : rules.nerves)
    for (const auto& side : r.sides)
      for (auto& p : out)
        if (p.nerve == r.nerve && p.side == side)
          ordered.push_back(std::move(p));
  return ordered;
}

} // namespace nervemap::nerves
