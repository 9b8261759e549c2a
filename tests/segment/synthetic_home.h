// A synthetic TotalSegmentator home (see synthetic_models.h) and a small procedural CT for the tests of the
// TotalSegmentator presets and the segment/run commands.
#pragma once

#include "synthetic_models.h"

#include "anatomy/anatomy.h"

namespace nervemap::segment::test {

//! Which class each synthetic model gives to bright voxels, and from how many tile SDs on.
struct SyntheticChoice {
  std::string bright_class;
  double threshold = 1.5;
};

//! The models of TotalSegmentator's tasks under their real folder names, trainer/plans/configuration
//! and class maps, each a ThresholdModel. `skip` lists task ids to leave out (missing weights).
inline void write_synthetic_home(const fs::path& home,
                                 const std::map<int, SyntheticChoice>& choices,
                                 const std::set<int>& skip = {}) {
  std::set<std::pair<std::string, int>> done;
  for (const std::string& task : {std::string("total"), std::string("headneck_bones_vessels"),
                                  std::string("headneck_muscles"), std::string("head_glands_cavities"),
                                  std::string("head_muscles"), std::string("craniofacial_structures")}) {
    std::vector<detail::TsTask> variants{detail::ts_task(task)};
    if (task == "total") {
      variants.push_back(detail::ts_task(task, "fast"));
      variants.push_back(detail::ts_task(task, "fastest"));
    }
    for (const auto& v : variants)
      for (const auto& m : v.models) {
        if (skip.count(m.task_id) || !done.insert({m.folder, m.task_id}).second)
          continue;
        ThresholdModel tm;
        tm.classes = int(m.classes.size()) + 1;
        tm.threshold = 50; // never fires unless chosen (and its logits stay finite in half precision)
        if (auto it = choices.find(m.task_id); it != choices.end()) {
          for (const auto& [id, name] : m.classes)
            if (name == it->second.bright_class)
              tm.bright = id;
          tm.threshold = it->second.threshold;
        }
        const std::array<double, 3> zyx{v.spacing[2], v.spacing[1], v.spacing[0]};
        write_model_folder(home / m.folder / (m.trainer + "__" + m.plans + "__" + m.configuration), m.classes, zyx,
                           m.trainer, m.configuration, tm);
      }
  }
}

//! The default choices: the rough total passes and part 4 label bright voxels `skull`, part 1 marks a
//! wider zone `trachea` (so that part 4 must overwrite it), the head and neck tasks one class each.
inline std::map<int, SyntheticChoice> default_choices() {
  return {{297, {"skull", 1.5}},
          {298, {"skull", 1.5}},
          {291, {"trachea", 1.0}},
          {294, {"skull", 2.0}},
          {776, {"hyoid", 1.5}},
          {778, {"sternocleidomastoid_right", 1.0}},
          {779, {"anterior_scalene_right", 2.0}},
          {775, {"parotid_gland_left", 1.5}},
          {777, {"masseter_right", 1.5}},
          {115, {"mandible", 1.5}}};
}

//! A small CT (HU): air, an elliptic body of soft tissue and a bright bone block, defined in LPS mm so that
//! the same image can be stored in any voxel order. `direction` LPS or RAS (diag(−1, −1, 1)).
inline CtVolume synthetic_ct(const Mat3& direction = Mat3::Identity(), Index3 dims = {32, 28, 24}) {
  Geometry g;
  g.dims = dims;
  g.spacing = Vec3(2.0, 2.0, 2.5);
  g.direction = Mat3::Identity();
  g.origin = Vec3(-double(dims[0] - 1), -double(dims[1] - 1), 0);
  if (!direction.isIdentity()) { // the same voxel positions, stored from the opposite corner
    const Vec3 far = g.index_to_lps(Vec3(double(dims[0] - 1), double(dims[1] - 1), 0));
    g.origin = Vec3(far[0], far[1], 0);
    g.direction = direction;
  }
  CtVolume ct(g, -1000);
  for (int64_t k = 0; k < dims[2]; ++k)
    for (int64_t j = 0; j < dims[1]; ++j)
      for (int64_t i = 0; i < dims[0]; ++i) {
        const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        float v = -1000;
        if ((p[0] / 42) * (p[0] / 42) + (p[1] / 32) * (p[1] / 32) < 1)
          v = 40;
        if (p[0] > 5 && p[0] < 25 && p[1] > -10 && p[1] < 12 && p[2] > 20 && p[2] < 50)
          v = 900;
        ct.at(i, j, k) = v;
      }
  return ct;
}

} // namespace nervemap::segment::test
