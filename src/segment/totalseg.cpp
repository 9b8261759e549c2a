// `--task NAME`: TotalSegmentator around the nnU-Net runtime (research §5; TotalSegmentator 0e65a44).
//
// nnUNet_predict_image (totalsegmentator/nnunet.py), step by step:
//  1. crop (tasks with a `crop` list, or --roi_subset): a rough `total` pass (task 298 at 6 mm, or 297 at
//     3 mm with --robust_crop) on the whole CT, mapped back to its grid; the box of the listed classes
//     ± 20 mm (python_api.py sets crop_addon = [20, 20, 20] for every task cropped by `total`, overriding
//     the task's own value) in voxels = int(mm / zooms) (cropping.py crop_to_mask); the CT inside it cast
//     to int32;
//  2. nib.as_closest_canonical: voxel axes reordered to R, A, S (alignment.py);
//  3. change_spacing to the task spacing: ndimage.zoom(order, mode 'nearest', grid_mode False), cast to
//     int32 (resampling.py);
//  4. nnU-Net on it (fold 0, step 0.8 for total and 0.5 otherwise, no mirroring), several part models
//     merged by class name, later parts overwriting earlier ones;
//  5. labels back: change_spacing(order 0, target_shape, force_affine), undo_canonical, undo_crop.
#include "segment/internal.h"

#include <Eigen/SVD>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>
#include <map>
#include <set>

