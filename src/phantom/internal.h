// Internal to the phantom module (not a public header): the neck model behind build_model(), shared
// by its files — scan range and sides, centreline helpers (centrelines.cpp), the drawn parameters
// (model_parameters.cpp), the frame every part is placed against (model_frame.cpp) and the builder
// whose concerns are split over model.cpp and model_<concern>.cpp.
#pragma once

#include "phantom/internal_blocks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::phantom::detail {

inline constexpr double kDeg = std::numbers::pi / 180.0;
// Canonical z range of the scan (z = 0 at the cranial end plate of T1).
inline constexpr double kFovBottom = -45; // below T2's upper half: T2, lung apices, first ribs, clavicles
inline constexpr double kFovTop = 158;    // ~15 mm above the basion: occiput, mastoids, C1, hard palate

// Sides are s = +1 (left, +x in LPS) and s = -1 (right); per-side arrays are indexed 0 left, 1 right.
inline const char* side_name(int s) {
  return s > 0 ? "left" : "right";
}
inline std::string sided(const std::string& base, int s) {
  return base + "_" + side_name(s);
}
inline int side_index(int s) {
  return s > 0 ? 0 : 1;
}

inline double smoothstep(double e0, double e1, double x) {
  double t = std::clamp((x - e0) / (e1 - e0), 0.0, 1.0);
  return t * t * (3 - 2 * t);
}

inline Mat3 rotation_x(double rad) {
  return Eigen::AngleAxisd(rad, Vec3::UnitX()).toRotationMatrix();
}
inline Mat3 rotation_y(double rad) {
  return Eigen::AngleAxisd(rad, Vec3::UnitY()).toRotationMatrix();
}
inline Mat3 rotation_z(double rad) {
  return Eigen::AngleAxisd(rad, Vec3::UnitZ()).toRotationMatrix();
}

// ------------------------------------------------------------------------------------------------
// Centrelines (centrelines.cpp)

//! Catmull–Rom spline through control nodes (centres; radii and width directions interpolated
//! linearly), sampled about every `step` mm.
std::vector<TubeNode> spline(const std::vector<TubeNode>& c, double step = 2.0);
std::vector<Vec3> centres(const std::vector<TubeNode>& nodes);
//! Resample a polyline at `step` mm.
std::vector<Vec3> resample(const std::vector<Vec3>& line, double step);
//! Node of a z-monotonic tube at height z (linear between nodes); nullopt outside its z range.
std::optional<TubeNode> node_at_z(const std::vector<TubeNode>& nodes, double z);

// ------------------------------------------------------------------------------------------------
// The drawn anatomy (model_parameters.cpp)

//! Slow smooth wander of a vessel (tortuosity): two sinusoids per axis, amplitude in mm.
struct Wander {
  double ax[2]{}, ay[2]{}, wave[2]{100, 60}, phase[4]{};
  Vec3 at(double t) const {
    double x = 0, y = 0;
    for (int i = 0; i < 2; ++i) {
      x += ax[i] * std::sin(2 * std::numbers::pi * t / wave[i] + phase[i]);
      y += ay[i] * std::sin(2 * std::numbers::pi * t / wave[i] + phase[2 + i]);
    }
    return {x, y, 0};
  }
};

//! Every random number of one neck (sources where they are drawn). Per-side arrays: 0 left, 1 right.
struct NeckParameters {
  double scale_xy = 1, scale_z = 1, neck_width = 1, neck_depth = 1, fat_mm = 6, lordosis = 0.0011;
  std::array<double, 8> body_height_jitter{}; //!< T2, T1, C7 … C2
  std::array<double, 8> disc{};               //!< disc heights (mm), same order
  double bif_right_offset = 0, bif_left_minus_right = 0;
  double cca_r[2]{}, ica_r[2]{}, ijv_a[2]{}, ijv_flat[2]{}, ijv_gap[2]{};
  bool right_ijv_dominant = true;
  double trachea_cor = 19, trachea_sag = 18, oes_a = 10, oes_b = 5.5;
  double lobe_len[2]{}, lobe_width[2]{}, lobe_depth[2]{}, isthmus_mm = 4.5, lamina_half_angle = 0.8;
  double tilt_deg = 0, flex_deg = 0, twist_deg = 0;
  std::array<Wander, 2> wander{};
  std::array<double, 16> jitter_draws{};
  std::array<double, 24> hu_draws{};

