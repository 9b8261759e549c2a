// The neck's frame: vertebral levels and the spine's sagittal curve, the airway and oesophagus
// axes in front of it, and the body outline — the reference lines every part is placed against.
#include "phantom/internal.h"

#include <cmath>
#include <stdexcept>

namespace nervemap::phantom::detail {

NeckFrame::NeckFrame(NeckParameters parameters, bool aberrant_right_subclavian)
    : p_(std::move(parameters)), aberrant_right_subclavian_(aberrant_right_subclavian) {
  stack_vertebrae();
  outline_sections();
}

void NeckFrame::stack_vertebrae() {
  // Nominal body heights (mm) from T2 to C2 (C2: body below the dens), varied by the draws in
  // model_parameters.cpp (sources there).
  struct Nominal {
    const char* name;
    double height, width, depth;
  };
  // Widths/depths of the bodies (Panjabi et al. 1991 Spine 16:861: end plate widths ~15–20 mm
  // growing caudally, depths ~15–17 mm) [thoracic: K].
  const Nominal nominal[] = {{"vertebrae_T2", 19, 27, 20},
                             {"vertebrae_T1", 17, 25, 18},
                             {"vertebrae_C7", 15, 21, 17},
                             {"vertebrae_C6", 14, 19.5, 16.5},
                             {"vertebrae_C5", 14, 18, 16},
                             {"vertebrae_C4", 14, 17, 15.5},
                             {"vertebrae_C3", 14, 16, 15},
                             {"vertebrae_C2", 21, 16, 15}};
  // T1 top at z = 0; stack upward and downward.
  double top = 0;
  vertebrae_.clear();
  {
    Vertebra t2{nominal[0].name, 0, 0, nominal[0].width, nominal[0].depth};
    Vertebra t1{nominal[1].name, 0, 0, nominal[1].width, nominal[1].depth};
    t1.hi = 0;
    t1.lo = -(nominal[1].height + p_.body_height_jitter[1]);
    t2.hi = t1.lo - p_.disc[0];
    t2.lo = t2.hi - (nominal[0].height + p_.body_height_jitter[0]);
    vertebrae_.push_back(t2);
    vertebrae_.push_back(t1);
  }
  for (int i = 2; i < 8; ++i) {
    Vertebra v{nominal[i].name, 0, 0, nominal[i].width, nominal[i].depth};
    v.lo = top + p_.disc[i - 1];
    v.hi = v.lo + nominal[i].height + p_.body_height_jitter[i];
    top = v.hi;
    vertebrae_.push_back(v);
  }
  // C1: a ring around the dens, 4–5 mm above C2's body; the basion ~5 mm above the dens tip [K].
  dens_top_ = c2().hi + 16;
  c1_lo_ = c2().hi + 2;
  c1_hi_ = dens_top_ + 1;
  basion_z_ = dens_top_ + 5;
}

const Vertebra& NeckFrame::vert(const std::string& short_name) const {
  for (const auto& v : vertebrae_)
    if (v.name == "vertebrae_" + short_name)
      return v;
  throw std::logic_error("unknown vertebra " + short_name);
}

double NeckFrame::body_depth(double z) const {
  if (z >= c2().lo)
    return 15; // C2's nominal depth, up through the atlas
  double best = 16, dist = 1e9;
  for (const auto& v : vertebrae_)
    if (std::abs(v.mid() - z) < dist)
      dist = std::abs(v.mid() - z), best = v.depth;
  return best;
}

double NeckFrame::retro_oes_gap(double z) const {
  double gap = 2.5;
  // Room for the aberrant artery (radius ~5 mm, model_vessels.cpp) where it crosses behind.
  if (aberrant_right_subclavian_)
    gap += 10.0 * smoothstep(-15, -32, z);
  return gap;
}

double NeckFrame::y_airway(double z) const {
  // In front of the oesophagus (its whole depth, 2 oes_b) with 0.5 mm between; above z = 80 (the
  // top of the larynx air) the airway axis stays put.
  double zz = std::min(z, 80.0);
  return y_spine_front(zz) - retro_oes_gap(zz) - 2 * p_.oes_b - 0.5 - 0.5 * p_.trachea_sag;
}

double NeckFrame::y_oesophagus(double z) const {
  return y_spine_front(z) - retro_oes_gap(z) - p_.oes_b;
}

Vec3 NeckFrame::tracheo_oesophageal_groove(int s, double z) const {
  // Beside the trachea's posterolateral wall, or at the oesophagus' edge where that lies further
  // out (the oesophagus lies left of the midline, x_oesophagus).
  double xe = x_oesophagus(z);
  double x =
      s > 0 ? std::max(0.5 * p_.trachea_cor * 0.85, xe + p_.oes_a * 0.55) : -(0.5 * p_.trachea_cor * 0.85);
  if (s < 0)
    x = std::min(x, xe - p_.oes_a * 0.75);
  return Vec3(x + s * 1.5, y_airway(z) + 0.5 * p_.trachea_sag * 0.75, z);
}

// ---------------------------------------------------------------------------------------------
// Body outline

void NeckFrame::outline_sections() {
  // Half-widths (x) and half-depths (y) of the outline, widening to the shoulders below the
  // inlet and into the head above C2 [K]. The canonical neck is ~120 mm wide and ~116 mm deep at C6.
  struct S {
    double z, cy, a, b, n;
  };
  const S sections[] = {{-90, 14, 200, 105, 2.2},
                        {-45, 12, 170, 90, 2.3},
                        {-25, 10, 132, 80, 2.4},
                        {-10, 9, 98, 71, 2.5},
                        {5, 9, 76, 65, 2.5},
                        {20, 9, 66, 60, 2.4},
                        {45, 9, 64, 58, 2.4},
                        {70, 8, 63, 60, 2.4},
                        {95, 8, 64, 65, 2.4},
                        {115, 9, 67, 71, 2.4},
                        {135, 11, 71, 77, 2.3},
                        {160, 12, 73, 80, 2.2},
                        {210, 12, 73, 82, 2.2}};
  body_sections_.clear();
  for (const auto& s : sections)
    body_sections_.push_back({s.z, 0, s.cy, s.a * p_.neck_width, s.b * p_.neck_depth, s.n});
  // Beneath the subcutaneous fat (fat_mm plus 2 mm for the skin); the shoulder muscles keep inside.
  std::vector<LoftSection> inner = body_sections_;
  for (auto& s : inner)
    s.a -= p_.fat_mm + 2, s.b -= p_.fat_mm + 2;
  body_inner_ = loft(inner);
}

LoftSection NeckFrame::outline_at(double z) const {
  const auto& s = body_sections_;
  size_t i = 1;
  while (i + 1 < s.size() && s[i].z < z)
    ++i;
  double f = std::clamp((z - s[i - 1].z) / (s[i].z - s[i - 1].z), 0.0, 1.0);
  auto lerp = [&](double LoftSection::*field) {
    return s[i - 1].*field + f * (s[i].*field - s[i - 1].*field);
  };
  LoftSection out;
  out.z = z;
  out.cy = lerp(&LoftSection::cy);
  out.a = lerp(&LoftSection::a);
  out.b = lerp(&LoftSection::b);
  out.exponent = lerp(&LoftSection::exponent);
  return out;
}

double NeckFrame::skin_x(double z, double y) const {
  const LoftSection o = outline_at(z);
  double v = std::min(1.0, std::abs(y - o.cy) / o.b);
  return o.a * std::pow(1 - std::pow(v, o.exponent), 1.0 / o.exponent);
}

Vec3 NeckFrame::under_skin(double z, double angle_deg, double depth) const {
  const LoftSection o = outline_at(z);
  const double a = o.a, b = o.b, n = o.exponent;
  double c = std::cos(angle_deg * kDeg), sn = std::sin(angle_deg * kDeg);
  // Superellipse radius along the direction (c, -sn).
  double r = std::pow(std::pow(std::abs(c) / a, n) + std::pow(std::abs(sn) / b, n), -1.0 / n);
  r -= depth;
  return {r * c, o.cy - r * sn, z};
}

} // namespace nervemap::phantom::detail