namespace nervemap::segment {

namespace detail {

namespace {

const char* kTrainerNoMirroring = "nnUNetTrainerNoMirroring";
const char* kTrainer4000 = "nnUNetTrainer_4000epochs_NoMirroring";
const char* kTrainerHeadNeck = "nnUNetTrainer_DASegOrd0_NoMirroring";

//! class_map_5_parts (map_to_binary.py): the five 1.5 mm part models of `total`, their label order.
const std::vector<std::vector<const char*>>& total_parts() {
  static const std::vector<std::vector<const char*>> parts{
      {"spleen", "kidney_right", "kidney_left", "gallbladder", "liver", "stomach", "pancreas", "adrenal_gland_right",
       "adrenal_gland_left", "lung_upper_lobe_left", "lung_lower_lobe_left", "lung_upper_lobe_right",
       "lung_middle_lobe_right", "lung_lower_lobe_right", "esophagus", "trachea", "thyroid_gland", "small_bowel",
       "duodenum", "colon", "urinary_bladder", "prostate", "kidney_cyst_left", "kidney_cyst_right"},
      {"sacrum", "vertebrae_S1", "vertebrae_L5", "vertebrae_L4", "vertebrae_L3", "vertebrae_L2", "vertebrae_L1",
       "vertebrae_T12", "vertebrae_T11", "vertebrae_T10", "vertebrae_T9", "vertebrae_T8", "vertebrae_T7",
       "vertebrae_T6", "vertebrae_T5", "vertebrae_T4", "vertebrae_T3", "vertebrae_T2", "vertebrae_T1",
       "vertebrae_C7", "vertebrae_C6", "vertebrae_C5", "vertebrae_C4", "vertebrae_C3", "vertebrae_C2",
       "vertebrae_C1"},
      {"heart", "aorta", "pulmonary_vein", "brachiocephalic_trunk", "subclavian_artery_right",
       "subclavian_artery_left", "common_carotid_artery_right", "common_carotid_artery_left",
       "brachiocephalic_vein_left", "brachiocephalic_vein_right", "atrial_appendage_left", "superior_vena_cava",
       "inferior_vena_cava", "portal_vein_and_splenic_vein", "iliac_artery_left", "iliac_artery_right",
       "iliac_vena_left", "iliac_vena_right"},
      {"humerus_left", "humerus_right", "scapula_left", "scapula_right", "clavicula_left", "clavicula_right",
       "femur_left", "femur_right", "hip_left", "hip_right", "spinal_cord", "gluteus_maximus_left",
       "gluteus_maximus_right", "gluteus_medius_left", "gluteus_medius_right", "gluteus_minimus_left",
       "gluteus_minimus_right", "autochthon_left", "autochthon_right", "iliopsoas_left", "iliopsoas_right", "brain",
       "skull"},
      {"rib_left_1", "rib_left_2", "rib_left_3", "rib_left_4", "rib_left_5", "rib_left_6", "rib_left_7",
       "rib_left_8", "rib_left_9", "rib_left_10", "rib_left_11", "rib_left_12", "rib_right_1", "rib_right_2",
       "rib_right_3", "rib_right_4", "rib_right_5", "rib_right_6", "rib_right_7", "rib_right_8", "rib_right_9",
       "rib_right_10", "rib_right_11", "rib_right_12", "sternum", "costal_cartilages"}};
  return parts;
}

std::vector<std::pair<int, std::string>> numbered(const std::vector<const char*>& names, int first = 1) {
  std::vector<std::pair<int, std::string>> v;
  for (size_t i = 0; i < names.size(); ++i)
    v.emplace_back(first + int(i), names[i]);
  return v;
}

int64_t round_half_even(double v) { return int64_t(std::nearbyint(v)); }

} // namespace

TsTask ts_task(const std::string& name, const std::string& variant) {
  const auto& catalogue = anatomy::Catalogue::get();
  TsTask t;
  t.name = name;
  if (name == "total") {
    t.step_size = 0.8;
    if (variant == "fast" || variant == "fastest") {
      const bool fast = variant == "fast";
      t.spacing = fast ? Spacing3{3, 3, 3} : Spacing3{6, 6, 6};
      t.models.push_back({fast ? 297 : 298,
                          fast ? "Dataset297_TotalSegmentator_total_3mm_1559subj"
                               : "Dataset298_TotalSegmentator_total_6mm_1559subj",
                          kTrainer4000, "nnUNetPlans", "3d_fullres", catalogue.task_classes("total")});
    } else {
      const char* folders[] = {"Dataset291_TotalSegmentator_part1_organs_1559subj",
                               "Dataset292_TotalSegmentator_part2_vertebrae_1532subj",
                               "Dataset293_TotalSegmentator_part3_cardiac_1559subj",
                               "Dataset294_TotalSegmentator_part4_muscles_1559subj",
                               "Dataset295_TotalSegmentator_part5_ribs_1559subj"};
      for (int p = 0; p < 5; ++p)
        t.models.push_back({291 + p, folders[p], kTrainerNoMirroring, "nnUNetPlans", "3d_fullres",
                            numbered(total_parts()[size_t(p)])});
    }
    return t;
  }
  // The head and neck tasks (map_tasks_config.py): 0.75 × 0.75 × 1 mm, 3d_fullres_high, cropped by `total`.
  const std::vector<std::string> neck_crop{"clavicula_left", "clavicula_right", "vertebrae_C1",
                                           "vertebrae_C5",  "vertebrae_T1",    "vertebrae_T4"};
  auto single = [&](int id, const char* folder, const char* configuration) {
    t.models.push_back({id, folder, kTrainerHeadNeck, "nnUNetPlans", configuration, catalogue.task_classes(name)});
  };
  t.spacing = {0.75, 0.75, 1.0};
  if (name == "headneck_bones_vessels") {
    single(776, "Dataset776_headneck_bones_vessels_492subj", "3d_fullres_high");
    t.crop = neck_crop;
  } else if (name == "headneck_muscles") {
    // Two part models (class_map_parts_headneck_muscles): 778 = ids 1–11, 779 = ids 12–23.
    const auto all = catalogue.task_classes(name);
    std::vector<std::pair<int, std::string>> first, second;
    for (const auto& [id, cls] : all)
      (id <= 11 ? first : second).emplace_back(id <= 11 ? id : id - 11, cls);
    t.models.push_back({778, "Dataset778_headneck_muscles_part1_492subj", kTrainerHeadNeck, "nnUNetPlans",
                        "3d_fullres_high", first});
    t.models.push_back({779, "Dataset779_headneck_muscles_part2_492subj", kTrainerHeadNeck, "nnUNetPlans",
                        "3d_fullres_high", second});
    t.crop = neck_crop;
  } else if (name == "head_glands_cavities") {
    single(775, "Dataset775_head_glands_cavities_492subj", "3d_fullres_high");
    t.crop = {"skull"};
  } else if (name == "head_muscles") {
    single(777, "Dataset777_head_muscles_492subj", "3d_fullres_high");
    t.crop = {"skull"};
  } else if (name == "craniofacial_structures") {
    single(115, "Dataset115_mandible", "3d_fullres");
    t.spacing = {0.5, 0.5, 0.5};
    t.crop = {"skull"};
  } else {
    throw InputError(fmt::format("unknown TotalSegmentator task '{}' (supported: {})", name,
                                 fmt::join(task_names(), ", ")));
  }
  if (!variant.empty())
    throw UsageError(fmt::format("--fast is only available for the task 'total' (not '{}')", name));
  return t;
}

std::vector<TsModel> ts_models_for(const TsTask& task, const std::vector<std::string>& roi_subset) {
  std::vector<TsModel> models;
  for (const auto& m : task.models) {
    bool useful = roi_subset.empty();
    for (const auto& [id, name] : m.classes)
      useful = useful || std::find(roi_subset.begin(), roi_subset.end(), name) != roi_subset.end();
    if (useful)
      models.push_back(m);
  }
  return models;
}

fs::path ts_model_dir(const fs::path& weights, const TsModel& model, const std::string& task) {
  const std::string run = model.trainer + "__" + model.plans + "__" + model.configuration;
  std::error_code ec;
  fs::path dataset = weights / model.folder;
  if (!fs::is_directory(dataset, ec)) {
    // nnU-Net resolves the dataset by its number (maybe_convert_to_dataset_name): accept any DatasetNNN_*.
    const std::string prefix = fmt::format("Dataset{:03d}_", model.task_id);
    for (const auto& e : fs::directory_iterator(weights, ec))
      if (e.is_directory() && e.path().filename().string().starts_with(prefix))
        dataset = e.path();
  }
  const fs::path dir = dataset / run;
  if (!fs::is_regular_file(dir / "fold_0" / "checkpoint_final.pth", ec))
    throw InputError(fmt::format("TotalSegmentator weights for task '{}' not found: expected {} (fold_0/"
                                 "checkpoint_final.pth); download them with TotalSegmentator "
                                 "(totalseg_download_weights -t {}) or pass --models with the folder holding "
                                 "{}",
                                 task, (weights / model.folder / run).string(), task, model.folder));
  return dir;
}

Orientation io_orientation(const Geometry& g) {
  // RAS affine columns: the LPS direction columns times spacing, with x and y negated.
  Mat3 rzs = lps_ras_flip() * g.direction * g.spacing.asDiagonal();
  Mat3 rs = rzs;
  for (int c = 0; c < 3; ++c) {
    const double zoom = rzs.col(c).norm();
    rs.col(c) /= zoom > 0 ? zoom : 1.0;
  }
  Eigen::JacobiSVD<Mat3> svd(rs, Eigen::ComputeFullU | Eigen::ComputeFullV);
  Mat3 r = svd.matrixU() * svd.matrixV().transpose(); // the closest shear-free matrix (polar decomposition)
  Orientation o;
  for (int in = 0; in < 3; ++in) {
    Eigen::Vector3d col = r.col(in);
    int out = 0;
    col.cwiseAbs().maxCoeff(&out);
    o.axis[size_t(in)] = out;
    o.sign[size_t(in)] = col[out] < 0 ? -1 : 1;
    r.row(out).setZero(); // nibabel removes the chosen output axis from further consideration
  }
  return o;
}

namespace {

//! Geometry and voxel map of the canonical image: new axis j is input axis a with o.axis[a] == j.
struct CanonicalMap {
  Geometry geometry;
  std::array<int, 3> source_axis{}; // for new axis j
  std::array<bool, 3> flip{};       // new axis j runs against its source axis
};

CanonicalMap canonical_map(const Geometry& g, const Orientation& o) {
  CanonicalMap m;
  m.geometry = g;
  Vec3 corner_index = Vec3::Zero();
  for (int a = 0; a < 3; ++a) {
    const int j = o.axis[size_t(a)];
    m.source_axis[size_t(j)] = a;
    m.flip[size_t(j)] = o.sign[size_t(a)] < 0;
    m.geometry.dims[size_t(j)] = g.dims[size_t(a)];
    m.geometry.spacing[j] = g.spacing[a];
    m.geometry.direction.col(j) = g.direction.col(a) * (o.sign[size_t(a)] < 0 ? -1.0 : 1.0);
    if (o.sign[size_t(a)] < 0)
      corner_index[a] = double(g.dims[size_t(a)] - 1);
  }
  m.geometry.origin = g.index_to_lps(corner_index);
  return m;
}

template <class T, class Fn> void for_each_canonical(const Geometry& original, const CanonicalMap& m, Fn&& fn) {
  const Index3& nd = m.geometry.dims;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t k = 0; k < nd[2]; ++k)
    for (int64_t j = 0; j < nd[1]; ++j)
      for (int64_t i = 0; i < nd[0]; ++i) {
        const int64_t n[3] = {i, j, k};
        int64_t src[3];
        for (int a = 0; a < 3; ++a) {
          const int sa = m.source_axis[size_t(a)];
          src[sa] = m.flip[size_t(a)] ? original.dims[size_t(sa)] - 1 - n[a] : n[a];
        }
        fn(size_t(i + nd[0] * (j + nd[1] * k)), size_t(src[0] + original.dims[0] * (src[1] + original.dims[1] * src[2])));
      }
}

} // namespace

CtVolume to_canonical(const CtVolume& image, const Orientation& o) {
  if (o.identity())
    return image;
  const CanonicalMap m = canonical_map(image.geometry, o);
  CtVolume out(m.geometry);
  for_each_canonical<float>(image.geometry, m, [&](size_t dst, size_t src) { out.data[dst] = image.data[src]; });
  return out;
}

MaskVolume from_canonical(const MaskVolume& canonical, const Orientation& o, const Geometry& original) {
  if (o.identity()) {
    MaskVolume out = canonical;
    out.geometry = original;
    return out;
  }
  const CanonicalMap m = canonical_map(original, o);
  MaskVolume out(original);
  for_each_canonical<uint8_t>(original, m, [&](size_t dst, size_t src) { out.data[src] = canonical.data[dst]; });
  return out;
}

CtVolume ts_change_spacing(const CtVolume& image, const Spacing3& spacing, int order) {
  // img_spacing = header.get_zooms() (float32), zoom = img_spacing / new_spacing
  Spacing3 zoom{};
  bool equal = true;
  for (int a = 0; a < 3; ++a) {
    const double zooms = double(float(image.geometry.spacing[a]));
    zoom[size_t(a)] = zooms / spacing[size_t(a)];
    equal = equal && zooms == spacing[size_t(a)];
  }
  if (equal) // "Input spacing is equal to new spacing. Return image without resampling."
    return image;
  const Index3& d = image.geometry.dims;
  Index3 nd{};
  for (int a = 0; a < 3; ++a) // ndimage.zoom output shape: round(in · zoom)
    nd[size_t(a)] = std::max<int64_t>(1, round_half_even(double(d[size_t(a)]) * zoom[size_t(a)]));
  std::vector<double> in(image.data.begin(), image.data.end());
  // The volume buffer is the C-order array (k, j, i); zoom is separable per axis.
  std::vector<double> out =
      ndimage_zoom_corners(in.data(), {d[2], d[1], d[0]}, {nd[2], nd[1], nd[0]}, order);
  Geometry g = image.geometry;
  g.dims = nd;
  for (int a = 0; a < 3; ++a) // affine columns divided by the zoom
    g.spacing[a] = image.geometry.spacing[a] / zoom[size_t(a)];
  CtVolume r(g);
  for (size_t i = 0; i < out.size(); ++i)
    r.data[i] = float(std::trunc(out[i])); // .astype(np.int32)
  return r;
}

MaskVolume ts_resample_labels(const MaskVolume& labels, const Geometry& target) {
  // ndimage.zoom(order=0, grid_mode False): source index floor(o·(in−1)/(out−1) + 0.5), clamped.
  const Index3& d = labels.geometry.dims;
  const Index3& t = target.dims;
  std::array<std::vector<int64_t>, 3> index;
  for (int a = 0; a < 3; ++a) {
    const double zoom = t[size_t(a)] > 1 ? double(d[size_t(a)] - 1) / double(t[size_t(a)] - 1) : 1.0;
    for (int64_t o = 0; o < t[size_t(a)]; ++o)
      index[size_t(a)].push_back(
          std::clamp<int64_t>(int64_t(std::floor(double(o) * zoom + 0.5)), 0, d[size_t(a)] - 1));
  }
  MaskVolume out(target);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t k = 0; k < t[2]; ++k)
    for (int64_t j = 0; j < t[1]; ++j)
      for (int64_t i = 0; i < t[0]; ++i)
        out.at(i, j, k) = labels.at(index[0][size_t(i)], index[1][size_t(j)], index[2][size_t(k)]);
  return out;
}