  //! A standard-normal position jitter (clamped to ±2.5), one per use site i.
  double jitter(size_t i) const { return jitter_draws[i % jitter_draws.size()]; }
  //! A structure's HU offset, one per use site i.
  float hu(size_t i) const { return float(hu_draws[i % hu_draws.size()]); }
};

//! Draw the parameters of the neck for a seed (the only use of the seed in the model).
NeckParameters draw_neck_parameters(uint64_t seed);
//! The parameters recorded in truth.json ("parameters").
nlohmann::json parameters_json(const NeckParameters& p, bool aberrant_right_subclavian);
//! Canonical → patient LPS: size and head posture.
Warp patient_warp(const NeckParameters& p);
//! The region the grid covers (actual LPS).
Box field_of_view(const NeckParameters& p);

// ------------------------------------------------------------------------------------------------
// The frame (model_frame.cpp)

struct Vertebra {
  std::string name;            //!< TotalSegmentator class, e.g. "vertebrae_C5"
  double lo = 0, hi = 0;       //!< body end plates (z)
  double width = 0, depth = 0; //!< body transverse and sagittal diameters
  double mid() const { return 0.5 * (lo + hi); }
};

//! One neck before anything is painted: its parameters and the reference geometry derived from
//! them — the vertebral levels and the spine's sagittal curve, the airway and oesophagus axes in
//! front of it, and the body outline — which every part is placed against.
class NeckFrame {
public:
  NeckFrame(NeckParameters parameters, bool aberrant_right_subclavian);

  // Levels
  const std::vector<Vertebra>& vertebrae() const { return vertebrae_; } //!< T2, T1, C7 … C2
  const Vertebra& vert(const std::string& short_name) const;            //!< "C5", "T1", …
  const Vertebra& c2() const { return vertebrae_.back(); }
  double dens_top() const { return dens_top_; }
  double c1_lo() const { return c1_lo_; }
  double c1_hi() const { return c1_hi_; }
  double c1_mid() const { return 0.5 * (c1_lo_ + c1_hi_); }
  double basion_z() const { return basion_z_; }
  double c5_mid() const { return vert("C5").mid(); }
  //! Lower border of the cricoid (the start of the oesophagus and trachea), at C6.
  double cricoid_low() const { return vert("C6").mid() + 1; }

  // Reference lines: where an axis lies at height z (y, with x = 0, unless named x_)
  //! Centre of the vertebral body column: lordotic curve, apex at C5.
  double y_body(double z) const { return 7.0 + p_.lordosis * (z - c5_mid()) * (z - c5_mid()); }
  double body_depth(double z) const;
  //! Anterior surface of the vertebral column.
  double y_spine_front(double z) const { return y_body(z) - 0.5 * body_depth(z); }
  //! Soft tissue between the oesophagus and the spine; an aberrant right subclavian artery runs there.
  double retro_oes_gap(double z) const;
  //! Centre of the airway (trachea, subglottis, larynx).
  double y_airway(double z) const;
  double y_oesophagus(double z) const;
  //! Centre of the oesophagus in x: left of the midline, 3.5 mm in the neck and 4.5 mm below the
  //! inlet (Gray's: its left border projects beyond the trachea).
  double x_oesophagus(double z) const { return 3.5 + 1.0 * smoothstep(40, -20, z); }
  //! Where a recurrent laryngeal nerve runs in the tracheo-oesophageal groove of side s at height z.
  Vec3 tracheo_oesophageal_groove(int s, double z) const;

  // Body outline
  const std::vector<LoftSection>& body_sections() const { return body_sections_; }
  //! The body beneath the subcutaneous fat.
  const ShapePtr& body_inner() const { return body_inner_; }
  //! Axial section of the outline at height z (linear between its sections).
  LoftSection outline_at(double z) const;
  //! Lateral half-width of the outline at height z and antero-posterior position y.
  double skin_x(double z, double y) const;
  //! Point `depth` mm under the skin at height z and axial angle (degrees; 0 = patient left,
  //! 90 = anterior, 180 = right, -90 = posterior).
  Vec3 under_skin(double z, double angle_deg, double depth) const;

protected:
  const NeckParameters p_;

private:
  void stack_vertebrae();
  void outline_sections();

