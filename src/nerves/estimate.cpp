// The nerve estimation engine's entry: the nerves in dependency order, and for each side the most likely
// variant whose course could be placed (rules → placed points → smoothed path with a 95 % corridor).
#include "nerves/internal_engine.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace nervemap::nerves {

using namespace detail;

namespace detail {

Engine::Engine(const RuleBase& rules, Landmarks& lm, const EstimationOptions& opt, Warnings& warnings)
    : rules_(rules), lm_(lm), opt_(opt), warnings_(warnings) {
  aberrant_right_subclavian_ = detect_aberrant_right_subclavian();
  goitre_ =
      lm_.volume_ml("thyroid_gland") > rules.settings.large_goitre_ml.value ? Goitre::large : Goitre::small;
}

void Engine::record(const NervePath& path) {
  estimated_[path.id] = path;
}

NervePath Engine::estimate(const NerveRule& rule, const std::string& side) {
  NervePath out;
  out.nerve = rule.nerve;
  out.side = side;
  out.id = rule.nerve + "_" + side;
  out.radius_mm = rule.radius_mm.value;
  out.sources = rule.sources;

  std::vector<Candidate> candidates = weighed_variants(rule, side);
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

std::vector<const NerveRule*> dependency_order(const RuleBase& rules) {
  std::vector<const NerveRule*> order;
  std::set<std::string> placed;
  auto deps = [](const NerveRule& r) {
    std::set<std::string> d;
    auto add = [&](const std::vector<Waypoint>& wps) {
      for (const auto& w : wps)
        if (w.anchor == Anchor::nerve)
          d.insert(followed_nerve(w));
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

} // namespace detail

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
      engine.record(path);
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