Box ts_crop_box(const MaskVolume& labels, const std::vector<int>& values, double addon_mm, bool* found) {
  std::array<bool, 256> wanted{};
  for (int v : values)
    if (v > 0 && v < 256)
      wanted[size_t(v)] = true;
  const Index3& d = labels.geometry.dims;
  std::array<int64_t, 3> lo{d[0], d[1], d[2]}, hi{-1, -1, -1};
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        if (wanted[labels.at(i, j, k)]) {
          lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
          hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
        }
  Box box;
  if (hi[0] < 0) { // "WARNING: Could not crop because no foreground detected"
    *found = false;
    box.hi = {d[0], d[1], d[2]};
    return box;
  }
  *found = true;
  for (int a = 0; a < 3; ++a) {
    // addon = (np.array(addon) / img_in.header.get_zooms()).astype(int): mm → voxels, truncated
    const int64_t addon = int64_t(addon_mm / double(float(labels.geometry.spacing[a])));
    box.lo[size_t(a)] = std::max<int64_t>(0, lo[size_t(a)] - addon);
    box.hi[size_t(a)] = std::min<int64_t>(d[size_t(a)], hi[size_t(a)] + 1 + addon);
  }
  return box;
}

CtVolume ts_crop(const CtVolume& image, const Box& box) {
  Geometry g = image.geometry;
  g.dims = {box.hi[0] - box.lo[0], box.hi[1] - box.lo[1], box.hi[2] - box.lo[2]};
  g.origin = image.geometry.index_to_lps(Vec3(double(box.lo[0]), double(box.lo[1]), double(box.lo[2])));
  CtVolume out(g);
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i)
        out.at(i, j, k) = std::trunc(image.at(i + box.lo[0], j + box.lo[1], k + box.lo[2])); // int32
  return out;
}

