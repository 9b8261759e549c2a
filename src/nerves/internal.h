// Internal to the nerves module (not a public header): the rule vocabulary's word tables, landmark
// sampling, planar geometry and the smoothing spline shared by the module's .cpp files (the engine
// itself: internal_engine.h).
#pragma once

#include "anatomy/anatomy.h"
#include "nerves/nerves.h"

#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

namespace nervemap::nerves::detail {

using Vec2 = Eigen::Vector2d;

// ---------------------------------------------------------------------------------------------- vocabulary
// The rule files' words for each enum of nerves.h, in the order error messages list them: rules.cpp parses
// with these tables, to_string (vocabulary.cpp) names values with them.

template <class E, size_t N> using Words = std::array<std::pair<E, std::string_view>, N>;

inline constexpr Words<Direction, 12> kDirectionWords{{{Direction::anterior, "anterior"},
                                                       {Direction::posterior, "posterior"},
                                                       {Direction::lateral, "lateral"},
                                                       {Direction::medial, "medial"},
                                                       {Direction::superior, "superior"},
                                                       {Direction::inferior, "inferior"},
                                                       {Direction::anterolateral, "anterolateral"},
                                                       {Direction::posterolateral, "posterolateral"},
                                                       {Direction::anteromedial, "anteromedial"},
                                                       {Direction::posteromedial, "posteromedial"},
                                                       {Direction::axis_posterior, "axis_posterior"},
                                                       {Direction::axis_anterior, "axis_anterior"}}};
inline constexpr Words<Primitive, 3> kPrimitiveWords{
    {{Primitive::between, "between"}, {Primitive::groove, "groove"}, {Primitive::surface, "surface"}}};
inline constexpr Words<Anchor, 7> kAnchorWords{{{Anchor::extreme, "extreme"},
                                                {Anchor::surface, "surface"},
                                                {Anchor::centroid, "centroid"},
                                                {Anchor::between, "between"},
                                                {Anchor::groove, "groove"},
                                                {Anchor::midline, "midline"},
                                                {Anchor::nerve, "nerve"}}};
//! Levels from a structure's extent are written {top_of: X}, ...; named levels {level: NAME}.
inline constexpr Words<LevelKind, 4> kStructureLevelWords{{{LevelKind::top, "top"},
                                                           {LevelKind::bottom, "bottom"},
                                                           {LevelKind::middle, "middle"},
                                                           {LevelKind::fraction, "fraction"}}};
inline constexpr Words<LevelKind, 3> kNamedLevelWords{
    {{LevelKind::thoracic_inlet, "thoracic_inlet"},
     {LevelKind::carotid_bifurcation, "carotid_bifurcation"},
     {LevelKind::laryngeal_prominence, "laryngeal_prominence"}}};
inline constexpr Words<Part, 2> kPartWords{{{Part::anterior, "anterior"}, {Part::posterior, "posterior"}}};
inline constexpr Words<Condition, 1> kConditionWords{
    {{Condition::aberrant_right_subclavian, "aberrant_right_subclavian"}}};
inline constexpr Words<Goitre, 2> kGoitreWords{{{Goitre::small, "small"}, {Goitre::large, "large"}}};

//! The word of a value in a table, nullopt if the table lacks it.
template <class E, size_t N> std::optional<std::string_view> word_of(const Words<E, N>& words, E value) {
  for (const auto& [v, w] : words)
    if (v == value)
      return w;
  return std::nullopt;
}

//! The rule name of the nerve an Anchor::nerve waypoint follows ("vagus_<side>" → "vagus").
std::string followed_nerve(const Waypoint& w);

//! Side-resolved unit vector of an anatomical direction (LPS); axis_* need the a→b axis (in-plane).
Vec3 direction_vector(Direction d, const std::string& side, const Vec2& axis = Vec2(1, 0));
std::string resolve_side(const std::string& name, const std::string& side);

//! A structure's cross-section on the axial plane z, sampled on a lattice (origin + (i·h, j·h)).
struct Section {
  double z = 0, h = 0.5;
  Vec2 lattice_origin = Vec2::Zero(); //!< shared by every section of a volume
  int64_t i0 = 0, j0 = 0, nx = 0, ny = 0;
  std::vector<uint8_t> inside; //!< nx·ny cells, 1 = inside
  int64_t count = 0;
  Vec2 centroid = Vec2::Zero();

