// The structure catalogue (design §3). Class lists are TotalSegmentator's
// (wasserth/TotalSegmentator, totalsegmentator/map_to_binary.py `class_map`; craniofacial_structures
// from TotalSegmentator v2.5, see research/nnunet-inference.md §5). Stable nervemap ids:
//   1–117   the `total` (v2) class ids, so a `total --ml` file needs no remapping,
//   118–129 headneck_bones_vessels, 130–152 headneck_muscles, 153–171 head_glands_cavities,
//   172–182 head_muscles, 183–188 craniofacial_structures (its `skull` is total's 91).
// These ids are written into labels.nii.gz: never renumber, only append (up to 199).
#include "anatomy/anatomy.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <map>

namespace nervemap::anatomy {

namespace {

struct TaskList {
  const char* task;
  int first_stable_id;              // 0: the task's label ids are the stable ids
  std::vector<const char*> classes; // label value = position + 1
};

const std::vector<TaskList>& task_lists() {
  static const std::vector<TaskList> lists{
      {"total",
       0,
       {"spleen",
        "kidney_right",
        "kidney_left",
        "gallbladder",
        "liver",
        "stomach",
        "pancreas",
        "adrenal_gland_right",
        "adrenal_gland_left",
        "lung_upper_lobe_left",
        "lung_lower_lobe_left",
        "lung_upper_lobe_right",
        "lung_middle_lobe_right",
        "lung_lower_lobe_right",
        "esophagus",
        "trachea",
        "thyroid_gland",
        "small_bowel",
        "duodenum",
        "colon",
        "urinary_bladder",
        "prostate",
        "kidney_cyst_left",
        "kidney_cyst_right",
        "sacrum",
        "vertebrae_S1",
        "vertebrae_L5",
        "vertebrae_L4",
        "vertebrae_L3",
        "vertebrae_L2",
        "vertebrae_L1",
        "vertebrae_T12",
        "vertebrae_T11",
        "vertebrae_T10",
        "vertebrae_T9",
        "vertebrae_T8",
        "vertebrae_T7",
        "vertebrae_T6",
        "vertebrae_T5",
        "vertebrae_T4",
        "vertebrae_T3",
        "vertebrae_T2",
        "vertebrae_T1",
        "vertebrae_C7",
        "vertebrae_C6",
        "vertebrae_C5",
        "vertebrae_C4",
        "vertebrae_C3",
        "vertebrae_C2",
        "vertebrae_C1",
        "heart",
        "aorta",
        "pulmonary_vein",
        "brachiocephalic_trunk",
        "subclavian_artery_right",
        "subclavian_artery_left",
        "common_carotid_artery_right",
        "common_carotid_artery_left",
        "brachiocephalic_vein_left",
        "brachiocephalic_vein_right",
        "atrial_appendage_left",
        "superior_vena_cava",
        "inferior_vena_cava",
        "portal_vein_and_splenic_vein",
        "iliac_artery_left",
        "iliac_artery_right",
        "iliac_vena_left",
        "iliac_vena_right",
        "humerus_left",
        "humerus_right",
        "scapula_left",
        "scapula_right",
        "clavicula_left",
        "clavicula_right",
        "femur_left",
        "femur_right",
        "hip_left",
        "hip_right",
        "spinal_cord",
        "gluteus_maximus_left",
        "gluteus_maximus_right",
        "gluteus_medius_left",
        "gluteus_medius_right",
        "gluteus_minimus_left",
        "gluteus_minimus_right",
        "autochthon_left",
        "autochthon_right",
        "iliopsoas_left",
        "iliopsoas_right",
        "brain",
        "skull",
        "rib_left_1",
        "rib_left_2",
        "rib_left_3",
        "rib_left_4",
        "rib_left_5",
        "rib_left_6",
        "rib_left_7",
        "rib_left_8",
        "rib_left_9",
        "rib_left_10",
        "rib_left_11",
        "rib_left_12",
        "rib_right_1",
        "rib_right_2",
        "rib_right_3",
        "rib_right_4",
        "rib_right_5",
        "rib_right_6",
        "rib_right_7",
        "rib_right_8",
        "rib_right_9",
        "rib_right_10",
        "rib_right_11",
        "rib_right_12",
        "sternum",
        "costal_cartilages"}},
      {"headneck_bones_vessels",
       118,
       {"larynx_air",
        "thyroid_cartilage",
        "hyoid",
        "cricoid_cartilage",
        "zygomatic_arch_right",
        "zygomatic_arch_left",
        "styloid_process_right",
        "styloid_process_left",
        "internal_carotid_artery_right",
        "internal_carotid_artery_left",
        "internal_jugular_vein_right",
        "internal_jugular_vein_left"}},
      {"headneck_muscles",
       130,
       {"sternocleidomastoid_right",
        "sternocleidomastoid_left",
        "superior_pharyngeal_constrictor",
        "middle_pharyngeal_constrictor",
        "inferior_pharyngeal_constrictor",
        "trapezius_right",
        "trapezius_left",
        "platysma_right",
        "platysma_left",
        "levator_scapulae_right",
        "levator_scapulae_left",
        "anterior_scalene_right",
        "anterior_scalene_left",
        "middle_scalene_right",
        "middle_scalene_left",
        "posterior_scalene_right",
        "posterior_scalene_left",
        "sterno_thyroid_right",
        "sterno_thyroid_left",
        "thyrohyoid_right",
        "thyrohyoid_left",
        "prevertebral_right",
        "prevertebral_left"}},
      {"head_glands_cavities",
       153,
       {"eye_left",
        "eye_right",
        "eye_lens_left",
        "eye_lens_right",
        "optic_nerve_left",
        "optic_nerve_right",
        "parotid_gland_left",
        "parotid_gland_right",
        "submandibular_gland_right",
        "submandibular_gland_left",
        "nasopharynx",
        "oropharynx",
        "hypopharynx",
        "nasal_cavity_right",
        "nasal_cavity_left",
        "auditory_canal_right",
        "auditory_canal_left",
        "soft_palate",
        "hard_palate"}},
      {"head_muscles",
       172,
       {"masseter_right",
        "masseter_left",
        "temporalis_right",
        "temporalis_left",
        "lateral_pterygoid_right",
        "lateral_pterygoid_left",
        "medial_pterygoid_right",
        "medial_pterygoid_left",
        "tongue",
        "digastric_right",
        "digastric_left"}},
      {"craniofacial_structures",
       183,
       {"mandible", "teeth_lower", "skull", "head", "sinus_maxillary", "sinus_frontal", "teeth_upper"}},
  };
  return lists;
}

// Other names accepted on import: plain English, British spelling, AAPM TG-263 standard names
// (Mayo et al. 2018, Int J Radiat Oncol Biol Phys 100:1057) where they map one to one.
const std::map<std::string, std::vector<std::string>>& synonym_table() {
  static const std::map<std::string, std::vector<std::string>> table{
      {"esophagus", {"oesophagus"}},
      {"trachea", {"windpipe"}},
      {"thyroid_gland", {"thyroid", "glnd_thyroid"}},
      {"clavicula_left", {"clavicle_left", "clavicle_l"}},
      {"clavicula_right", {"clavicle_right", "clavicle_r"}},
      {"rib_left_1", {"first_rib_left", "rib_1_left"}},
      {"rib_right_1", {"first_rib_right", "rib_1_right"}},
      {"spinal_cord", {"spinalcord"}},
      {"mandible", {"bone_mandible"}},
      {"hyoid", {"bone_hyoid", "hyoid_bone"}},
      {"thyroid_cartilage", {"cartlg_thyroid"}},
      {"parotid_gland_left", {"parotid_l", "parotid_left"}},
      {"parotid_gland_right", {"parotid_r", "parotid_right"}},
      {"submandibular_gland_left", {"glnd_submand_l"}},
      {"submandibular_gland_right", {"glnd_submand_r"}},
      {"inferior_pharyngeal_constrictor", {"musc_constrict_i"}},
      {"middle_pharyngeal_constrictor", {"musc_constrict_m"}},
      {"superior_pharyngeal_constrictor", {"musc_constrict_s"}},
      {"internal_jugular_vein_left", {"v_jugular_int_l", "ijv_left"}},
      {"internal_jugular_vein_right", {"v_jugular_int_r", "ijv_right"}},
      {"common_carotid_artery_left", {"a_carotid_common_l", "cca_left"}},
      {"common_carotid_artery_right", {"a_carotid_common_r", "cca_right"}},
      {"internal_carotid_artery_left", {"a_carotid_int_l", "ica_left"}},
      {"internal_carotid_artery_right", {"a_carotid_int_r", "ica_right"}},
      {"sternocleidomastoid_left", {"musc_sternocleidomastoid_l", "scm_left"}},
      {"sternocleidomastoid_right", {"musc_sternocleidomastoid_r", "scm_right"}},
      {"brachiocephalic_trunk", {"innominate_artery", "a_brachiocephls"}},
  };
  return table;
}

std::string group_of(const std::string& n) {
  auto has = [&](const char* s) { return n.find(s) != std::string::npos; };
  if (has("cartilage"))
    return "cartilage";
  auto starts = [&](const char* prefix) { return n.rfind(prefix, 0) == 0; };
  if (starts("vertebrae_") || starts("rib_") || n == "sacrum" || n == "sternum" || n == "skull" ||
      starts("clavicula_") || starts("scapula_") || starts("humerus_") || starts("femur_") ||
      starts("hip_") || n == "hyoid" || starts("styloid_process_") || starts("zygomatic_arch_") ||
      n == "mandible" || starts("teeth_") || n == "hard_palate")
    return "bone";
  if (has("artery") || n == "aorta" || n == "brachiocephalic_trunk")
    return "artery";
  if (has("vein") || has("vena") || n == "atrial_appendage_left")
    return "vein";
  if (has("lung") || n == "trachea" || n == "larynx_air" || has("pharynx") || has("nasal_cavity") ||
      has("sinus_") || has("auditory_canal"))
    return "airway";
  if (has("gland") || n == "thyroid_gland")
    return "gland";
  if (has("scalene") || has("constrictor") || has("trapezius") || has("platysma") || has("levator") ||
      has("sternocleidomastoid") || has("sterno_thyroid") || has("thyrohyoid") || has("prevertebral") ||
      has("gluteus") || has("autochthon") || has("iliopsoas") || has("masseter") || has("temporalis") ||
      has("pterygoid") || has("digastric") || n == "tongue" || n == "soft_palate")
    return "muscle";
  if (n == "spinal_cord" || n == "brain" || has("optic_nerve"))
    return "nervous";
  return "organ";
}

// Display colours chosen for the planning views: arteries red, veins blue, airway pale cyan,
// bone ivory, cartilage pale teal, thyroid amber, glands yellow, muscles in distinguishable
// browns/pinks; left and right of a pair share a colour. Other structures get a group colour.
const std::map<std::string, Rgb>& colour_table() {
  static const std::map<std::string, Rgb> table{
      {"common_carotid_artery", {220, 40, 40}},
      {"internal_carotid_artery", {240, 90, 70}},
      {"subclavian_artery", {200, 30, 60}},
      {"brachiocephalic_trunk", {180, 20, 40}},
      {"aorta", {170, 20, 30}},
      {"internal_jugular_vein", {50, 90, 220}},
      {"brachiocephalic_vein", {70, 110, 200}},
      {"superior_vena_cava", {40, 70, 180}},
      {"trachea", {150, 220, 240}},
      {"larynx_air", {170, 235, 250}},
      {"esophagus", {210, 150, 120}},
      {"thyroid_gland", {235, 160, 40}},
      {"thyroid_cartilage", {120, 200, 190}},
      {"cricoid_cartilage", {90, 180, 170}},
      {"hyoid", {250, 240, 200}},
      {"mandible", {240, 230, 190}},
      {"skull", {235, 225, 200}},
      {"spinal_cord", {250, 220, 120}},
      {"sternocleidomastoid", {190, 100, 90}},
      {"anterior_scalene", {200, 130, 160}},
      {"middle_scalene", {170, 110, 150}},
      {"posterior_scalene", {150, 100, 140}},
      {"prevertebral", {160, 120, 100}},
      {"trapezius", {150, 80, 70}},
      {"levator_scapulae", {180, 120, 80}},
      {"inferior_pharyngeal_constrictor", {200, 120, 140}},
      {"middle_pharyngeal_constrictor", {190, 110, 150}},
      {"superior_pharyngeal_constrictor", {180, 100, 160}},
      {"digastric", {210, 140, 110}},
      {"parotid_gland", {240, 210, 90}},
      {"submandibular_gland", {230, 190, 60}},
      {"styloid_process", {245, 235, 180}},
      {"clavicula", {235, 225, 185}},
      {"rib_left_1", {225, 215, 175}},
      {"rib_right_1", {225, 215, 175}},
  };
  return table;
}

Rgb colour_of(const std::string& name, const std::string& group, int id) {
  const auto& table = colour_table();
  std::string base = name;
  for (const char* suffix : {"_left", "_right"})
    if (base.size() > std::string(suffix).size() && base.ends_with(suffix))
      base.resize(base.size() - std::string(suffix).size());
  if (auto it = table.find(name); it != table.end())
    return it->second;
  if (auto it = table.find(base); it != table.end())
    return it->second;
  static const std::map<std::string, Rgb> by_group{{"bone", {230, 220, 190}},
                                                   {"cartilage", {110, 190, 180}},
                                                   {"artery", {210, 50, 50}},
                                                   {"vein", {60, 100, 210}},
                                                   {"airway", {160, 225, 245}},
                                                   {"gland", {235, 200, 80}},
                                                   {"muscle", {180, 110, 100}},
                                                   {"nervous", {245, 215, 130}},
                                                   {"organ", {170, 140, 200}}};
  Rgb c = by_group.at(group);
  // A small id-dependent shade so neighbours of one group remain distinguishable.
  int shift = (id * 37) % 41 - 20;
  for (auto& v : c)
    v = uint8_t(std::clamp(int(v) + shift, 0, 255));
  return c;
}

std::string normalise(std::string_view name) {
  std::string s(name);
  for (char& c : s) {
    c = char(std::tolower(static_cast<unsigned char>(c)));
    if (c == '-' || c == ' ')
      c = '_';
  }
  return s;
}

} // namespace

Catalogue::Catalogue() {
  std::map<std::string, size_t> index;
  for (const auto& list : task_lists()) {
    int next_id = list.first_stable_id;
    for (size_t i = 0; i < list.classes.size(); ++i) {
      std::string name = list.classes[i];
      int label = int(i) + 1;
      auto found = index.find(name);
      if (found == index.end()) {
        Structure s;
        s.id = list.first_stable_id == 0 ? label : next_id++;
        s.name = name;
        s.group = group_of(name);
        s.rgb = colour_of(name, s.group, s.id);
        if (auto syn = synonym_table().find(name); syn != synonym_table().end())
          s.synonyms = syn->second;
        index[name] = structures_.size();
        structures_.push_back(std::move(s));
        found = index.find(name);
      }
      structures_[found->second].tasks.push_back({list.task, label});
    }
  }
  std::sort(structures_.begin(), structures_.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  for (size_t i = 0; i < structures_.size(); ++i) {
    by_name_.emplace_back(normalise(structures_[i].name), i);
    for (const auto& syn : structures_[i].synonyms)
      by_name_.emplace_back(normalise(syn), i);
  }
  std::sort(by_name_.begin(), by_name_.end());
}

const Catalogue& Catalogue::get() {
  static const Catalogue catalogue;
  return catalogue;
}

const Structure* Catalogue::find(std::string_view name) const {
  std::string key = normalise(name);
  auto it = std::lower_bound(
      by_name_.begin(), by_name_.end(), key, [](const auto& e, const std::string& k) { return e.first < k; });
  return it != by_name_.end() && it->first == key ? &structures_[it->second] : nullptr;
}

const Structure* Catalogue::find(int id) const {
  auto it = std::lower_bound(
      structures_.begin(), structures_.end(), id, [](const Structure& s, int v) { return s.id < v; });
  return it != structures_.end() && it->id == id ? &*it : nullptr;
}

const Structure& Catalogue::at(std::string_view name) const {
  if (const Structure* s = find(name))
    return *s;
  throw InputError(
      fmt::format("unknown structure '{}' (not a TotalSegmentator class name of the supported tasks)", name));
}

std::vector<std::string> Catalogue::tasks() const {
  std::vector<std::string> names;
  for (const auto& list : task_lists())
    names.push_back(list.task);
  return names;
}

bool Catalogue::has_task(std::string_view task) const {
  const auto all = tasks();
  return std::find(all.begin(), all.end(), task) != all.end();
}

std::vector<std::pair<int, std::string>> Catalogue::task_classes(std::string_view task) const {
  for (const auto& list : task_lists())
    if (task == list.task) {
      std::vector<std::pair<int, std::string>> classes;
      for (size_t i = 0; i < list.classes.size(); ++i)
        classes.emplace_back(int(i) + 1, list.classes[i]);
      return classes;
    }
  throw InputError(
      fmt::format("unknown TotalSegmentator task '{}' (supported: {})", task, fmt::join(tasks(), ", ")));
}

LabelTable Catalogue::output_table() const {
  LabelTable table;
  for (const auto& s : structures_)
    table.add({s.id, s.name, s.rgb});
  table.add({kGtvpId, "GTVp", {255, 0, 255}});
  table.add({kGtvnId, "GTVn", {150, 70, 255}}); // violet: apart from the green→red distance colours
  return table;
}

std::string Catalogue::tumour_name(int id) {
  return id == kGtvpId ? "GTVp" : id == kGtvnId ? "GTVn" : "";
}

} // namespace nervemap::anatomy
