// Internal to the phantom module (not a public header): what the parts of the neck model
// (model*.cpp) share — the scan range, sides, centreline helpers.
#pragma once

#include "phantom/phantom.h"

#include <algorithm>
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

} // namespace nervemap::phantom::detail
