// Variants: their keyed frequencies for a patient, scan and side, and the conditions found on the scan
// that key them (and may carry a warning).
#include "nerves/internal_engine.h"

#include <algorithm>
#include <cmath>

namespace nervemap::nerves::detail {

std::vector<Candidate> Engine::weighed_variants(const NerveRule& rule, const std::string& side) const {
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
  return candidates;
}

bool Engine::applies(const KeyedProbability& k, const std::string& side) const {
  // Every key the entry gives must match.
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

double Engine::probability(const Variant& v, const std::string& side) const {
  // The applicable entry matching most keys; ties go to the first listed.
  const KeyedProbability* best = nullptr;
  for (const auto& k : v.probability)
    if (applies(k, side) && (!best || k.specificity() > best->specificity()))
      best = &k;
  return best ? best->probability.value : 0.0;
}

void Engine::warn_conditions(const NerveRule& rule, const std::string& side) {
  // A condition found on the scan that changes what this nerve is expected to do: the rule's words.
  for (const auto& v : rule.variants)
    for (const auto& k : v.probability)
      if (!k.warning.empty() && applies(k, side))
        warnings_.add(k.warning);
}

bool Engine::holds(Condition condition) const {
  switch (condition) {
  case Condition::aberrant_right_subclavian:
    return aberrant_right_subclavian_;
  }
  return false;
}

bool Engine::detect_aberrant_right_subclavian() {
  // A right subclavian artery running behind the oesophagus (research NRLN-1/NRLN-2): on some plane
  // part of its section lies posterior to the oesophagus' centroid and within its left-right extent.
  const anatomy::LabelStatistics* sub = lm_.stats("subclavian_artery_right");
  if (!sub || !lm_.present("esophagus"))
    return false;
  double retro_mm2 = 0;
  for (double z = std::ceil(sub->lps_min.z()); z <= sub->lps_max.z(); z += 1.0) { // every 1 mm plane
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

} // namespace nervemap::nerves::detail
