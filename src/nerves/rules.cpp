// Loading and validating the rule base (rules/*.yaml). Every problem is an InputError that names the
// file and the field, so a rule author can fix it.
#include "anatomy/anatomy.h"
#include "nerves/internal.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>
#include <yaml-cpp/yaml.h>

namespace nervemap::nerves {

using namespace detail;

namespace {

//! Where in which file a node sits, for error messages.
struct Ctx {
  std::string file, path;
  Ctx operator/(const std::string& key) const { return {file, path.empty() ? key : path + "." + key}; }
  Ctx operator[](size_t i) const { return {file, fmt::format("{}[{}]", path, i)}; }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(fmt::format("rule file {}: {}: {}", file, path.empty() ? "(top level)" : path, what));
  }
};

class Parser {
public:
  Parser(const std::map<std::string, Source>& sources, std::set<std::string>& cited)
      : sources_(sources), cited_(cited) {}

  YAML::Node need(const YAML::Node& n, const char* key, const Ctx& c) const {
    if (!n.IsMap())
      c.fail("expected a mapping");
    YAML::Node v = n[key];
    if (!v)
      (c / key).fail("missing");
    return v;
  }

  std::string text(const YAML::Node& n, const Ctx& c) const {
    if (!n.IsScalar())
      c.fail("expected text");
    return n.as<std::string>();
  }

  std::string
  text(const YAML::Node& n, const char* key, const Ctx& c, const std::string& fallback = "") const {
    if (!n[key])
      return fallback;
    return text(n[key], c / key);
  }

  Quantity quantity(const YAML::Node& n, const Ctx& c) const {
    if (!n.IsMap())
      c.fail("a number needs its provenance: {value: ..., tag: S|S2|K|D, source: ..., note: ...}");
    Quantity q;
    try {
      q.value = need(n, "value", c).as<double>();
    } catch (const YAML::Exception&) {
      (c / "value").fail("not a number");
    }
    const std::string tag = text(need(n, "tag", c), c / "tag");
    if (tag == "S")
      q.tag = Provenance::source;
    else if (tag == "S2")
      q.tag = Provenance::secondary;
    else if (tag == "K")
      q.tag = Provenance::knowledge;
    else if (tag == "D")
      q.tag = Provenance::derived;
    else
      (c / "tag").fail(fmt::format("unknown provenance tag '{}' (S, S2, K or D)", tag));
    q.source = text(n, "source", c);
    q.note = text(n, "note", c);
    if ((q.tag == Provenance::source || q.tag == Provenance::secondary) && q.source.empty())
      c.fail(fmt::format("a [{}] value needs a source", tag));
    if (q.source.empty() && q.note.empty())
      c.fail("a value without a source needs a note saying where it comes from");
    if (!q.source.empty()) {
      if (!sources_.count(q.source))
        (c / "source").fail(fmt::format("unknown source '{}' (add it to rules/rule_base.yaml)", q.source));
      cited_.insert(q.source);
    }
    return q;
  }

  //! A vocabulary word; an unknown one fails listing the allowed words.
  template <class E, size_t N>
  E word(const YAML::Node& n, const Ctx& c, const Words<E, N>& words, std::string_view what) const {
    const std::string s = text(n, c);
    for (const auto& [value, w] : words)
      if (w == s)
        return value;
    std::vector<std::string_view> allowed;
    for (const auto& entry : words)
      allowed.push_back(entry.second);
    c.fail(fmt::format("unknown {} '{}' ({})", what, s, fmt::join(allowed, ", ")));
  }

  Direction direction(const YAML::Node& n, const Ctx& c) const {
    return word(n, c, kDirectionWords, "direction");
  }

