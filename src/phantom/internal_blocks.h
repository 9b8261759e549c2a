// Internal to the phantom module (not a public header): the building blocks behind make_phantom —
// deterministic random numbers, analytic shapes, the neck model's parts, rasterisation, tumour placement —
// shared by the module's .cpp files and its tests.
#pragma once

#include "phantom/phantom.h"

namespace nervemap::phantom {

namespace detail {

//! Deterministic random numbers: the same sequence on every platform for a seed (std::mt19937_64 bits
//! turned into doubles by our own code; normals by our own Box–Muller, since the standard
//! distributions are implementation-defined).
class Rng {
public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double uniform(); //!< [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal(double mean, double sd);
  //! Normal, redrawn (at most a few times, then clamped) until it lies in [lo, hi].
  double normal(double mean, double sd, double lo, double hi);
  bool chance(double p) { return uniform() < p; }
  Vec3 unit_vector();

private:
  std::mt19937_64 engine_;
};

//! A standard normal number that depends only on (seed, counter): per-voxel noise in any thread order.
double hashed_normal(uint64_t seed, uint64_t counter);

//! Axis-aligned box in LPS mm.
struct Box {
  Vec3 lo = Vec3::Constant(1e30), hi = Vec3::Constant(-1e30);
  static Box around(const Vec3& centre, double radius);
  static Box everything();
  bool empty() const { return (lo.array() > hi.array()).any(); }
  void expand(const Vec3& p);
  void expand(const Box& b);
  Box padded(double mm) const;
  Box intersected(const Box& b) const;
  bool contains(const Vec3& p) const {
    return (p.array() >= lo.array()).all() && (p.array() <= hi.array()).all();
  }
};

//! A solid in LPS mm: depth() is an approximate distance below its surface (> 0 inside, <= 0 outside).
class Shape {
public:
  virtual ~Shape() = default;
  virtual double depth(const Vec3& p) const = 0;
  virtual Box bounds() const = 0;
};
using ShapePtr = std::shared_ptr<const Shape>;

//! Superellipsoid: local axes = columns of `axes`; exponent 2 is an ellipsoid, larger is boxier;
//! z_exponent shapes the cranio-caudal ends (2: rounded, large: flat end plates).
ShapePtr ellipsoid(const Vec3& centre,
                   const Vec3& semi_axes_mm,
                   const Mat3& axes = Mat3::Identity(),
                   double exponent = 2,
                   double z_exponent = 2);
//! Oriented box (half extents along the columns of `axes`).
ShapePtr box(const Vec3& centre, const Vec3& half_mm, const Mat3& axes = Mat3::Identity());
//! Half space {p : (p - point) · outward_normal <= 0}.
ShapePtr half_space(const Vec3& point, const Vec3& outward_normal);

//! One node of a swept tube: an ellipse with semi-axis `a` along `width_dir` (made perpendicular to
//! the centreline) and `b` across it.
struct TubeNode {
  Vec3 centre;
  double a = 1, b = 1;
  Vec3 width_dir = Vec3::UnitX();
};
//! Tube swept along the polyline of nodes with linearly varying elliptical section and rounded ends.
ShapePtr tube(std::vector<TubeNode> nodes);
//! Circular tube of constant radius through points.
ShapePtr tube(const std::vector<Vec3>& centreline, double radius_mm);

//! Axial cross-section of a loft: superellipse centred (cx, cy), half-widths a (x) and b (y).
struct LoftSection {
  double z = 0, cx = 0, cy = 0, a = 1, b = 1, exponent = 2;
};
//! A solid stacked from axial superellipses (interpolated linearly in z), e.g. the body outline.
ShapePtr loft(std::vector<LoftSection> sections);

ShapePtr intersect(ShapePtr a, ShapePtr b);
ShapePtr subtract(ShapePtr a, ShapePtr b);
ShapePtr unite(std::vector<ShapePtr> parts);

//! Tissue classes of the CT (HU assigned in hounsfield()).
enum class Tissue : uint8_t {
  air,
  lung,
  fat,
  skin,
  muscle,
  mucosa,
  parotid,
  submandibular,
  thyroid,
  cartilage,
  bone,
  disc,
  artery,
  vein,
  csf,
  cord,
  brain,
  tumour,
  necrosis
};
//! Noise-free HU of a tissue `depth_mm` below its surface (cortex/rim vs core).
float hounsfield(Tissue tissue, double depth_mm);
//! Tissue a tumour may replace (fat, muscle, glands, thyroid, mucosa), never vessels, bone or airway.
bool tumour_may_replace(Tissue tissue);

//! Smooth patient deformation (scale, head tilt, neck bend and rotation). It keeps axial planes
//! axial (z is only scaled), so its inverse is exact and cheap.
struct Warp {
  double scale_xy = 1, scale_z = 1;
  double pivot_z = 0;          //!< bending starts above this z (actual mm)
  double bend_lateral = 0;     //!< x shift per mm² above the pivot (lateral flexion, head tilt)
  double bend_sagittal = 0;    //!< y shift per mm² above the pivot (flexion/extension)
  double twist_rad_per_mm = 0; //!< rotation about the vertical axis per mm above the pivot
  double twist_limit_mm = 1e9; //!< the twist stops growing above pivot + this
  Vec3 forward(const Vec3& canonical) const;
  Vec3 inverse(const Vec3& actual) const;
  Box forward(const Box& canonical) const; //!< conservative
};

//! One painted part of the anatomy, in paint order (later parts overwrite earlier ones).
struct Part {
  std::string structure; //!< TotalSegmentator class name, empty for unlabelled tissue
  Tissue tissue = Tissue::fat;
  ShapePtr shape;      //!< canonical space
  float hu_offset = 0; //!< per-structure variation
};

//! The phantom in canonical space plus the warp to patient LPS.
struct Model {
  std::vector<Part> parts;
  Warp warp;
  Box fov;                                              //!< region to cover, actual LPS
  nlohmann::json landmarks = nlohmann::json::object();  //!< actual LPS
  std::map<std::string, std::vector<Vec3>> nerves;      //!< reference courses, actual LPS, ~1 mm steps
  std::map<std::string, Vec3> tumour_preference;        //!< preferred direction of a tumour per nerve
  nlohmann::json parameters = nlohmann::json::object(); //!< the drawn anatomy parameters
};

//! The anatomy for a seed (independent of the grid).
Model build_model(const Options& options);

//! The voxel grid for the options (FOV of the model; LPS, RAS or oblique axes).
Geometry make_grid(const Model& model, const Options& options);

//! Rasterised anatomy on a grid.
struct Raster {
  CtVolume ct;       //!< noise-free HU
  MaskVolume labels; //!< catalogue ids
  MaskVolume tissue; //!< Tissue codes
  LabelTable table;  //!< catalogue ids and names of the painted structures
};
Raster rasterise(const Model& model, const Geometry& grid);

//! Place the tumours of the options in the raster (CT, labels, tissue) and return the HECKTOR mask
//! and one truth entry per tumour.
MaskVolume place_tumours(const Model& model, const Options& options, Raster& raster, nlohmann::json& truth);

//! Smallest distance from a point to a polyline.
double distance_to_polyline(const Vec3& p, const std::vector<Vec3>& line);

} // namespace detail

} // namespace nervemap::phantom
