// nervemap segment: the native nnU-Net v2 runtime (design §1, §7) — trained nnU-Net model folders
// (TotalSegmentator's tasks, HECKTOR-style PET/CT tumour models) run in C++ on libtorch, on the CPU,
// without Python, giving the labels nnU-Net's own predictor gives.
//
// Two entry points, as the command line has them:
//  - predict_model(): `--model DIR` = nnU-Net's nnUNetPredictor on one case (file voxel order, no
//    reorientation, all present folds averaged, mirroring only when asked);
//  - predict_task(): `--task NAME` = TotalSegmentator around nnU-Net (RAS canonical voxel order, the
//    task's spacing, crop to the task's region of interest found by a quick `total` pass, several part
//    models merged by class name).
// segment_structures() runs the task set the nerve rules need and returns catalogue ids, for
// `nervemap run --models DIR`; segment_with_model() runs one model whose labels are catalogue names, for
// `nervemap run --model DIR`.
//
// Every failure is an InputError that says what is wrong and what to do.
#pragma once

#include "anatomy/anatomy.h"
#include "core/core.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::segment {

namespace fs = std::filesystem;

//! Called as work advances: what is running and the fraction (0–1) of the whole request done.
using ProgressFn = std::function<void(const std::string& stage, double fraction)>;

struct InferenceOptions {
  bool mirroring = false; //!< test-time mirroring (--tta): 8 passes per tile instead of 1
  std::optional<double>
      step_size;                 //!< tile step as a fraction of the patch (nnU-Net 0.5; tasks set their own)
  int threads = 0;               //!< CPU threads for the network and resampling (0: all cores)
  bool fp16_accumulation = true; //!< accumulate tiles in half precision exactly as nnU-Net does
  bool skip_air_tiles = false;   //!< skip tiles with no voxel above −500 HU (not in nnU-Net; faster)
  ProgressFn progress;           //!< optional
};

//! One input image of a model (CT in HU, PET in SUV, ...). All channels share the first one's grid.
struct InputChannel {
  std::string name; //!< "CT", "PET": matched to dataset.json channel_names case-insensitively
  const CtVolume* volume = nullptr;
};

//! A label map on the input grid with its label table (values as the model or task defines them).
struct Segmentation {
  MaskVolume labels;
  LabelTable table;
  std::vector<std::string> models; //!< model folders used, for the report's software.models
};

// ----------------------------------------------------------------------------------------------
// nnU-Net model folders

//! What a trained-model folder holds (dataset.json, plans.json, fold_*/checkpoint_final.pth).
struct ModelSummary {
  fs::path dir;
  std::string dataset_name, plans_name, trainer, configuration, network;
  std::vector<std::string> channel_names; //!< in channel order
  std::vector<int> folds;                 //!< the folds that will be used
  LabelTable labels;                      //!< output values and names (background excluded)
  bool region_based = false;
  std::vector<int64_t> patch_size;
  std::vector<double> spacing; //!< target spacing, nnU-Net axis order
};

//! Inspect a model folder without loading weights. `folds` empty: every fold_N with a checkpoint
//! (nnU-Net's auto-detection); "all" is fold −1. Throws InputError if the folder cannot be used.
ModelSummary inspect_model(const fs::path& model_dir, const std::vector<int>& folds = {});

//! Segment one case exactly as nnU-Net's predictor would (see the file comment). `channels` are matched
//! to dataset.json channel_names; a mismatch is an InputError that names both lists.
Segmentation predict_model(const fs::path& model_dir,
                           const std::vector<InputChannel>& channels,
                           const std::vector<int>& folds,
                           const InferenceOptions& options,
                           Warnings& warnings);

// ----------------------------------------------------------------------------------------------
// TotalSegmentator tasks

struct TaskOptions {
  bool fast = false;                  //!< `total --fast`: one 3 mm model instead of five 1.5 mm part models
  std::optional<fs::path> models_dir; //!< --models DIR; else TotalSegmentator's home (see find_weights_dir)
  bool robust_crop = false;           //!< find the crop ROI with the 3 mm instead of the 6 mm model
  int resampling_order = 1;           //!< TotalSegmentator -ro (order of the CT resampling)
  //! `total` only (TotalSegmentator --roi_subset): keep these classes, crop to them (rough 6 mm pass,
  //! 20 mm margin) and run only the part models that segment them.
  std::vector<std::string> roi_subset;
};

//! The supported tasks: total, headneck_bones_vessels, headneck_muscles, head_glands_cavities,
//! head_muscles, craniofacial_structures.
std::vector<std::string> task_names();

//! Where TotalSegmentator's weights are: `explicit_dir` (a folder with DatasetNNN_* model folders, or a
//! TotalSegmentator home holding nnunet/results), else $TOTALSEG_WEIGHTS_PATH, $TOTALSEG_HOME_DIR/
//! nnunet/results, ~/.totalsegmentator/nnunet/results. Throws InputError if none exists.
fs::path find_weights_dir(const std::optional<fs::path>& explicit_dir);

//! Run a TotalSegmentator task on a CT (HU) as TotalSegmentator does; labels use the task's class ids.
Segmentation predict_task(const std::string& task,
                          const CtVolume& ct,
                          const TaskOptions& task_options,
                          const InferenceOptions& options,
                          Warnings& warnings);

//! The task set for the nerve landmarks — total (fast on CPU unless `full_resolution`),
//! headneck_bones_vessels, headneck_muscles, and head_glands_cavities, head_muscles,
//! craniofacial_structures when their weights are present — merged by class name into catalogue ids
//! (later tasks overwrite earlier ones where they label a voxel). Missing optional weights are a warning.
anatomy::StructureMap segment_structures(const CtVolume& ct,
                                         const fs::path& models_dir,
                                         const InferenceOptions& options,
                                         Warnings& warnings,
                                         bool full_resolution = false,
                                         std::vector<std::string>* models_used = nullptr);

// ----------------------------------------------------------------------------------------------
// A model whose labels are catalogue names (`nervemap run --model DIR`)

//! What segment_with_model() found: structures as catalogue ids, tumours as 201/202 (when the model has
//! GTVp/GTVn labels and found any), and the model folder's name for the report.
struct ModelStructures {
  anatomy::StructureMap structures;
  std::optional<anatomy::StructureMap> tumour;
  std::vector<std::string> models;
};

//! Segment a CT with a CT-only nnU-Net model folder (every fold present) whose dataset.json labels are
//! TotalSegmentator class names (catalogue names) and GTVp/GTVn — the demo model of
//! tools/train_demo_model.py is one. The CT is put in RAS canonical voxel order first, as TotalSegmentator
//! does for its models, so the file's axis order does not matter. Labels the catalogue does not know are left
//! out with a warning; a model with none it knows is an InputError. Pieces of a structure more than 20 mm
//! from its main body are removed, with one warning (anatomy::remove_stray_pieces); tumours are left whole.
ModelStructures segment_with_model(const CtVolume& ct,
                                   const fs::path& model_dir,
                                   const InferenceOptions& options,
                                   Warnings& warnings);

} // namespace nervemap::segment