  //! A structure name, possibly with <side>; both sides must be catalogue names.
  std::string structure(const YAML::Node& n, const Ctx& c) const {
    std::string s = text(n, c);
    for (const char* side : {"left", "right"}) {
      std::string resolved = s;
      if (auto p = resolved.find("<side>"); p != std::string::npos)
        resolved.replace(p, 6, side);
      if (!anatomy::Catalogue::get().find(resolved) ||
          anatomy::Catalogue::get().find(resolved)->name != resolved)
        c.fail(fmt::format(
            "unknown landmark structure '{}' (use TotalSegmentator class names, <side> for left/right)",
            resolved));
    }
    return s;
  }
  std::string structure(const YAML::Node& n, const char* key, const Ctx& c) const {
    return structure(need(n, key, c), c / key);
  }

  Level level(const YAML::Node& n, const Ctx& c) const {
    if (!n.IsMap())
      c.fail("a level is {top_of: X}, {bottom_of: X}, {middle_of: X}, {fraction_of: X, value: ...} or "
             "{level: NAME}");
    Level l;
    std::optional<LevelKind> kind;
    for (const auto& [value, w] : kStructureLevelWords) {
      const std::string key = std::string(w) + "_of";
      if (n[key]) {
        kind = value;
        l.structure = structure(n[key], c / key);
      }
    }
    if (n["level"])
      kind = word(n["level"], c / "level", kNamedLevelWords, "level");
    if (!kind)
      c.fail("no level given (top_of, bottom_of, middle_of, fraction_of or level)");
    l.kind = *kind;
    if (l.kind == LevelKind::fraction)
      l.fraction = quantity(need(n, "value", c), c / "value");
    if (n["part"]) {
      l.part = word(n["part"], c / "part", kPartWords, "part");
      if (l.structure.empty())
        (c / "part").fail("part applies to a structure's level (top_of, bottom_of, middle_of, fraction_of)");
    }
    if (n["offset_mm"])
      l.offset_mm = quantity(n["offset_mm"], c / "offset_mm");
    else
      l.offset_mm = Quantity{0, Provenance::derived, "", "no offset"};
    return l;
  }

  LevelProfile profile(const YAML::Node& n, const char* value_key, const Ctx& c) const {
    if (!n.IsSequence() || n.size() == 0)
      c.fail("expected a list of {at: LEVEL, ...} entries");
    LevelProfile p;
    for (size_t i = 0; i < n.size(); ++i)
      p.points.emplace_back(level(need(n[i], "at", c[i]), c[i] / "at"),
                            quantity(need(n[i], value_key, c[i]), c[i] / value_key));
    return p;
  }

  std::vector<Offset> offsets(const YAML::Node& n, const Ctx& c) const {
    std::vector<Offset> out;
    if (!n)
      return out;
    if (!n.IsSequence())
      c.fail("expected a list of {toward: DIRECTION, mm: ...}");
    for (size_t i = 0; i < n.size(); ++i)
      out.push_back({direction(need(n[i], "toward", c[i]), c[i] / "toward"),
                     quantity(need(n[i], "mm", c[i]), c[i] / "mm")});
    return out;
  }