  bool aberrant_right_subclavian_ = false;
  std::vector<Vertebra> vertebrae_;
  double dens_top_ = 0, c1_lo_ = 0, c1_hi_ = 0, basion_z_ = 0;
  std::vector<LoftSection> body_sections_;
  ShapePtr body_inner_;
};

// ------------------------------------------------------------------------------------------------
// The builder: paints the parts of the neck into a Model (model.cpp has the paint order; each
// concern is in its own model_<concern>.cpp) and records the reference nerves and landmarks.

//! The builder is its neck's frame (a private base), so parts read like the anatomy they are
//! placed by: y_airway(z), vert("C6"), under_skin(z, angle, depth).
class NeckBuilder : NeckFrame {
public:
  NeckBuilder(const Options& o, Model& m);
  void build();

private:
  void add(const std::string& structure, Tissue t, ShapePtr shape, float hu_offset = 0);

  // model.cpp
  void skin();
  void landmarks();

  // model_muscles.cpp
  void posterior_and_shoulder_muscles();
  void labelled_muscles();
  void trapezius(int s);
  void levator_scapulae(int s);
  void middle_scalene(int s);
  void anterior_scalene(int s);
  void prevertebral(int s);
  void sternocleidomastoid(int s);
  void digastric(int s);

  // model_airway.cpp
  void tongue_and_pharynx();
  //! Oro/nasopharyngeal air column, widened by `wall` mm (its constrictor muscles).
  std::vector<TubeNode> pharynx_nodes(double wall) const;
  void lungs();
  void airway_and_oesophagus();
  void larynx_air();

  // model_glands.cpp
  void glands();
  void salivary_glands(int s);
  ShapePtr thyroid_lobe(int s);
  ShapePtr thyroid_isthmus() const;

  // model_skeleton.cpp
  void bones();
  void skull();
  void mandible();
  void hyoid();
  void cartilages();
  void thyroid_cartilage(double z_bot);
  void styloid(int s);
  void clavicle(int s);
  void first_rib(int s);

  // model_spine.cpp
  void vertebra(const Vertebra& v);
  void disc_below(const Vertebra& v);
  void atlas();
  void canal_and_cord();

  // model_vessels.cpp
  Vec3 bct_top() const;
  double bifurcation_z(int s) const;
  //! Carotid centreline (CCA below the bifurcation, ICA above) with its radii.
  std::vector<TubeNode> carotid_nodes(int s) const;
  std::vector<TubeNode> ijv_nodes(int s, const std::vector<TubeNode>& carotid) const;
  void veins();
  void arteries();
  void brachiocephalic_trunk();
  void carotid_arteries(int s);
  void subclavian_artery(int s);
  void vertebral_artery(int s);

  // model_nerves.cpp
  void reference_nerves();
  //! Record a nerve's canonical course in patient LPS (~1 mm steps).
  void nerve(const std::string& id, const std::vector<Vec3>& canonical);
  void vagus(int s);
  void recurrent_laryngeal(int s);
  void superior_laryngeal_external(int s);
  void accessory(int s);
  void phrenic(int s);
  void sympathetic_trunk(int s);
  void hypoglossal(int s);
  void tumour_preferences(int s);

  const Options& options_;
  Model& model_;

  // What one concern leaves for a later one (per side: 0 left, 1 right).
  //! Muscle centrelines the nerves run on (muscles → nerves).
  std::vector<TubeNode> asm_[2], prevert_[2], scm_[2];
  //! Vessel centrelines (vessels → nerves); carotid_ is set in veins() for the IJV beside it.
  std::vector<TubeNode> carotid_[2], ijv_[2], eca_[2], subclavian_[2];
  Vec3 bifurcation_[2]; //!< vessels → landmarks
  struct Lobe {         //!< a thyroid lobe's ellipsoid
    Vec3 centre, semi_axes;
    Mat3 axes;
  };
  Lobe lobes_[2];                    //!< glands → landmarks
  double thyroid_cartilage_top_ = 0; //!< skeleton → nerves
  Vec3 prominence_ = Vec3::Zero();   //!< skeleton → landmarks
  Vec3 hyoid_body_ = Vec3::Zero();   //!< skeleton → nerves, landmarks
  Vec3 hard_palate_ = Vec3::Zero();  //!< skeleton → landmarks
  Vec3 gonion_[2];                   //!< skeleton → landmarks
};

} // namespace nervemap::phantom::detail
