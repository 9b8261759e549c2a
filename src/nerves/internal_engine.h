// Internal to the nerves module (not a public header): the estimation engine. One class, its members
// defined by concern: estimate.cpp (order of the nerves, the most likely variant), variants.cpp (keyed
// frequencies and conditions), levels.cpp (levels and level profiles), plane_course.cpp (per-plane
// placement), waypoint_course.cpp, fit.cpp (smoothing and the corridor), checks.cpp (FOV and sanity).
#pragma once

#include "nerves/internal.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nervemap::nerves::detail {

//! sqrt(χ²₂(0.95)): the 95 % radius of a 2-D isotropic Gaussian in units of σ (research §14).
inline constexpr double kChi2d95 = 2.4477;

inline Vec2 xy(const Vec3& v) {
  return Vec2(v.x(), v.y());
}

//! A point of a course placed by a rule, with the rule's in-plane SDs.
struct PlacedPoint {
  Vec3 p;
  double sd_lateral = 2, sd_ap = 2;
  //! In-plane movement of a level-dependent offset when the levels shift by the cranio-caudal SD (half the
  //! difference between the offsets at z ± SD): the posture term of the corridor.
  double profile_shift_mm = 0;
};

//! The placed points of one variant's course, in path order.
struct Course {
  bool ok = false;
  std::string reason;
  bool by_z = true; //!< per-plane (parameterised by z) or waypoints (by chord length)
  std::vector<PlacedPoint> points;
  std::vector<SkippedLevel> skipped;
  std::vector<std::string> notes;
};

//! A course smoothed and resampled, with its corridor.
struct Fitted {
  std::vector<Vec3> path;
  std::vector<double> r95;
  std::vector<std::pair<size_t, size_t>> segments;
  double min_radius_mm = 1e9;
};

//! A variant with its probability for one side, then its course.
struct Candidate {
  const Variant* variant;
  double probability;
  Course course;
  Fitted fitted;
};

class Engine {
public:
  Engine(const RuleBase& rules, Landmarks& lm, const EstimationOptions& opt, Warnings& warnings);

  //! One nerve on one side: every variant's course, the most likely one that could be placed as the path.
  NervePath estimate(const NerveRule& rule, const std::string& side);
  //! An estimated nerve whose path later waypoints may follow (Anchor::nerve).
  void record(const NervePath& path);

private:
  // variants.cpp
  //! The typical variant first, then the others, with their probabilities for the side.
  std::vector<Candidate> weighed_variants(const NerveRule& rule, const std::string& side) const;
  //! Whether a keyed entry applies to this patient, scan and side.
  bool applies(const KeyedProbability& k, const std::string& side) const;
  double probability(const Variant& v, const std::string& side) const;
  //! The warnings of the applicable keyed entries that carry one, in the rule's order.
  void warn_conditions(const NerveRule& rule, const std::string& side);
  //! Whether a condition keying variant frequencies was found on this scan.
  bool holds(Condition condition) const;
  bool detect_aberrant_right_subclavian();

  // levels.cpp
  //! z of a level, or nullopt (with the reason appended to notes); a fallback level is also a warning.
  std::optional<double>
  level(const Level& l, const std::string& side, std::vector<std::string>* notes = nullptr);
  //! A level profile's points (z, value) for a side, sorted by z (cached).
  const std::vector<std::pair<double, double>>& resolved(const LevelProfile& prof, const std::string& side);
  //! Linear interpolation of a level profile at z (constant beyond the ends).
  std::optional<double> profile_value(const LevelProfile& prof, const std::string& side, double z);

  // plane_course.cpp
  Course
  plane_course(const NerveRule& rule, const std::vector<Placement>& placement, const std::string& side);
  //! One placement on plane z, or nullopt with `why`.
  std::optional<PlacedPoint>
  place(const Placement& p, const std::string& side, double z, double cc_sd, std::string& why);
  //! The sections of a two-structure primitive on a plane.
  struct SectionPair {
    std::string a, b;
    const Section *sa, *sb;
  };
  //! Both sections of a between or groove placement on plane z (nullopt if one is absent), and the a → b
  //! axis.
  std::optional<SectionPair>
  sections(const Placement& p, const std::string& side, double z, Vec2& axis, std::string& why);
  //! Point at fraction t from a to b: between centroids, or between the walls met on that line.
  Vec2 between(const SectionPair& s, double z, double t, bool walls) const;
  //! The groove point, moved by the rule's level-dependent offset for the side.
  std::optional<Vec2> groove(const Placement& p,
                             const SectionPair& s,
                             const std::string& side,
                             double z,
                             double cc_sd,
                             double& profile_shift_mm,
                             std::string& why);
  //! The surface point facing the rule's direction, optionally at a position across the structure.
  std::optional<Vec2> surface(const Placement& p,
                              const std::string& side,
                              double z,
                              double cc_sd,
                              double& profile_shift_mm,
                              std::string& why);
  std::string missing_landmarks(const std::vector<Placement>& placement, const std::string& side) const;

  // waypoint_course.cpp
  Course
  waypoint_course(const NerveRule& rule, const std::vector<Waypoint>& waypoints, const std::string& side);
  //! A waypoint's anchor point (before its offsets), or nullopt with `why`; `axis` for axis_* offsets.
  std::optional<Vec3>
  waypoint_point(const Waypoint& w, const std::string& side, std::string& why, Vec2& axis);
  //! The point of an already estimated nerve's path at level z.
  std::optional<Vec3> on_nerve(const Waypoint& w, const std::string& side, double z, std::string& why) const;

  // fit.cpp
  //! Smooth and resample a course that could be placed, with its corridor.
  Fitted fit(const NerveRule& rule, const Course& c) const;

  // checks.cpp
  //! A warning when the scan does not cover the extent z_lo..z_hi.
  void check_fov(const NerveRule& rule, const std::string& side, double z_lo, double z_hi);
  //! Warnings where the estimated course runs through bone, airway or air, turns too sharply or is split.
  void check_sanity(const NervePath& nerve, const Fitted& f);

  const RuleBase& rules_;
  Landmarks& lm_;
  const EstimationOptions& opt_;
  Warnings& warnings_;
  bool aberrant_right_subclavian_ = false;
  Goitre goitre_ = Goitre::small;
  std::map<std::string, NervePath> estimated_; //!< by id
  std::map<std::pair<const LevelProfile*, std::string>, std::vector<std::pair<double, double>>> profiles_;
};

//! The rule base's nerves in an order where a nerve whose waypoints follow another comes after it.
std::vector<const NerveRule*> dependency_order(const RuleBase& rules);

//! Findings on the whole scan: slice spacing, contrast in the carotid arteries.
void global_checks(Landmarks& lm, const CtVolume* ct, const RuleSettings& settings, Warnings& warnings);

} // namespace nervemap::nerves::detail