  Placement placement(const YAML::Node& n, const Ctx& c) const {
    Placement p;
    p.name = text(need(n, "name", c), c / "name");
    p.primitive = word(need(n, "primitive", c), c / "primitive", kPrimitiveWords, "placement primitive");
    switch (p.primitive) {
    case Primitive::between: {
      p.a = structure(n, "a", c);
      p.b = structure(n, "b", c);
      p.t = quantity(need(n, "t", c), c / "t");
      std::string measure = text(n, "measure", c, "centroids");
      if (measure != "centroids" && measure != "walls")
        (c / "measure").fail("measure is 'centroids' or 'walls'");
      p.walls = measure == "walls";
      break;
    }
    case Primitive::groove:
      p.a = structure(n, "a", c);
      p.b = structure(n, "b", c);
      if (YAML::Node prof = n["offset_profile"]) {
        for (const auto& side_entry : prof) {
          std::string side = side_entry.first.as<std::string>();
          if (side != "left" && side != "right")
            (c / "offset_profile").fail("per-side profiles are keyed left and right");
          Ctx sc = c / "offset_profile" / side;
          std::pair<LevelProfile, LevelProfile> lat_ant;
          lat_ant.first = profile(side_entry.second, "lateral_mm", sc);
          lat_ant.second = profile(side_entry.second, "anterior_mm", sc);
          p.offset_profile[side] = lat_ant;
        }
      }
      break;
    case Primitive::surface:
      p.structure = structure(n, "structure", c);
      p.surface = direction(need(n, "surface", c), c / "surface");
      if (YAML::Node along = n["along"]) {
        p.along_from = direction(need(along, "from", c / "along"), c / "along" / "from");
        if (along["fraction_profile"])
          p.along_fraction = profile(along["fraction_profile"], "fraction", c / "along" / "fraction_profile");
        else if (along["mm_profile"])
          p.along_mm = profile(along["mm_profile"], "mm", c / "along" / "mm_profile");
        else
          (c / "along").fail("give fraction_profile or mm_profile");
      }
      break;
    }
    p.offsets = offsets(n["offsets"], c / "offsets");
    YAML::Node sd = need(n, "sd_mm", c);
    p.sd_lateral_mm = quantity(need(sd, "lateral", c / "sd_mm"), c / "sd_mm" / "lateral");
    p.sd_anteroposterior_mm =
        quantity(need(sd, "anteroposterior", c / "sd_mm"), c / "sd_mm" / "anteroposterior");
    return p;
  }

  Waypoint waypoint(const YAML::Node& n, const Ctx& c) const {
    Waypoint w;
    w.name = text(need(n, "name", c), c / "name");
    w.anchor = word(need(n, "anchor", c), c / "anchor", kAnchorWords, "anchor");
    auto at = [&] { return level(need(n, "at", c), c / "at"); };
    switch (w.anchor) {
    case Anchor::extreme:
      w.structure = structure(n, "structure", c);
      w.toward = direction(need(n, "toward", c), c / "toward");
      break;
    case Anchor::surface:
      w.structure = structure(n, "structure", c);
      w.toward = direction(need(n, "toward", c), c / "toward");
      w.at = at();
      break;
    case Anchor::centroid:
    case Anchor::midline:
      w.structure = structure(n, "structure", c);
      w.at = at();
      break;
    case Anchor::between:
      w.structure = structure(n, "structure", c);
      w.structure_b = structure(n, "structure_b", c);
      w.at = at();
      w.t = quantity(need(n, "t", c), c / "t");
      break;
    case Anchor::groove:
      w.structure = structure(n, "structure", c);
      w.structure_b = structure(n, "structure_b", c);
      w.at = at();
      break;
    case Anchor::nerve:
      w.nerve = text(need(n, "nerve", c), c / "nerve");
      w.at = at();
      break;
    }
    if (n["side_half"])
      w.side_half = n["side_half"].as<bool>();
    if (n["optional"])
      w.optional = n["optional"].as<bool>();
    w.offsets = offsets(n["offsets"], c / "offsets");
    w.sd_mm = quantity(need(n, "sd_mm", c), c / "sd_mm");
    return w;
  }

  KeyedProbability keyed(const YAML::Node& n, const Ctx& c) const {
    KeyedProbability k;
    k.population = text(n, "population", c);
    k.side = text(n, "side", c);
    k.sex = text(n, "sex", c);
    if (n["goitre"])
      k.goitre = word(n["goitre"], c / "goitre", kGoitreWords, "goitre size");
    if (n["condition"])
      k.condition = word(n["condition"], c / "condition", kConditionWords, "condition");
    if (!k.side.empty() && k.side != "left" && k.side != "right")
      (c / "side").fail("side is left or right");
    if (!k.sex.empty() && k.sex != "M" && k.sex != "F")
      (c / "sex").fail("sex is M or F");
    if (YAML::Node age = n["age"]) {
      if (!age.IsSequence() || age.size() != 2)
        (c / "age").fail("age is [from, to] in years");
      k.age = std::make_pair(age[0].as<int>(), age[1].as<int>());
    }
    k.probability = quantity(need(n, "probability", c), c / "probability");
    if (k.probability.value < 0 || k.probability.value > 1)
      (c / "probability").fail("a probability lies between 0 and 1");
    k.warning = text(n, "warning", c);
    if (!k.warning.empty() && !k.condition)
      (c / "warning").fail("a warning reports a condition found on the scan: give the entry a condition");
    return k;
  }