MaskVolume ts_uncrop(const MaskVolume& labels, const Box& box, const Geometry& original) {
  MaskVolume out(original, 0);
  const Index3& d = labels.geometry.dims;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        out.at(i + box.lo[0], j + box.lo[1], k + box.lo[2]) = labels.at(i, j, k);
  return out;
}

MaskVolume ts_predict(const TsTask& task, const CtVolume& ct, const TsRun& run, Warnings& warnings) {
  auto report = [&](const std::string& stage, double f) {
    if (run.progress)
      run.progress(stage, f);
  };
  const auto& catalogue = anatomy::Catalogue::get();
  const std::vector<TsModel> models = ts_models_for(task, run.task.roi_subset);
  std::vector<fs::path> dirs;
  for (const auto& m : models) // fail before any work when weights are missing
    dirs.push_back(ts_model_dir(run.weights, m, task.name));

  // 1. Crop to the task's region (or the roi_subset) found by a rough `total` pass.
  std::vector<std::string> crop = task.crop;
  if (crop.empty() && !run.task.roi_subset.empty())
    crop = run.task.roi_subset;
  const CtVolume* work = &ct;
  CtVolume cropped;
  Box box;
  double done = 0.0;
  if (!crop.empty()) {
    const TsTask rough = ts_task("total", run.task.robust_crop ? "fast" : "fastest");
    TsRun sub = run;
    sub.task.roi_subset.clear();
    sub.progress = [&](const std::string& stage, double f) { report("crop region (total): " + stage, 0.15 * f); };
    const MaskVolume organs = ts_predict(rough, ct, sub, warnings);
    std::vector<int> values;
    for (const auto& name : crop)
      for (const auto& [id, cls] : catalogue.task_classes("total"))
        if (cls == name)
          values.push_back(id);
    bool found = false;
    box = ts_crop_box(organs, values, 20.0, &found);
    if (!found)
      warnings.add(fmt::format("{}: none of the crop classes ({}) was found by the rough total pass; the whole "
                               "image is segmented",
                               task.name, fmt::join(crop, ", ")));
    cropped = ts_crop(ct, box);
    work = &cropped;
    done = 0.15;
  }

  // 2. RAS canonical voxel order, 3. the task's spacing.
  report("resampling", done);
  const Orientation orientation = io_orientation(work->geometry);
  const CtVolume canonical = to_canonical(*work, orientation);
  const CtVolume resampled = ts_change_spacing(canonical, task.spacing, run.task.resampling_order);

  // 4. The part models, merged by class (class_map_inv[class_name]).
  std::map<std::string, int> task_ids;
  for (const auto& [id, name] : catalogue.task_classes(task.name))
    task_ids[name] = id;
  MaskVolume merged(resampled.geometry, 0);
  const double per_model = (0.95 - done) / double(models.size());
  for (size_t m = 0; m < models.size(); ++m) {
    const ModelFolder folder = open_model_folder(dirs[m], {0});
    CaseOptions co = run.case_options;
    co.step_size = task.step_size;
    co.mirroring = false; // TotalSegmentator always predicts with tta=False
    co.probabilities = false;
    const double start = done + per_model * double(m);
    co.progress = [&](const std::string& stage, double f) {
      report(fmt::format("{} ({}/{}): {}", models[m].folder, m + 1, models.size(), stage), start + per_model * f);
    };
    const Exported e = predict_case(folder, case_input({&resampled}), co);
    std::array<uint8_t, 256> lut{};
    for (const auto& [local, name] : models[m].classes) {
      auto it = task_ids.find(name);
      if (it != task_ids.end() && local > 0 && local < 256)
        lut[size_t(local)] = uint8_t(it->second);
    }
    for (size_t i = 0; i < e.labels.size(); ++i)
      if (const uint8_t v = lut[e.labels[i]])
        merged.data[i] = v;
  }
  if (!run.task.roi_subset.empty()) { // keep only the roi_subset classes
    std::array<bool, 256> keep{};
    for (const auto& name : run.task.roi_subset)
      if (auto it = task_ids.find(name); it != task_ids.end())
        keep[size_t(it->second)] = true;
    for (uint8_t& v : merged.data)
      if (!keep[v])
        v = 0;
  }

  // 5. Back to the canonical grid, the original voxel order and the uncropped image.
  report("resampling back", 0.96);
  MaskVolume labels = ts_resample_labels(merged, canonical.geometry);
  labels = from_canonical(labels, orientation, work->geometry);
  if (work == &cropped)
    labels = ts_uncrop(labels, box, ct.geometry);
  report("done", 1.0);
  return labels;
}

} // namespace detail

