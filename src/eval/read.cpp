// Reading the two segmentations of an evaluation through the anatomy importers (names, not raw ids).
#include "anatomy/anatomy.h"
#include "eval/eval.h"
#include "io/io.h"

#include <algorithm>
#include <fmt/format.h>
#include <random>
#include <unistd.h>

namespace nervemap::eval {

namespace {

std::string nifti_stem(const fs::path& file) {
  std::string name = file.filename().string();
  return name.substr(0, name.size() - (name.ends_with(".nii.gz") ? 7 : name.ends_with(".nii") ? 4 : 0));
}

//! A zip's one label map (an --ml file), or the folder it unpacked to (a TotalSegmentator folder): the
//! importer's rule, so that the grid is read from what will be imported.
fs::path unpack(const fs::path& zip, const ScratchDir& scratch) {
  std::vector<fs::path> niftis;
  for (const auto& f : io::extract_zip(zip, scratch.path()))
    if (io::has_nifti_suffix(f))
      niftis.push_back(f);
  const auto is_mask_name = [](const std::string& stem) {
    return stem == "GTVp" || stem == "GTVn" || anatomy::Catalogue::get().find(stem) != nullptr;
  };
  if (niftis.size() == 1 && !is_mask_name(nifti_stem(niftis[0])))
    return niftis[0];
  return scratch.path();
}

//! describe() plus the direction, which is what differs when the rest reads the same.
std::string describe(const Geometry& g) {
  const Mat3& d = g.direction;
  return fmt::format("{}, direction [{:.4f} {:.4f} {:.4f}; {:.4f} {:.4f} {:.4f}; {:.4f} {:.4f} {:.4f}]",
                     g.describe(),
                     d(0, 0),
                     d(1, 0),
                     d(2, 0),
                     d(0, 1),
                     d(1, 1),
                     d(2, 1),
                     d(0, 2),
                     d(1, 2),
                     d(2, 2));
}

} // namespace

Geometry segmentation_grid(const fs::path& path) {
  if (!fs::exists(path))
    throw InputError(fmt::format("segmentation not found: {}", path.string()));
  if (!fs::is_directory(path))
    return io::read_nifti_header(path).geometry;
  // The first mask of the folder (or of its one wrapping subfolder), as the importer will read it.
  return io::read_nifti_header(anatomy::mask_files_in(path).front()).geometry;
}

LabelMap read_segmentation(const fs::path& path, const Geometry& grid, Warnings& warnings) {
  // A label map file needs names: its own TotalSegmentator header table or <stem>.json beside it. Said
  // here in eval's terms (the importer's message names run's --label-table, which eval does not take).
  if (fs::is_regular_file(path) && io::has_nifti_suffix(path)) {
    const io::NiftiHeader header = io::read_nifti_header(path);
    const bool header_table =
        std::any_of(header.extensions.begin(), header.extensions.end(), [](const auto& e) {
          return (e.first == 0 || e.first == 30) && e.second.find("<CaretExtension") != std::string::npos;
        });
    const fs::path beside = path.parent_path() / (nifti_stem(path) + ".json");
    if (!header_table && !fs::exists(beside))
      throw InputError(fmt::format("{} has no label table: structures are matched by name, so give a "
                                   "TotalSegmentator --ml file (names in its header) or put {} beside it "
                                   "([{{\"id\": 1, \"name\": \"trachea\"}}, ...])",
                                   path.string(),
                                   beside.filename().string()));
  }
  anatomy::ImportOptions options;
  options.keep_tumours = true;
  return anatomy::import_structures(path, grid, options, warnings);
}

Evaluation
evaluate_files(const fs::path& pred, const fs::path& ref, double tolerance_mm, Warnings& warnings) {
  if (!(tolerance_mm >= 0) || !std::isfinite(tolerance_mm))
    throw UsageError(fmt::format("--tolerance-mm must be a finite number ≥ 0, not {}", tolerance_mm));
  for (const auto& [what, path] : {std::pair{"prediction", pred}, std::pair{"reference", ref}})
    if (!fs::exists(path))
      throw InputError(fmt::format("{} not found: {}", what, path.string()));
  // Zips are unpacked once here so that the grid can be read before any voxels are imported.
  std::optional<ScratchDir> pred_scratch, ref_scratch;
  fs::path pred_path = pred, ref_path = ref;
  if (!fs::is_directory(pred) && io::is_zip(pred))
    pred_path = unpack(pred, pred_scratch.emplace("eval"));
  if (!fs::is_directory(ref) && io::is_zip(ref))
    ref_path = unpack(ref, ref_scratch.emplace("eval"));

  const Geometry pred_grid = segmentation_grid(pred_path), ref_grid = segmentation_grid(ref_path);
  if (!pred_grid.same_grid(ref_grid))
    throw InputError(
        fmt::format("{} and {} are on different grids (prediction: {}; reference: {}); both must "
                    "be segmentations of the same image (same dims, spacing, origin and "
                    "direction within 1e-3 mm / 1e-4)",
                    pred.string(),
                    ref.string(),
                    describe(pred_grid),
                    describe(ref_grid)));
  // Both onto the reference grid: within the tolerance they are the same grid.
  LabelMap p = read_segmentation(pred_path, ref_grid, warnings);
  LabelMap r = read_segmentation(ref_path, ref_grid, warnings);
  return evaluate(p, r, tolerance_mm);
}

} // namespace nervemap::eval
