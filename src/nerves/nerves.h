// nervemap nerves: estimate nerve courses from a rule base anchored on segmented structures.
//
// Nerves are not visible on CT. Each nerve has a rule file in rules/ (data, not code) naming its
// landmark structures, a placement primitive per axial plane (or waypoints for nerves that do not run
// cranio-caudally), its extent, its uncertainty and its anatomical variants, with a source for every
// number. The engine samples the structure masks on planes of constant LPS z (every 1 mm) through
// the volume geometry, places a point where the landmarks exist, bridges short gaps, fits a smoothing
// B-spline weighted by uncertainty, resamples the path at ≤ 1 mm and carries a 95 % corridor radius
// per point. A nerve whose landmarks are missing is `not_estimated` with the reason, never invented.
#pragma once

#include "core/core.h"

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nervemap::nerves {

namespace fs = std::filesystem;

// ----------------------------------------------------------------------------------------------
// The rule base (loaded from rules/*.yaml; see rules/README.md for the format)

//! Provenance tags of research/nerve-anatomy.md §0.
enum class Provenance { source, secondary, knowledge, derived }; // [S] [S2] [K] [D]

//! A number from the literature (or derived from it), with where it comes from.
struct Quantity {
  double value = 0;
  Provenance tag = Provenance::derived;
  std::string source; //!< key into RuleBase::sources ("" only for [K]/[D] values with a note)
  std::string note;
};

struct Source {
  std::string key; //!< short citation used in report.json, e.g. "Inamura 2017"
  std::string authors, title, journal, doi, cohort;
  int year = 0;
};

//! An anatomical direction; lateral/medial resolve per side (design §4). axis_posterior/anterior: in the
//! axial plane, perpendicular to the line from landmark a to landmark b, toward posterior/anterior.
enum class Direction {
  anterior,
  posterior,
  lateral,
  medial,
  superior,
  inferior,
  anterolateral, //!< in-plane diagonals, e.g. the anterior (free) border of the trapezius
  posterolateral,
  anteromedial,
  posteromedial,
  axis_posterior,
  axis_anterior
};

//! How a point is placed on an axial plane (see Placement).
enum class Primitive { between, groove, surface };

//! What a waypoint is anchored on (see Waypoint).
enum class Anchor { extreme, surface, centroid, between, groove, midline, nerve };

//! How a level is found: from a structure's cranio-caudal extent (top, bottom, middle, fraction) or a
//! named level (design §4).
enum class LevelKind {
  top,
  bottom,
  middle,
  fraction,
  thoracic_inlet,
  carotid_bifurcation,
  laryngeal_prominence
};

//! The front or back quarter of a structure's anteroposterior extent (e.g. the cricoid arch).
enum class Part { anterior, posterior };

//! A finding on the scan that keys variant frequencies (and may carry a warning).
enum class Condition { aberrant_right_subclavian };

//! Thyroid size, by RuleSettings::large_goitre_ml.
enum class Goitre { small, large };

//! The rule files' word for a vocabulary value (each word is parsed once, in rules.cpp), for notes,
//! reports and messages.
std::string_view to_string(Direction value);
std::string_view to_string(Primitive value);
std::string_view to_string(Anchor value);
std::string_view to_string(LevelKind value);
std::string_view to_string(Part value);
std::string_view to_string(Condition value);
std::string_view to_string(Goitre value);

struct Offset {
  Direction toward = Direction::posterior;
  Quantity mm;
};

//! A cranio-caudal level (LPS z): the top, bottom or middle of a structure, a fraction of its height
//! from the top, or a named level; plus an offset toward superior.
struct Level {
  LevelKind kind = LevelKind::top;
  std::string structure;    //!< for top/bottom/middle/fraction (may contain <side>)
  Quantity fraction;        //!< kind == fraction: 0 = top, 1 = bottom
  Quantity offset_mm;       //!< added toward superior (value 0 when absent)
  std::optional<Part> part; //!< only that part of the structure (else all of it)
  std::string describe() const;
};

//! A value that changes with level, linearly interpolated in z (held constant beyond the ends).
struct LevelProfile {
  std::vector<std::pair<Level, Quantity>> points;
  bool empty() const { return points.empty(); }
};

//! One way of placing a point on an axial plane (design §4 primitives):
//!  - between: point at fraction t from landmark a to b (centroids, or the walls along that line),
//!  - groove:  where two structures meet, at the lateral end of their contact (tracheo-oesophageal groove),
//!  - surface: on a structure's surface facing a direction, optionally at a position across the structure
//!             (a fraction of its width from one border, or millimetres from it).
struct Placement {
  std::string name;
  Primitive primitive = Primitive::between;
  std::string a, b;      //!< between, groove
  std::string structure; //!< surface
  Direction surface = Direction::anterior;
  Direction along_from = Direction::lateral;
  LevelProfile along_fraction, along_mm; //!< surface: position across the structure
  Quantity t;
  bool walls = false;
  std::vector<Offset> offsets;
  //! Extra in-plane offset by level, per side ("left", "right"): lateral and anterior millimetres.
  std::map<std::string, std::pair<LevelProfile, LevelProfile>> offset_profile;
  Quantity sd_lateral_mm, sd_anteroposterior_mm;
};

//! A point anchored on landmarks, for nerves that do not run cranio-caudally:
//!  extreme (of a whole structure in a direction), surface / centroid / between / groove / midline at a
//!  level, or nerve (the point of an already estimated nerve's path at a level).
struct Waypoint {
  std::string name;
  Anchor anchor = Anchor::extreme;
  std::string structure, structure_b, nerve; //!< may contain <side>
  Direction toward = Direction::superior;
  bool side_half = false; //!< restrict an unpaired structure (thyroid, hyoid) to the side's half
  std::optional<Level> at;
  Quantity t;
  std::vector<Offset> offsets;
  Quantity sd_mm;
  bool optional = false; //!< skip (with a note) when its landmarks are absent
};

struct KeyedProbability {
  std::string population, side, sex;      //!< "" = any
  std::optional<Goitre> goitre;           //!< none = any
  std::optional<Condition> condition;     //!< none = any
  std::optional<std::pair<int, int>> age; //!< inclusive years
  Quantity probability;
  //! With a condition: emitted (once) when the entry applies to an estimated nerve, e.g. the anomaly
  //! found on the scan and what it means for the nerve.
  std::string warning;
  int specificity() const;
};

struct Variant {
  std::string name, description;
  bool typical = false; //!< the course of the nerve's own placement/waypoints; probability 1 − others
  std::vector<KeyedProbability> probability;
  std::vector<Placement> placement; //!< replaces the nerve's placement when non-empty
  std::vector<Waypoint> waypoints;  //!< replaces the nerve's waypoints when non-empty
};

struct NerveRule {
  std::string nerve, title;
  std::vector<std::string> sides;
  bool cranial_origin = true; //!< path order cranial → caudal (else caudal → cranial)
  Quantity radius_mm, segmentation_sd_mm, craniocaudal_sd_mm;
  Level from, to;
  std::vector<Placement> placement; //!< per axial plane (first whose landmarks exist wins)
  std::vector<Waypoint> waypoints;  //!< or anchored points in order
  std::vector<Variant> variants;    //!< always contains the typical course
  std::vector<std::string> sources; //!< every source key cited in the rule
  fs::path file;
};

//! Smoothing of one kind of course by a P-spline (Eilers & Marx 1996): the penalty starts at `lambda` and
//! grows until the radius of curvature is anatomically possible (design §4) or it reaches `lambda_max`.
struct CourseSmoothing {
  Quantity knot_spacing_mm; //!< along the course parameter: z (per-plane courses) or chord length
  Quantity lambda;          //!< dimensionless (the penalty is relative to the mean weight)
  Quantity lambda_max;
};

struct SmoothingSettings {
  CourseSmoothing per_plane; //!< courses placed on axial planes
  CourseSmoothing waypoints; //!< courses through waypoints
  Quantity lambda_growth;    //!< factor on lambda between tries
};

//! rule_base.yaml `settings`: the engine's tuning shared by every rule, each number with its provenance.
struct RuleSettings {
  Quantity large_goitre_ml; //!< thyroid volume above which goitre-keyed frequencies use `large`
  SmoothingSettings smoothing;
  Quantity gap_sd_per_mm;             //!< corridor SD growth with the distance to the nearest placed point
  Quantity groove_tolerance_mm;       //!< added to the band in which two walls count as meeting (groove)
  Quantity level_profile_min_step_mm; //!< least z step between consecutive points of a level profile
  Quantity retro_oesophageal_mm2;     //!< right subclavian area behind the oesophagus that makes it aberrant
  Quantity max_slice_spacing_mm;      //!< above it, small landmarks' levels are uncertain (warning)
  Quantity contrast_min_hu;           //!< mean carotid HU below which the CT counts as non-contrast (warning)
};

struct RuleBase {
  std::string version;
  std::vector<NerveRule> nerves;
  std::map<std::string, Source> sources;
  RuleSettings settings;
  const NerveRule* find(const std::string& nerve) const;
};

//! Load and validate every rules/*.yaml: unknown structures, primitives or directions, numbers without a
//! source or provenance tag, and missing sources are InputErrors naming the file and the field.
RuleBase load_rule_base(const fs::path& dir);
//! The rules folder: $NERVEMAP_RULES, else the installed/source rules/ folder.
fs::path default_rules_dir();

// ----------------------------------------------------------------------------------------------
// Estimation

struct PatientKeys {
  std::string population = "western"; //!< western | korean (keyed variant frequencies)
  std::optional<int> age;
  std::string sex; //!< "", "M", "F"
};

struct EstimationOptions {
  double plane_step_mm = 1.0;  //!< axial planes of constant LPS z
  double max_bridge_mm = 10.0; //!< gaps up to this are bridged; longer ones split the path
  double resample_step_mm = 1.0;
  double min_radius_of_curvature_mm = 5.0;
  PatientKeys keys;
};

struct SkippedLevel {
  double z_mm = 0;
  std::string reason;
};

struct VariantPath {
  std::string name;
  double probability = 0;
  bool typical = false;
  std::vector<Vec3> path_mm;
  std::vector<double> corridor_r95_mm;
};

struct NervePath {
  std::string id, nerve, side;
  bool estimated = false;
  std::string reason;        //!< why not estimated
  std::vector<Vec3> path_mm; //!< LPS, origin → end, ≤ 1 mm spacing (the most likely course)
  std::vector<double> corridor_r95_mm;
  std::vector<std::pair<size_t, size_t>> segments; //!< [first, last] point index of each piece
  std::vector<SkippedLevel> skipped_levels;
  std::vector<VariantPath> variants; //!< every variant with its probability (typical one included)
  std::vector<std::string> sources;
  std::vector<std::string> notes; //!< e.g. "non-recurrent course expected"
  double radius_mm = 0;
  double length_mm() const;
};

//! Estimate every nerve of the rule base on a structure map (catalogue ids). The CT (optional) feeds
//! plausibility checks (contrast in vessels, path inside the body). Warnings collect FOV, slice
//! thickness, contrast and sanity findings.
std::vector<NervePath> estimate_nerves(const RuleBase& rules,
                                       const LabelMap& structures,
                                       const CtVolume* ct,
                                       const EstimationOptions& options,
                                       Warnings& warnings);

} // namespace nervemap::nerves
