// Tissue HU of the phantom (CT with arterial-phase iodinated contrast) and the patient warp.
#include "phantom/internal_blocks.h"

#include <cmath>

namespace nervemap::phantom::detail {

float hounsfield(Tissue tissue, double depth_mm) {
  // Typical CT numbers of an arterial-phase neck CT (textbook radiology values; arterial enhancement
  // 250–400 HU with a standard iodinated bolus, veins 150–250 HU from mixing of enhanced and
  // unenhanced return). Cortical bone is the outer ~1.5 mm of each bone (cervical vertebral cortical
  // shell 0.4–0.9 mm plus partial volume: Panjabi et al. 2001 Spine 26:2478), cancellous inside.
  switch (tissue) {
  case Tissue::air:
    return -1000;
  case Tissue::lung:
    return -850;
  case Tissue::fat:
    return -100;
  case Tissue::skin:
    return depth_mm < 1.6 ? 25.0f : -100.0f; // dermis over subcutaneous fat
  case Tissue::muscle:
    return 50;
  case Tissue::mucosa:
    return 60;
  case Tissue::parotid:
    return 5; // fatty parotid: -20..30 HU
  case Tissue::submandibular:
    return 55;
  case Tissue::thyroid:
    return 130; // iodine-rich and enhancing: 100–160 HU
  case Tissue::cartilage:
    return depth_mm < 1.0 ? 260.0f : 130.0f; // partly calcified rim (thyroid/cricoid cartilage)
  case Tissue::bone:
    return depth_mm < 1.5 ? 1150.0f : 320.0f; // cortex 700–1500, cancellous 200–400
  case Tissue::disc:
    return 85;
  case Tissue::artery:
    return 330;
  case Tissue::vein:
    return 190;
  case Tissue::csf:
    return 8;
  case Tissue::cord:
    return 35;
  case Tissue::brain:
    return 35;
  case Tissue::tumour:
    return 72;
  case Tissue::necrosis:
    return 20;
  }
  return 0;
}

bool tumour_may_replace(Tissue tissue) {
  switch (tissue) {
  case Tissue::fat:
  case Tissue::muscle:
  case Tissue::mucosa:
  case Tissue::parotid:
  case Tissue::submandibular:
  case Tissue::thyroid:
  case Tissue::tumour:
  case Tissue::necrosis:
    return true;
  default:
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Warp: scale, then bend above the pivot (lateral and sagittal, quadratic in height), then twist
// about the vertical axis through the spine. z is only scaled, so the inverse is exact.

namespace {
constexpr double kTwistAxisY = 10; // about the cervical spinal canal/vertebral bodies
}

Vec3 Warp::forward(const Vec3& c) const {
  Vec3 p(c.x() * scale_xy, c.y() * scale_xy, c.z() * scale_z);
  double h = std::max(0.0, p.z() - pivot_z);
  p.x() += bend_lateral * h * h;
  p.y() += bend_sagittal * h * h;
  double angle = twist_rad_per_mm * std::min(h, twist_limit_mm);
  if (angle != 0) {
    double x = p.x(), y = p.y() - kTwistAxisY, ca = std::cos(angle), sa = std::sin(angle);
    p.x() = ca * x - sa * y;
    p.y() = sa * x + ca * y + kTwistAxisY;
  }
  return p;
}

Vec3 Warp::inverse(const Vec3& a) const {
  Vec3 p = a;
  double h = std::max(0.0, p.z() - pivot_z);
  double angle = twist_rad_per_mm * std::min(h, twist_limit_mm);
  if (angle != 0) {
    double x = p.x(), y = p.y() - kTwistAxisY, ca = std::cos(angle), sa = std::sin(angle);
    p.x() = ca * x + sa * y;
    p.y() = -sa * x + ca * y + kTwistAxisY;
  }
  p.x() -= bend_lateral * h * h;
  p.y() -= bend_sagittal * h * h;
  return {p.x() / scale_xy, p.y() / scale_xy, p.z() / scale_z};
}

Box Warp::forward(const Box& b) const {
  if (b.empty())
    return b;
  Box out;
  constexpr int kSteps = 8;
  for (int k = 0; k <= kSteps; ++k) {
    double z = b.lo.z() + (b.hi.z() - b.lo.z()) * k / kSteps;
    for (double x : {b.lo.x(), b.hi.x()})
      for (double y : {b.lo.y(), b.hi.y()})
        out.expand(forward(Vec3(x, y, z)));
  }
  // The pivot may lie inside the box (the bend has a kink in its second derivative there).
  double pivot_c = pivot_z / scale_z;
  if (pivot_c > b.lo.z() && pivot_c < b.hi.z())
    for (double x : {b.lo.x(), b.hi.x()})
      for (double y : {b.lo.y(), b.hi.y()})
        out.expand(forward(Vec3(x, y, pivot_c)));
  return out.padded(1.0);
}

} // namespace nervemap::phantom::detail
