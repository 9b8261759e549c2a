// nervemap eval: segmentation quality of a predicted label map against a reference (issue 7, design §7).
//
// Per structure: Dice, HD95 (95th percentile of the pooled symmetric surface distances), NSD
// (normalised surface distance, "surface Dice") at a tolerance, and both volumes.
//
// Conventions (chosen so that the numbers compare with the common tools):
//  - A surface voxel is a voxel of the mask with at least one of its 6 face neighbours outside the
//    mask; voxels outside the image count as outside. This is the surface of MONAI's get_mask_edges and
//    of MedPy (the mask minus its binary erosion by the 6-connected cross, border value 0).
//  - Surface distances are exact Euclidean distances in LPS mm between surface-voxel centres (each
//    surface voxel of one mask to the nearest surface voxel of the other), through the full geometry
//    (anisotropic spacing, oblique direction): a k-d tree query, not a voxel count.
//  - HD95 pools both directions' distances and takes their 95th percentile with linear interpolation
//    (numpy's default), as MedPy's medpy.metric.binary.hd95 does and design §7 asks; MONAI and
//    DeepMind's surface-distance library instead take the larger of the two directed percentiles.
//  - NSD at tolerance τ (Nikolov et al. 2021, arXiv:1809.04430): the fraction of both surfaces lying
//    within τ of the other surface, (|{d_pr ≤ τ}| + |{d_rp ≤ τ}|) / (|S_p| + |S_r|). Each surface voxel
//    counts once, as in MONAI's compute_surface_dice (use_subvoxels=False), rather than weighted by
//    surfel area as in Nikolov's reference code.
//  - Both masks empty: Dice 1, HD95 0, NSD 1 (nothing disagrees). One empty: Dice 0, HD95 null, NSD 0.
#pragma once

#include "core/core.h"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::eval {

namespace fs = std::filesystem;

struct Metrics {
  double dice = 1;
  std::optional<double> hd95_mm; //!< null when exactly one mask is empty
  double nsd = 1;                //!< at the tolerance the metrics were computed with
  int64_t voxels_pred = 0, voxels_ref = 0;
  double volume_pred_ml = 0, volume_ref_ml = 0;
  int64_t surface_voxels_pred = 0, surface_voxels_ref = 0;
};

//! Compare the voxels of `pred` equal to `pred_value` with the voxels of `ref` equal to `ref_value`
//! (values 1–255). Both volumes must share one grid (Geometry::same_grid), else InputError.
Metrics compare_labels(
    const MaskVolume& pred, int pred_value, const MaskVolume& ref, int ref_value, double tolerance_mm);
//! compare_labels on the nonzero voxels of two binary masks.
Metrics compare_masks(const MaskVolume& pred, const MaskVolume& ref, double tolerance_mm);

struct StructureResult {
  std::string name;
  bool in_pred = false, in_ref = false; //!< has voxels on that side
  Metrics metrics;
};

struct Evaluation {
  double tolerance_mm = 1;
  //! Every structure with voxels in at least one map, sorted by name.
  std::vector<StructureResult> structures;
  //! Named in a label table but empty on both sides: not scored (they would only inflate the mean).
  std::vector<std::string> empty_in_both;
  std::optional<double> mean_dice; //!< over `structures`; null when there are none
};

//! Compare two label maps structure by structure, matched by the names in their tables (never by
//! raw label value). Both must share one grid, else InputError.
Evaluation evaluate(const LabelMap& pred, const LabelMap& ref, double tolerance_mm);

//! The grid of a segmentation input without reading its voxels: a NIfTI file's header, or the first
//! mask of a TotalSegmentator folder (or of its one wrapping subfolder).
Geometry segmentation_grid(const fs::path& path);

//! Read a segmentation (TotalSegmentator folder, --ml file, multilabel NIfTI with <stem>.json beside it,
//! or a .zip of these) onto `grid`, mapped to catalogue names; GTVp/GTVn labels or masks are kept.
LabelMap read_segmentation(const fs::path& path, const Geometry& grid, Warnings& warnings);

//! Read both inputs and evaluate them. InputError (naming both grids) when they are not on one grid.
Evaluation evaluate_files(const fs::path& pred, const fs::path& ref, double tolerance_mm, Warnings& warnings);

//! The evaluation as JSON text (schema "nervemap.eval/1"): tolerance, mean Dice, one entry per structure.
std::string to_json(const Evaluation& evaluation,
                    const std::string& pred_name,
                    const std::string& ref_name,
                    const Warnings& warnings);

} // namespace nervemap::eval