  //! rule_base.yaml `settings`: all required, each a quantity with its provenance.
  RuleSettings settings(const YAML::Node& n, const Ctx& c) const {
    RuleSettings s;
    s.large_goitre_ml = setting(n, "large_goitre_ml", c);
    const YAML::Node smoothing = need(n, "smoothing", c);
    const Ctx sc = c / "smoothing";
    s.smoothing.per_plane = course_smoothing(need(smoothing, "per_plane", sc), sc / "per_plane");
    s.smoothing.waypoints = course_smoothing(need(smoothing, "waypoints", sc), sc / "waypoints");
    s.smoothing.lambda_growth = setting(smoothing, "lambda_growth", sc);
    if (s.smoothing.lambda_growth.value <= 1)
      (sc / "lambda_growth").fail("lambda_growth is above 1 (the penalty grows between tries)");
    s.gap_sd_per_mm = setting(n, "gap_sd_per_mm", c, true);
    s.groove_tolerance_mm = setting(n, "groove_tolerance_mm", c, true);
    s.level_profile_min_step_mm = setting(n, "level_profile_min_step_mm", c, true);
    s.retro_oesophageal_mm2 = setting(n, "retro_oesophageal_mm2", c);
    s.max_slice_spacing_mm = setting(n, "max_slice_spacing_mm", c);
    s.contrast_min_hu = setting(n, "contrast_min_hu", c);
    return s;
  }

private:
  //! A required setting: a positive quantity (or zero, for a term that may be switched off).
  Quantity setting(const YAML::Node& n, const char* key, const Ctx& c, bool zero_allowed = false) const {
    Quantity q = quantity(need(n, key, c), c / key);
    if (q.value < 0 || (q.value == 0 && !zero_allowed))
      (c / key).fail(zero_allowed ? "must not be negative" : "must be positive");
    return q;
  }

  CourseSmoothing course_smoothing(const YAML::Node& n, const Ctx& c) const {
    CourseSmoothing s;
    s.knot_spacing_mm = setting(n, "knot_spacing_mm", c);
    s.lambda = setting(n, "lambda", c);
    s.lambda_max = setting(n, "lambda_max", c);
    if (s.lambda_max.value < s.lambda.value)
      (c / "lambda_max").fail("lambda_max is at least lambda");
    return s;
  }

  const std::map<std::string, Source>& sources_;
  std::set<std::string>& cited_;
};

YAML::Node load_yaml(const fs::path& file) {
  try {
    return YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("rule file {} is not valid YAML: {}", file.string(), e.what()));
  }
}

