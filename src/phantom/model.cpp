// The phantom's anatomy in canonical LPS millimetres (+x left, +y posterior, +z superior), from the
// thoracic inlet (z = 0 at the cranial end plate of T1) to just above the skull base. Every
// measurement carries its source where it is set; [K] marks textbook anatomy (Gray's Anatomy, 42nd
// ed.; Netter's Atlas) where no single measurement paper was used. The numbers were fixed from these
// sources before the nerve rules were tuned, so the phantom does not echo the rules.
//
// This file holds the order in which the parts are painted (later parts overwrite earlier ones)
// and the landmarks; the parts themselves are in model_<concern>.cpp (see internal.h).
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

NeckBuilder::NeckBuilder(const Options& o, Model& m)
    : NeckFrame(draw_neck_parameters(o.seed), o.aberrant_right_subclavian), options_(o), model_(m) {}

void NeckBuilder::build() {
  model_.parameters = parameters_json(p_, options_.aberrant_right_subclavian);
  model_.warp = patient_warp(p_);
  model_.fov = field_of_view(p_);
  skin();
  posterior_and_shoulder_muscles();
  labelled_muscles();
  tongue_and_pharynx();
  glands();
  lungs();
  airway_and_oesophagus();
  cartilages();
  bones();
  veins();
  arteries();
  canal_and_cord();
  reference_nerves();
  landmarks();
}

void NeckBuilder::add(const std::string& structure, Tissue t, ShapePtr shape, float hu_offset) {
  model_.parts.push_back({structure, t, std::move(shape), hu_offset});
}

void NeckBuilder::skin() {
  // The body outline (the frame's) and the lower face and jaw in front of the neck (chin to
  // maxilla) [K], painted first: everything inside overwrites it, leaving skin and fat.
  ShapePtr face = ellipsoid(
      Vec3(0, -32, 118), Vec3(62 * p_.neck_width, 68 * p_.neck_depth, 31), Mat3::Identity(), 2.2, 3);
  ShapePtr body = unite({loft(body_sections()), face});
  add("", Tissue::skin, body);
}

void NeckBuilder::landmarks() {
  auto& l = model_.landmarks;
  auto lps = [&](const Vec3& c) {
    Vec3 p = model_.warp.forward(c);
    return nlohmann::json::array({p.x(), p.y(), p.z()});
  };
  l["laryngeal_prominence"] = lps(prominence_);
  l["hyoid_body"] = lps(hyoid_body_);
  for (int s : {-1, 1}) {
    const int si = side_index(s);
    l[sided("carotid_bifurcation", s)] = lps(bifurcation_[si]);
    // Superior pole: the most cranial point of the lobe's ellipsoid.
    const auto& [c, semi, axes] = lobes_[si];
    Vec3 up = axes.transpose() * Vec3::UnitZ();
    Vec3 local = semi.cwiseProduct(semi).cwiseProduct(up);
    local /= std::sqrt(up.dot(semi.cwiseProduct(semi).cwiseProduct(up)));
    l[sided("superior_thyroid_pole", s)] = lps(c + axes * local);
    l[sided("gonion", s)] = lps(gonion_[si]);
  }
  l["cricoid_lower_border_z_mm"] = model_.warp.forward(Vec3(0, y_airway(cricoid_low()), cricoid_low())).z();
  l["hard_palate_z_mm"] = model_.warp.forward(hard_palate_).z();
  nlohmann::json bodies = nlohmann::json::object();
  for (const auto& v : vertebrae())
    bodies[v.name] = {v.lo * p_.scale_z, v.hi * p_.scale_z};
  l["vertebral_body_z_mm"] = bodies;
  l["t1_body_top_z_mm"] = vert("T1").hi * p_.scale_z;
}

Model build_model(const Options& options) {
  Model model;
  NeckBuilder(options, model).build();
  return model;
}

} // namespace nervemap::phantom::detail
