// nervemap anatomy: the structure catalogue (design §3) and import of existing segmentations.
//
// Structure names are TotalSegmentator's class names. The catalogue gives each structure one stable
// nervemap id (1–199, used in labels.nii.gz), its label id in every TotalSegmentator task that
// segments it, synonyms and a display colour. Nothing else in the code hard-codes a label id.
#pragma once

#include "core/core.h"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nervemap::anatomy {

namespace fs = std::filesystem;

//! Stable ids of the tumour labels in labels.nii.gz (design §3).
inline constexpr int kGtvpId = 201;
inline constexpr int kGtvnId = 202;
//! HECKTOR label values of a tumour input file.
inline constexpr int kHecktorGtvp = 1;
inline constexpr int kHecktorGtvn = 2;

struct TaskLabel {
  std::string task; //!< TotalSegmentator task, e.g. "total", "headneck_bones_vessels"
  int label = 0;    //!< the class's label value in that task's --ml output
};

struct Structure {
  int id = 0;                        //!< stable nervemap id (1–199)
  std::string name;                  //!< TotalSegmentator class name
  std::string group;                 //!< bone, vessel, muscle, gland, airway, organ, cartilage, other
  Rgb rgb{128, 128, 128};            //!< display colour
  std::vector<std::string> synonyms; //!< other names accepted on import (older TS names, plain English)
  std::vector<TaskLabel> tasks;      //!< where TotalSegmentator segments it
};

class Catalogue {
public:
  //! The built-in catalogue.
  static const Catalogue& get();

  const std::vector<Structure>& structures() const { return structures_; }
  //! By class name or synonym (case-insensitive, '-' and ' ' read as '_'); nullptr if unknown.
  const Structure* find(std::string_view name) const;
  const Structure* find(int id) const;
  //! Like find(name) but throws InputError naming the unknown structure.
  const Structure& at(std::string_view name) const;

  //! The supported TotalSegmentator tasks.
  std::vector<std::string> tasks() const;
  bool has_task(std::string_view task) const;
  //! (label value, class name) of a task's --ml output, ascending; throws InputError for an unknown task.
  std::vector<std::pair<int, std::string>> task_classes(std::string_view task) const;

  //! Table for labels.nii.gz: every catalogue structure with its stable id, plus GTVp/GTVn.
  LabelTable output_table() const;
  //! Name of a tumour id (201 → "GTVp", 202 → "GTVn"); empty for other ids.
  static std::string tumour_name(int id);

private:
  Catalogue();
  std::vector<Structure> structures_;                   //!< sorted by id
  std::vector<std::pair<std::string, size_t>> by_name_; //!< normalised name or synonym → index, sorted
};

//! A label map whose values are catalogue ids (structures) or 201/202 (tumours), with its table.
using StructureMap = LabelMap;

struct ImportOptions {
  bool resample_masks = false;                 //!< nearest-neighbour resample masks on another grid
  std::optional<fs::path> label_table_file;    //!< JSON label table for a plain multilabel NIfTI
  std::optional<std::string> label_table_task; //!< or the TotalSegmentator task whose --ml output it is
  //! Keep labels named GTVp/GTVn (and GTVp/GTVn.nii.gz masks) as 201/202 instead of skipping them
  //! (`nervemap eval` scores tumour segmentations too; the pipeline takes tumours from --tumor only).
  bool keep_tumours = false;
};

//! Import normal-structure segmentations onto the CT grid, mapped to catalogue ids:
//!  - a TotalSegmentator output folder (one <class>.nii.gz per class, 0/1),
//!  - a TotalSegmentator --ml file (names from its CaretExtension XML),
//!  - any multilabel NIfTI plus a JSON label table ([{"id","name"}] or {"<id>": "<name>"}), given in
//!    options or found beside the file as <stem>.json.
//! Names not in the catalogue are skipped with a warning. Overlapping masks (several files): the
//! smaller structure keeps the voxel, with a warning. A mask on another grid is an InputError unless
//! options.resample_masks.
StructureMap
import_structures(const fs::path& path, const Geometry& ct, const ImportOptions& options, Warnings& warnings);

//! The masks of a TotalSegmentator output folder: its <class>.nii(.gz) files sorted by name, or those of its
//! one subfolder when it holds none (zips often wrap the folder). InputError when there are none.
std::vector<fs::path> mask_files_in(const fs::path& folder);

//! Import a tumour label map with HECKTOR values (1 GTVp, 2 GTVn) onto the CT grid as 201/202.
//! A binary mask counts as GTVp unless binary_as_gtvn (--tumor-label GTVn).
StructureMap import_tumour(
    const fs::path& path, const Geometry& ct, bool binary_as_gtvn, bool resample_masks, Warnings& warnings);

//! A case's output label map (labels.nii.gz, design §3): the structures present, with their catalogue ids
//! and colours, and the tumour over them as 201 GTVp / 202 GTVn. The structures are taken by value: pass
//! them with std::move once they are not needed any more, so no second full-size volume is made.
LabelMap with_tumours(StructureMap structures, const StructureMap* tumour);

//! Nearest-neighbour resampling of a label volume onto another grid (voxels outside → 0).
MaskVolume resample_nearest(const MaskVolume& labels, const Geometry& target);

//! 26-connected components of the voxels equal to `value`, largest first, each as offsets into labels.data
//! (ITK's ConnectedComponentImageFilter over the value's bounding box, so memory scales with the label).
std::vector<std::vector<size_t>> connected_components(const MaskVolume& labels, uint8_t value);

//! What remove_stray_pieces cleared from one structure.
struct StrayPieces {
  std::string name;
  int pieces = 0;         //!< components removed
  double volume_ml = 0;   //!< their total volume
  double farthest_mm = 0; //!< the largest gap between a removed piece and the structure's main body
};

//! Every normal structure is one body. Keep each label's largest 26-connected component and the pieces
//! within max_gap_mm of it (a vessel or muscle broken by a gap, the other thyroid lobe); clear the pieces
//! farther away — islands a segmentation model leaves where it has no business (nnU-Net's optional
//! "remove all but the largest component" postprocessing, made tolerant of fragments). A far island
//! moves a structure's extreme points, which the nerve rules anchor on. Returns the structures changed.
std::vector<StrayPieces> remove_stray_pieces(StructureMap& structures, double max_gap_mm);

struct StructureSummary {
  int id = 0;
  std::string name;
  int64_t voxels = 0;
  double volume_ml = 0;
  Vec3 centroid_lps = Vec3::Zero();
  bool present() const { return voxels > 0; }
};

//! Voxel count, volume and centroid of every label in the map's table (absent ones with 0 voxels).
std::vector<StructureSummary> summarise(const LabelMap& labels);

//! One label value's voxels: count, bounding box (LPS voxel centres and indices) and index sum.
struct LabelStatistics {
  int64_t voxels = 0;
  Vec3 lps_min = Vec3::Constant(1e300), lps_max = Vec3::Constant(-1e300);
  Index3 index_min{0, 0, 0}, index_max{-1, -1, -1};
  Vec3 index_sum = Vec3::Zero(); //!< the affine is linear: index_sum / voxels maps to the LPS centroid
};

//! Statistics of every label value (index = value, 0 unused) from one pass over the volume.
std::array<LabelStatistics, 256> label_statistics(const LabelMap& labels);

} // namespace nervemap::anatomy