using namespace detail;

std::vector<std::string> task_names() {
  return {"total", "headneck_bones_vessels", "headneck_muscles", "head_glands_cavities", "head_muscles",
          "craniofacial_structures"};
}

fs::path find_weights_dir(const std::optional<fs::path>& explicit_dir) {
  std::error_code ec;
  auto results_in = [&](const fs::path& dir) -> std::optional<fs::path> {
    if (fs::is_directory(dir / "nnunet" / "results", ec))
      return dir / "nnunet" / "results";
    if (fs::is_directory(dir, ec))
      return dir;
    return std::nullopt;
  };
  if (explicit_dir) {
    if (auto d = results_in(*explicit_dir))
      return *d;
    throw InputError(fmt::format("{}: model folder not found; pass --models with the folder that holds the "
                                 "DatasetNNN_* model folders (or a TotalSegmentator home with nnunet/results)",
                                 explicit_dir->string()));
  }
  std::vector<fs::path> tried;
  if (const char* w = std::getenv("TOTALSEG_WEIGHTS_PATH"); w && *w)
    tried.push_back(w);
  if (const char* h = std::getenv("TOTALSEG_HOME_DIR"); h && *h)
    tried.push_back(fs::path(h) / "nnunet" / "results");
  if (const char* home = std::getenv("HOME"); home && *home)
    tried.push_back(fs::path(home) / ".totalsegmentator" / "nnunet" / "results");
  for (const auto& t : tried)
    if (fs::is_directory(t, ec))
      return t;
  std::vector<std::string> names;
  for (const auto& t : tried)
    names.push_back(t.string());
  throw InputError(fmt::format("no TotalSegmentator weights found (looked in {}); download them with "
                               "TotalSegmentator or pass --models DIR",
                               names.empty() ? std::string("$HOME/.totalsegmentator") : fmt::format("{}", fmt::join(names, ", "))));
}

