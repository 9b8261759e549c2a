// segment_with_model(): a trained nnU-Net model folder whose labels are catalogue names, for
// `nervemap run --model DIR` (the demo model of tools/train_demo_model.py, or a user's own model).
// The CT goes through TotalSegmentator's RAS canonical voxel order (nib.as_closest_canonical) before
// nnU-Net's own preprocessing, so the result does not depend on how the file orders its axes.
#include "segment/internal.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace nervemap::segment {

using namespace detail;

namespace {

// A piece of a structure farther than this from its main body is not that structure. 20 mm keeps the
// other thyroid lobe when the isthmus is missing (the lobes lie either side of a ~18 mm trachea) and a
// vessel broken by a short gap; the islands the demo model leaves on held-out oblique phantoms lie 40–200 mm
// away (measured on seed 9001: mandible 10 ml, internal jugular vein 8 ml at the opposite end of the neck).
constexpr double kStrayGapMm = 20.0;

void remove_stray_pieces(anatomy::StructureMap& structures,
                         const std::string& model_name,
                         Warnings& warnings) {
  auto removed = anatomy::remove_stray_pieces(structures, kStrayGapMm);
  if (removed.empty())
    return;
  std::sort(
      removed.begin(), removed.end(), [](const auto& a, const auto& b) { return a.volume_ml > b.volume_ml; });
  int pieces = 0;
  double volume_ml = 0;
  std::vector<std::string> largest;
  for (const auto& r : removed) {
    pieces += r.pieces;
    volume_ml += r.volume_ml;
    if (largest.size() < 5)
      largest.push_back(fmt::format("{} {:.1f} ml", r.name, r.volume_ml));
  }
  warnings.add(
      fmt::format("{}: removed {} piece(s) of {} structure(s), {:.1f} ml in all, lying more than {:.0f} mm "
                  "from the main body of their structure (largest: {}); check these structures",
                  model_name,
                  pieces,
                  removed.size(),
                  volume_ml,
                  kStrayGapMm,
                  fmt::join(largest, ", ")));
}

} // namespace

ModelStructures segment_with_model(const CtVolume& ct,
                                   const fs::path& model_dir,
                                   const InferenceOptions& options,
                                   Warnings& warnings) {
  const auto& catalogue = anatomy::Catalogue::get();
  const ModelFolder model = open_model_folder(model_dir, {});
  if (model.channel_names.size() != 1)
    throw InputError(fmt::format("{} takes {} input images ({}); --model needs a CT-only model (one channel)",
                                 model_dir.string(),
                                 model.channel_names.size(),
                                 fmt::join(model.channel_names, " + ")));

  // Output values → catalogue ids (structures) or 201/202 (tumours), by the names in dataset.json.
  const LabelTable table = output_table(model);
  std::array<uint8_t, 256> to_structure{}, to_tumour{};
  std::vector<std::string> unknown;
  size_t mapped = 0;
  for (const auto& label : table.labels()) {
    if (label.id <= 0 || label.id > 255)
      continue;
    if (label.name == "GTVp" || label.name == "GTVn") {
      to_tumour[size_t(label.id)] = uint8_t(label.name == "GTVp" ? anatomy::kGtvpId : anatomy::kGtvnId);
      ++mapped;
    } else if (const anatomy::Structure* st = catalogue.find(label.name)) {
      to_structure[size_t(label.id)] = uint8_t(st->id);
      ++mapped;
    } else {
      unknown.push_back(label.name);
    }
  }
  if (mapped == 0)
    throw InputError(
        fmt::format("{}: none of its {} labels ({}{}) is a structure nervemap knows; dataset.json "
                    "labels must be TotalSegmentator class names (e.g. common_carotid_artery_left) "
                    "or GTVp/GTVn",
                    model_dir.string(),
                    table.size(),
                    fmt::join(unknown.begin(), unknown.begin() + std::min<size_t>(3, unknown.size()), ", "),
                    unknown.size() > 3 ? ", …" : ""));
  if (!unknown.empty())
    warnings.add(fmt::format("the model's labels {} are not catalogue structures and are left out",
                             fmt::join(unknown, ", ")));

  set_compute_threads(options.threads);
  const Orientation orientation = io_orientation(ct.geometry);
  const CtVolume canonical = to_canonical(ct, orientation);
  CaseOptions co;
  co.step_size = options.step_size.value_or(0.5);
  co.mirroring = false; // the phantom model is trained without flips: left and right are different classes
  co.fp16 = options.fp16_accumulation;
  co.skip_air_tiles = options.skip_air_tiles;
  co.streaming_labels = true; // a neck model has dozens of classes: see export_prediction
  co.progress = options.progress;
  Exported e = predict_case(model, case_input({&canonical}), co);
  MaskVolume labels(canonical.geometry);
  labels.data = std::move(e.labels);
  labels = from_canonical(labels, orientation, ct.geometry);

  ModelStructures out;
  out.structures.voxels = MaskVolume(ct.geometry, 0);
  MaskVolume tumour(ct.geometry, 0);
  std::set<int> structures_present, tumours_present;
  for (size_t i = 0; i < labels.data.size(); ++i) {
    const uint8_t v = labels.data[i];
    if (const uint8_t s = to_structure[v]) {
      out.structures.voxels.data[i] = s;
      structures_present.insert(s);
    } else if (const uint8_t t = to_tumour[v]) {
      tumour.data[i] = t;
      tumours_present.insert(t);
    }
  }
  for (int id : structures_present) {
    const anatomy::Structure* st = catalogue.find(id);
    out.structures.table.add({st->id, st->name, st->rgb});
  }
  if (!tumours_present.empty()) {
    out.tumour = anatomy::StructureMap{};
    out.tumour->voxels = std::move(tumour);
    for (int id : tumours_present)
      out.tumour->table.add(*catalogue.output_table().find(id));
  }
  out.models.push_back(model.dir.filename().empty() ? model.dir.parent_path().filename().string()
                                                    : model.dir.filename().string());
  // Tumours are left whole: several nodes are the rule, not an error.
  remove_stray_pieces(out.structures, out.models.back(), warnings);
  return out;
}

} // namespace nervemap::segment