NerveRule
parse_rule(const fs::path& file, const YAML::Node& doc, const std::map<std::string, Source>& sources) {
  Ctx c{file.filename().string(), ""};
  std::set<std::string> cited;
  Parser p(sources, cited);
  NerveRule r;
  r.file = file;
  r.nerve = p.text(p.need(doc, "nerve", c), c / "nerve");
  r.title = p.text(p.need(doc, "title", c), c / "title");
  YAML::Node sides = p.need(doc, "sides", c);
  for (size_t i = 0; i < sides.size(); ++i) {
    std::string s = p.text(sides[i], (c / "sides")[i]);
    if (s != "left" && s != "right")
      ((c / "sides")[i]).fail("sides are left and right");
    r.sides.push_back(s);
  }
  std::string order = p.text(p.need(doc, "order", c), c / "order");
  if (order != "cranial_to_caudal" && order != "caudal_to_cranial")
    (c / "order").fail("order is cranial_to_caudal or caudal_to_cranial");
  r.cranial_origin = order == "cranial_to_caudal";
  r.radius_mm = p.quantity(p.need(doc, "radius_mm", c), c / "radius_mm");
  r.segmentation_sd_mm = p.quantity(p.need(doc, "segmentation_sd_mm", c), c / "segmentation_sd_mm");
  r.craniocaudal_sd_mm = p.quantity(p.need(doc, "craniocaudal_sd_mm", c), c / "craniocaudal_sd_mm");
  YAML::Node extent = p.need(doc, "extent", c);
  r.from = p.level(p.need(extent, "from", c / "extent"), c / "extent" / "from");
  r.to = p.level(p.need(extent, "to", c / "extent"), c / "extent" / "to");
  if (YAML::Node pl = doc["placement"])
    for (size_t i = 0; i < pl.size(); ++i)
      r.placement.push_back(p.placement(pl[i], (c / "placement")[i]));
  if (YAML::Node wp = doc["waypoints"])
    for (size_t i = 0; i < wp.size(); ++i)
      r.waypoints.push_back(p.waypoint(wp[i], (c / "waypoints")[i]));
  if (r.placement.empty() == r.waypoints.empty())
    c.fail("a rule has either 'placement' (per axial plane) or 'waypoints', not both and not neither");
  if (YAML::Node vs = doc["variants"]) {
    for (size_t i = 0; i < vs.size(); ++i) {
      Ctx vc = (c / "variants")[i];
      Variant v;
      v.name = p.text(p.need(vs[i], "name", vc), vc / "name");
      v.description = p.text(p.need(vs[i], "description", vc), vc / "description");
      if (vs[i]["typical"])
        v.typical = vs[i]["typical"].as<bool>();
      if (YAML::Node kp = vs[i]["probability"])
        for (size_t j = 0; j < kp.size(); ++j)
          v.probability.push_back(p.keyed(kp[j], (vc / "probability")[j]));
      if (YAML::Node pl = vs[i]["placement"])
        for (size_t j = 0; j < pl.size(); ++j)
          v.placement.push_back(p.placement(pl[j], (vc / "placement")[j]));
      if (YAML::Node wp = vs[i]["waypoints"])
        for (size_t j = 0; j < wp.size(); ++j)
          v.waypoints.push_back(p.waypoint(wp[j], (vc / "waypoints")[j]));
      if (v.typical && (!v.placement.empty() || !v.waypoints.empty()))
        vc.fail("the typical variant is the rule's own placement; give it no placement of its own");
      if (!v.typical && v.placement.empty() && v.waypoints.empty())
        vc.fail("a variant needs a placement or waypoints");
      if (!v.typical && v.probability.empty())
        vc.fail("a variant needs its probability (frequency from a source)");
      r.variants.push_back(std::move(v));
    }
  }
  const auto typical =
      std::count_if(r.variants.begin(), r.variants.end(), [](const Variant& v) { return v.typical; });
  if (typical > 1)
    (c / "variants").fail("only one variant can be typical");
  if (typical == 0) {
    Variant v;
    v.name = "typical";
    v.description = "the usual course";
    v.typical = true;
    r.variants.insert(r.variants.begin(), v);
  }
  r.sources.assign(cited.begin(), cited.end());
  return r;
}

} // namespace

std::string detail::followed_nerve(const Waypoint& w) {
  return w.nerve.substr(0, w.nerve.find("_<side>"));
}

int KeyedProbability::specificity() const {
  return int(!population.empty()) + int(!side.empty()) + int(!sex.empty()) + int(goitre.has_value()) +
         int(condition.has_value()) + int(age.has_value());
}