Segmentation predict_task(const std::string& task,
                          const CtVolume& ct,
                          const TaskOptions& task_options,
                          const InferenceOptions& options,
                          Warnings& warnings) {
  const TsTask spec = ts_task(task, task_options.fast ? "fast" : "");
  if (!task_options.roi_subset.empty() && task != "total")
    throw UsageError("--roi-subset works with the task 'total' only (as in TotalSegmentator)");
  const auto& catalogue = anatomy::Catalogue::get();
  for (const auto& name : task_options.roi_subset) {
    const auto classes = catalogue.task_classes("total");
    if (std::none_of(classes.begin(), classes.end(), [&](const auto& c) { return c.second == name; }))
      throw InputError(fmt::format("--roi-subset: '{}' is not a class of the task 'total'", name));
  }
  set_compute_threads(options.threads);
  TsRun run;
  run.weights = find_weights_dir(task_options.models_dir);
  run.task = task_options;
  run.case_options.fp16 = options.fp16_accumulation;
  run.case_options.skip_air_tiles = options.skip_air_tiles;
  run.progress = options.progress;
  if (options.mirroring)
    warnings.add("TotalSegmentator's models are trained without mirroring; --tta is ignored for --task");
  Segmentation s;
  s.labels = ts_predict(spec, ct, run, warnings);
  for (const auto& [id, name] : catalogue.task_classes(task)) {
    if (!task_options.roi_subset.empty() &&
        std::find(task_options.roi_subset.begin(), task_options.roi_subset.end(), name) ==
            task_options.roi_subset.end())
      continue;
    const anatomy::Structure* st = catalogue.find(name);
    s.table.add({id, name, st ? st->rgb : Rgb{128, 128, 128}});
  }
  for (const auto& m : ts_models_for(spec, task_options.roi_subset))
    s.models.push_back(m.folder);
  return s;
}