  bool empty() const { return count == 0; }
  Vec2 cell_centre(int64_t i, int64_t j) const {
    return lattice_origin + Vec2(double(i0 + i) * h, double(j0 + j) * h);
  }
  bool at(int64_t i, int64_t j) const { return inside[size_t(i + nx * j)] != 0; }
  double area_mm2() const { return double(count) * h * h; }
  //! Mean of the cells within h/2 of the extreme projection on `dir` (the surface point facing dir).
  Vec2 extreme(const Vec2& dir) const;
  //! Cells restricted to one side of x = midline_x (side "left": x > midline).
  Section half(const std::string& side, double midline_x) const;
  //! Surface point facing `dir` of the column whose projection on `across` equals `u` (nearest column).
  Vec2 extreme_at(const Vec2& dir, const Vec2& across, double u) const;
  //! Min and max projection of the cells on a direction.
  std::pair<double, double> extent(const Vec2& dir) const;
};

//! The structures as landmarks: presence, levels, sections on axial planes (cached), extremes.
class Landmarks {
public:
  Landmarks(const LabelMap& labels, const CtVolume* ct);

  int id(const std::string& name) const; //!< catalogue id, 0 if not in the map's table
  bool present(const std::string& name) const;
  const anatomy::LabelStatistics* stats(const std::string& name) const;
  Vec3 centroid(const std::string& name) const;
  double volume_ml(const std::string& name) const;

  //! The cross-section of a structure on plane z (cached; empty if absent there).
  const Section& section(const std::string& name, double z);
  //! Label value at an LPS point (nearest voxel; 0 outside the volume).
  int label_at(const Vec3& lps) const;
  //! CT value at an LPS point (nearest voxel), if a CT was given and the point is inside.
  std::optional<float> hu_at(const Vec3& lps) const;
  //! Exact crossing of a structure's boundary on the segment from `inside_point` toward `outside_point`.
  Vec3 boundary_crossing(int label, const Vec3& inside_point, const Vec3& outside_point) const;

  //! Extreme point of a whole structure in a 3-D direction (mean of the voxels within half a voxel of
  //! the extreme), optionally restricted to one side of the midline.
  std::optional<Vec3> extreme(const std::string& name, const Vec3& dir, const std::string& half_side);

  //! The laryngeal prominence: the upper end of the thyroid cartilage's anterior angle.
  std::optional<Vec3> laryngeal_prominence();

  //! Midline x at level z: trachea / larynx / cricoid / oesophagus / vertebra centroid, else the global one.
  double midline_x(double z);

  //! LPS z of a level for a side; nullopt with `why` if its landmarks are absent. A level found through
  //! a fallback (the thoracic inlet without T1) has a value and a `why`.
  std::optional<double> level_z(const Level& level, const std::string& side, std::string& why);
  //! Lowest and highest LPS z of the scan's voxel centres.
  std::pair<double, double> scan_z_range() const;

  const Geometry& geometry() const { return labels_.voxels.geometry; }
  double lattice_mm() const { return h_; }
  const CtVolume* ct() const { return ct_; }
  const LabelMap& labels() const { return labels_; }

private:
  std::optional<Vec3> find_laryngeal_prominence();
  //! (bottom, top) z of a level's structure, or of its part.
  std::optional<std::pair<double, double>>
  structure_range(const Level& level, const std::string& side, std::string& why);
  double thoracic_inlet_z(std::string& why) const;
  std::optional<double> carotid_bifurcation_z(const std::string& side, std::string& why) const;
  const LabelMap& labels_;
  const CtVolume* ct_;
  std::array<anatomy::LabelStatistics, 256> stats_{};
  Mat4 lps_to_index_;
  double h_ = 0.5;
  Vec2 lattice_origin_ = Vec2::Zero();
  std::mutex mutex_;
  std::map<std::pair<int, int64_t>, Section> sections_;          //!< (label, z in 1/100 mm) → section
  std::map<std::string, std::pair<double, double>> part_ranges_; //!< "name/part" → (bottom, top) z
  std::optional<std::optional<Vec3>> prominence_;
  double global_midline_x_ = 0;
};

//! Where two structures meet on a plane, at the lateral end of their contact (the groove), for a side.
std::optional<Vec2>
groove_point(const Section& a, const Section& b, const std::string& side, double tolerance_mm);

//! Exact squared Euclidean distance transform of a binary raster (Felzenszwalb & Huttenlocher 2012),
//! in cells² to the nearest set cell.
std::vector<double> squared_distance_transform(const std::vector<uint8_t>& set, int64_t nx, int64_t ny);

//! Uniform cubic B-spline with a second-difference penalty (P-spline, Eilers & Marx 1996).
class PSpline {
public:
  //! Fit y(u) to weighted samples with knot spacing `knot_mm` and penalty `lambda` (relative to the
  //! mean weight).
  PSpline(const std::vector<double>& u,
          const std::vector<double>& y,
          const std::vector<double>& w,
          double knot_mm,
          double lambda);
  double value(double u) const;
  double derivative(double u) const;
  double second_derivative(double u) const;

private:
  std::array<double, 4> basis(double u, int64_t& first, int order) const;
  double u0_ = 0, du_ = 1;
  int64_t segments_ = 1;
  Eigen::VectorXd coef_;
};

} // namespace nervemap::nerves::detail