const NerveRule* RuleBase::find(const std::string& nerve) const {
  for (const auto& r : nerves)
    if (r.nerve == nerve)
      return &r;
  return nullptr;
}

RuleBase load_rule_base(const fs::path& dir) {
  if (!fs::is_directory(dir))
    throw InputError(fmt::format("rule base folder not found: {}", dir.string()));
  const fs::path base_file = dir / "rule_base.yaml";
  if (!fs::exists(base_file))
    throw InputError(
        fmt::format("rule base {} has no rule_base.yaml (version, settings, sources)", dir.string()));
  YAML::Node base = load_yaml(base_file);
  RuleBase rb;
  Ctx c{"rule_base.yaml", ""};
  if (!base["version"] || !base["sources"] || !base["settings"])
    c.fail("needs version, settings and sources");
  rb.version = base["version"].as<std::string>();
  for (const auto& entry : base["sources"]) {
    Source s;
    s.key = entry.first.as<std::string>();
    const YAML::Node& n = entry.second;
    Ctx sc = c / "sources" / s.key;
    if (!n.IsMap() || !n["authors"] || !n["title"] || !n["journal"] || !n["year"])
      sc.fail("a source needs authors, title, journal and year");
    s.authors = n["authors"].as<std::string>();
    s.title = n["title"].as<std::string>();
    s.journal = n["journal"].as<std::string>();
    s.year = n["year"].as<int>();
    if (n["doi"])
      s.doi = n["doi"].as<std::string>();
    if (n["cohort"])
      s.cohort = n["cohort"].as<std::string>();
    rb.sources[s.key] = s;
  }
  std::set<std::string> cited;
  Parser p(rb.sources, cited);
  rb.settings = p.settings(base["settings"], c / "settings");

  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".yaml" && e.path().filename() != "rule_base.yaml")
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    NerveRule r = parse_rule(f, load_yaml(f), rb.sources);
    if (rb.find(r.nerve))
      throw InputError(
          fmt::format("rule file {}: nerve '{}' is defined twice", f.filename().string(), r.nerve));
    rb.nerves.push_back(std::move(r));
  }
  if (rb.nerves.empty())
    throw InputError(fmt::format("rule base {} holds no nerve rules", dir.string()));
  // Report order as listed in rule_base.yaml.
  if (YAML::Node order = base["nerves"]) {
    std::vector<NerveRule> ordered;
    for (size_t i = 0; i < order.size(); ++i) {
      const std::string name = order[i].as<std::string>();
      auto it = std::find_if(
          rb.nerves.begin(), rb.nerves.end(), [&](const NerveRule& r) { return r.nerve == name; });
      if (it == rb.nerves.end())
        (c / "nerves")[i].fail(fmt::format("lists '{}' but no rule file defines it", name));
      ordered.push_back(std::move(*it));
      rb.nerves.erase(it);
    }
    for (auto& r : rb.nerves)
      ordered.push_back(std::move(r));
    rb.nerves = std::move(ordered);
  }
  // Waypoints may follow another nerve's path; it must exist.
  for (const auto& r : rb.nerves) {
    auto check = [&](const std::vector<Waypoint>& wps) {
      for (const auto& w : wps)
        if (w.anchor == Anchor::nerve) {
          if (!rb.find(followed_nerve(w)))
            throw InputError(fmt::format("rule file {}: waypoint '{}' follows unknown nerve '{}'",
                                         r.file.filename().string(),
                                         w.name,
                                         w.nerve));
        }
    };
    check(r.waypoints);
    for (const auto& v : r.variants)
      check(v.waypoints);
  }
  return rb;
}

fs::path default_rules_dir() {
  if (const char* env = std::getenv("NERVEMAP_RULES"); env && *env)
    return env;
#ifdef NERVEMAP_RULES_DIR
  return NERVEMAP_RULES_DIR;
#else
  return "rules";
#endif
}

} // namespace nervemap::nerves