anatomy::StructureMap segment_structures(const CtVolume& ct,
                                         const fs::path& models_dir,
                                         const InferenceOptions& options,
                                         Warnings& warnings,
                                         bool full_resolution,
                                         std::vector<std::string>* models_used) {
  const auto& catalogue = anatomy::Catalogue::get();
  const fs::path weights = find_weights_dir(models_dir);
  // The landmarks of the nerve rules that `total` provides; cropping `total` to them (roi_subset) keeps the
  // CPU time to the neck and upper chest.
  const std::vector<std::string> neck_roi{
      "vertebrae_C1", "vertebrae_C2", "vertebrae_C3", "vertebrae_C4", "vertebrae_C5", "vertebrae_C6",
      "vertebrae_C7", "vertebrae_T1", "vertebrae_T2", "vertebrae_T3", "vertebrae_T4", "clavicula_left",
      "clavicula_right", "common_carotid_artery_left", "common_carotid_artery_right", "subclavian_artery_left",
      "subclavian_artery_right", "brachiocephalic_trunk", "brachiocephalic_vein_left", "brachiocephalic_vein_right",
      "superior_vena_cava", "aorta", "thyroid_gland", "trachea", "esophagus", "spinal_cord", "skull",
      "lung_upper_lobe_left", "lung_upper_lobe_right", "rib_left_1", "rib_right_1", "sternum"};
  struct Step {
    std::string task;
    bool required;
  };
  const std::vector<Step> steps{{"total", true},
                                {"headneck_bones_vessels", true},
                                {"headneck_muscles", true},
                                {"head_glands_cavities", false},
                                {"head_muscles", false},
                                {"craniofacial_structures", false}};
  anatomy::StructureMap map;
  map.voxels = MaskVolume(ct.geometry, 0);
  std::set<int> present;
  for (size_t s = 0; s < steps.size(); ++s) {
    const TsTask spec = ts_task(steps[s].task, steps[s].task == "total" && !full_resolution ? "fast" : "");
    bool available = true;
    for (const auto& m : spec.models) {
      try {
        ts_model_dir(weights, m, spec.name);
      } catch (const InputError& e) {
        if (steps[s].required)
          throw;
        available = false;
      }
    }
    if (!available) {
      warnings.add(fmt::format("TotalSegmentator task '{}' skipped: its weights are not in {}", steps[s].task,
                               weights.string()));
      continue;
    }
    TaskOptions to;
    to.models_dir = weights;
    to.fast = steps[s].task == "total" && !full_resolution;
    if (steps[s].task == "total")
      to.roi_subset = neck_roi;
    InferenceOptions io = options;
    io.progress = [&](const std::string& stage, double f) {
      if (options.progress)
        options.progress(steps[s].task + ": " + stage, (double(s) + f) / double(steps.size()));
    };
    Segmentation seg = predict_task(steps[s].task, ct, to, io, warnings);
    if (models_used)
      models_used->insert(models_used->end(), seg.models.begin(), seg.models.end());
    // Into catalogue ids by class name; later tasks overwrite earlier ones where they label a voxel.
    std::array<uint8_t, 256> lut{};
    for (const auto& label : seg.table.labels())
      if (const anatomy::Structure* st = catalogue.find(label.name))
        lut[size_t(label.id)] = uint8_t(st->id);
    for (size_t i = 0; i < seg.labels.data.size(); ++i)
      if (const uint8_t v = lut[seg.labels.data[i]]) {
        map.voxels.data[i] = v;
        present.insert(v);
      }
  }
  for (int id : present)
    if (const anatomy::Structure* st = catalogue.find(id))
      map.table.add({st->id, st->name, st->rgb});
  return map;
}

} // namespace nervemap::segment
