// Internal to the phantom module (not a public header): what the parts of the neck model
// (model*.cpp) share — the scan range, sides, centreline helpers.
#pragma once

#include "phantom/phantom.h"

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

  // Sagittal lines (y at height z; x = 0)
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

} // namespace nervemap::phantom::detail
