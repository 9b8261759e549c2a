// Internal to the segment module (not a public header): the building blocks of the nnU-Net v2 runtime,
// exposed to the module's .cpp files, its tests and its benchmarks. Nothing here includes libtorch:
// the network is reached through the abstract `Network` (network.cpp is the only torch translation
// unit), so this header compiles in a fraction of a second.
//
// Array convention: a volume is held the way nnU-Net holds it after reading — a C-order array whose
// axes are the reverse of the NIfTI voxel axes, i.e. (c, k, j, i) = (c, "z", "y", "x"). A core::Volume
// buffer (i fastest) therefore *is* such an array without any copy.
#pragma once

#include "segment/segment.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nervemap::segment::detail {

namespace fs = std::filesystem;

using Shape3 = std::array<int64_t, 3>;

//! Dense C-order array (last axis fastest) with an explicit shape.
template <class T> struct Array {
  std::vector<int64_t> shape;
  std::vector<T> data;

  Array() = default;
  explicit Array(std::vector<int64_t> s, T fill = T{}) : shape(std::move(s)), data(count(shape), fill) {}
  static size_t count(const std::vector<int64_t>& s) {
    size_t n = 1;
    for (int64_t d : s)
      n *= size_t(d);
    return n;
  }
  size_t size() const { return data.size(); }
};
using FloatArray = Array<float>;
using DoubleArray = Array<double>;
//! IEEE binary16 values stored as raw bits (nnU-Net accumulates sliding-window logits in torch.half).
using HalfArray = Array<uint16_t>;

// ----------------------------------------------------------------------------------------------
// Half precision (fp16.cpp). Round to nearest even, as torch and numpy do.

uint16_t float_to_half(float value);
uint16_t double_to_half(double value); //!< direct rounding (numpy's float64 → float16 assignment)
float half_to_float(uint16_t bits);
//! float → half → float (the value torch.half would hold).
inline float round_to_half(float value) {
  return half_to_float(float_to_half(value));
}
//! Bulk conversions (F16C when the CPU has it).
void floats_to_halves(const float* in, uint16_t* out, size_t n);
void halves_to_floats(const uint16_t* in, float* out, size_t n);
//! values[i] = round_to_half(values[i]) (F16C when the CPU has it).
void round_to_half_inplace(float* values, size_t n);

// ----------------------------------------------------------------------------------------------
// checkpoint_final.pth (checkpoint.cpp): a zip holding data.pkl (pickle protocol 2) and raw storages.
// The pickle is run by a small, strict virtual machine that knows only the opcodes and globals nnU-Net
// checkpoints use (research/nnunet-inference.md §4.1–4.2); no Python code is ever executed, objects live
// in an arena (no recursion, cycles are harmless) and every size is bounded.

struct CheckpointLimits {
  uint64_t max_pickle_bytes = 512ull << 20;      //!< data.pkl (plans, logging, optimizer metadata)
  uint64_t max_objects = 20'000'000;             //!< pickle objects created
  uint64_t max_stack = 10'000'000;               //!< VM stack depth (items)
  uint64_t max_memo = 20'000'000;                //!< memo entries
  uint64_t max_tensor_bytes = 8ull << 30;        //!< one tensor's storage
  uint64_t max_total_weight_bytes = 16ull << 30; //!< all network weights of one checkpoint
  uint64_t max_tensor_rank = 8;
};

//! Where a tensor of the state dict lives in the archive (nothing read yet).
struct TensorRef {
  std::string storage_key; //!< archive entry <prefix>/data/<key>
  std::string dtype;       //!< "float32", "float16", "bfloat16", "float64", "int64", ...
  int64_t storage_numel = 0;
  int64_t offset = 0; //!< in elements
  std::vector<int64_t> shape, stride;
};

//! A network weight, converted to float32 and made contiguous (C order).
struct WeightTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
  int64_t numel() const { return int64_t(values.size()); }
};
using WeightMap = std::map<std::string, WeightTensor>;

struct Checkpoint {
  fs::path path;
  std::string trainer_name;
  std::string configuration; //!< init_args['configuration']
  std::optional<std::vector<int>>
      mirroring_axes; //!< inference_allowed_mirroring_axes (None → empty optional)
  //! network_weights in file order (duplicates included); see is_duplicate_weight_key.
  std::vector<std::pair<std::string, TensorRef>> weight_refs;
  //! The canonical weights, loaded only when read_checkpoint(load_weights = true).
  WeightMap weights;
};

//! True for the keys nnU-Net's state_dict() stores twice: `...all_modules.N...` (aliases of conv/norm)
//! and `decoder.encoder....` (the decoder's reference to the encoder). research §3.4.
bool is_duplicate_weight_key(std::string_view key);

//! Read a checkpoint: metadata always, the canonical network weights when load_weights. Throws
//! InputError naming the file for anything that is not a well-formed nnU-Net v2 checkpoint.
Checkpoint read_checkpoint(const fs::path& path, bool load_weights, const CheckpointLimits& limits = {});
//! The same from an in-memory .pth (tests, fuzzing).
Checkpoint read_checkpoint_bytes(std::string_view zip_bytes,
                                 const std::string& name,
                                 bool load_weights,
                                 const CheckpointLimits& limits = {});

// ----------------------------------------------------------------------------------------------
// Trained-model folder (model_folder.cpp): dataset.json + plans.json + fold_*/checkpoint_final.pth.
// nnunetv2/utilities/plans_handling/plans_handler.py (PlansManager, ConfigurationManager) and
// utilities/label_handling/label_handling.py (LabelManager) define what is read here.

//! The network as plans.json describes it (architecture.network_class_name + arch_kwargs), after the
//! legacy-format conversion of ConfigurationManager.__init__.
struct NetworkSpec {
  std::string class_name; //!< e.g. dynamic_network_architectures.architectures.unet.PlainConvUNet
  std::string kind;       //!< "PlainConvUNet", "ResidualEncoderUNet" (the builder's registry key)
  int n_stages = 0;
  std::vector<int> features;
  std::vector<std::array<int, 3>> kernel_sizes, strides;
  std::vector<int> n_per_stage; //!< n_conv_per_stage (Plain) or n_blocks_per_stage (ResEnc)
  std::vector<int> n_conv_per_stage_decoder;
  bool conv_bias = true;
  double norm_eps = 1e-5;
  bool norm_affine = true;
  double negative_slope = 0.01; //!< LeakyReLU (0 for ReLU)
  int in_channels = 1;
  int num_classes = 2; //!< segmentation heads
};

struct NormalizationSpec {
  std::string scheme; //!< CTNormalization, ZScoreNormalization, NoNormalization, RescaleTo01Normalization,
                      //!< RGBTo01Normalization
  bool use_mask = false;
  double mean = 0, std = 1, lower = 0, upper = 0; //!< CT: foreground intensity properties
};

struct ResamplingSpec {
  std::string function = "resample_data_or_seg_to_shape";
  int order = 3;
  int order_z = 0;
  std::optional<bool> force_separate_z; //!< null in the plans → decided from the spacings
};

struct LabelSpec {
  std::string name;
  std::vector<int> values; //!< one value, or a region's values
};

struct ModelFolder {
  fs::path dir;
  std::string dataset_name, plans_name, trainer, configuration, image_reader_writer;
  std::vector<std::string> channel_names;
  std::vector<LabelSpec> labels; //!< dataset.json order, background and ignore excluded
  bool has_regions = false;
  std::vector<int> regions_class_order;
  int num_heads = 0;
  std::array<int, 3> transpose_forward{0, 1, 2}, transpose_backward{0, 1, 2};
  std::vector<int64_t> patch_size;
  std::vector<double> spacing;                  //!< target spacing (transposed axis order)
  std::vector<NormalizationSpec> normalization; //!< one per channel
  ResamplingSpec resample_data, resample_probabilities;
  NetworkSpec network;
  std::vector<int> folds; //!< -1 = fold_all
  std::vector<fs::path> checkpoints;
  std::optional<std::vector<int>> mirroring_axes; //!< from the first fold's checkpoint
};

//! Open and validate a model folder (reads the first checkpoint's metadata, no weights). `folds` empty:
//! every fold_N holding checkpoint_final.pth, as nnUNetPredictor.auto_detect_available_folds.
ModelFolder open_model_folder(const fs::path& dir, const std::vector<int>& folds);
//! The same from already-parsed JSON (tests of plans handling).
ModelFolder parse_model_folder(const fs::path& dir,
                               const std::string& dataset_json,
                               const std::string& plans_json,
                               const std::string& configuration,
                               const std::string& trainer);

// ----------------------------------------------------------------------------------------------
// Networks (network.cpp, the only libtorch translation unit). dynamic_network_architectures:
// architectures/unet.py (PlainConvUNet, ResidualEncoderUNet), building_blocks/*.py.

//! A network ready to run: plain float buffers in and out, so no torch type leaks out of network.cpp.
class Network {
public:
  virtual ~Network() = default;
  //! logits (num_classes × size, C order) for input (in_channels × size, C order). Batch size 1.
  virtual void forward(const float* input, const Shape3& size, float* logits) = 0;
  virtual int in_channels() const = 0;
  virtual int num_classes() const = 0;
  virtual int64_t parameter_count() const = 0;
};

//! Build the network `spec` describes and load the weights by key (duplicates already dropped).
//! A missing, surplus or mis-shaped weight is an InputError naming the key and `source`.
std::unique_ptr<Network> build_network(const NetworkSpec& spec, WeightMap weights, const std::string& source);
//! The architectures build_network knows (its registry keys).
std::vector<std::string> supported_networks();
//! Threads for libtorch's intra-op pool and the module's OpenMP loops (≤ 0: all cores).
void set_compute_threads(int threads);
int compute_threads();

// ----------------------------------------------------------------------------------------------
// Resampling (resample.cpp): scipy.ndimage.zoom / skimage.transform.resize / map_coordinates semantics
// (research §2.5), computed separably in double precision.

using Spacing3 = std::array<double, 3>;

//! compute_new_shape: round(old_spacing / new_spacing · old_shape), Python round (half to even).
Shape3 compute_new_shape(const Shape3& shape, const Spacing3& old_spacing, const Spacing3& new_spacing);

struct SeparateZ {
  bool separate = false;
  int axis = -1; //!< the low-resolution axis when separate
};
//! determine_do_sep_z_and_axis (default_resampling.py), anisotropy threshold 3.
SeparateZ decide_separate_z(std::optional<bool> force, const Spacing3& current, const Spacing3& target);

//! skimage.transform.resize(image, out_shape, order, mode='edge', anti_aliasing=False, clip=True) on a
//! double array of rank 1–3: ndimage.zoom with grid_mode=True, mode 'nearest' (cubic: 12-voxel edge
//! padding + B-spline prefilter), then clipped to the input's range.
std::vector<double> skimage_resize(const double* in,
                                   const std::vector<int64_t>& in_shape,
                                   const std::vector<int64_t>& out_shape,
                                   int order);

//! resample_data_or_seg (is_seg = False) for one channel: plain resize, or with separate z an in-plane
//! resize of every slice along `axis` followed by map_coordinates(order_z, mode 'nearest') along it.
std::vector<double> resample_channel(const double* in,
                                     const Shape3& in_shape,
                                     const Shape3& out_shape,
                                     int order,
                                     int order_z,
                                     const SeparateZ& separate_z);

//! scipy.ndimage.zoom(image, zoom, order, mode='nearest', grid_mode=False) to `out_shape`: corner-aligned,
//! source = dst · (in − 1)/(out − 1) (TotalSegmentator's resampling.change_spacing).
std::vector<double>
ndimage_zoom_corners(const double* in, const Shape3& in_shape, const Shape3& out_shape, int order);

// ----------------------------------------------------------------------------------------------
// Preprocessing and export (preprocess.cpp): DefaultPreprocessor.run_case_npy
// (preprocessing/preprocessors/default_preprocessor.py) and
// convert_predicted_logits_to_segmentation_with_correct_shape (inference/export_prediction.py).

struct Box {
  std::array<int64_t, 3> lo{}, hi{}; //!< [lo, hi) per axis
};

//! One case's input channels in nnU-Net's reading order: (c, z, y, x) C order, spacing (z, y, x).
struct CaseInput {
  std::vector<const float*> channels;
  Shape3 shape{};     //!< (z, y, x) = reversed file voxel axes
  Spacing3 spacing{}; //!< mm, same order
};

struct Preprocessed {
  FloatArray data; //!< (c, z', y', x'): network input after transpose, crop, normalise, resample
  Shape3 shape_before_cropping{}; //!< after transpose
  Box bbox;                       //!< bbox_used_for_cropping (transposed axes)
  Shape3 shape_after_cropping{};
  Spacing3 original_spacing{}; //!< transposed
  Spacing3 target_spacing{};
  //! −500 HU in channel 0's normalised units when channel 0 is a CT (CTNormalization): tiles without a
  //! voxel above it lie in the air around the patient.
  std::optional<float> air_threshold;
};

//! transpose → crop_to_nonzero → normalise → resample, exactly as run_case_npy does.
Preprocessed preprocess(const CaseInput& input, const ModelFolder& model);

//! Network logits of a whole case, (heads, z', y', x'); `half` says the values are torch.half values
//! (nnU-Net's default), which the export keeps as float16 when it resamples.
struct Logits {
  FloatArray values;
  bool half = true;
};

struct Exported {
  std::vector<uint8_t> labels; //!< (z, y, x) in the input's order (transpose undone, crop undone)
  FloatArray probabilities;    //!< (heads, z, y, x) when asked for (softmax/sigmoid), else empty
};

//! Resample the logits back to the cropped shape (order 1, separate z as decided), softmax + argmax or
//! sigmoid + regions, un-crop and transpose back. `threads` bounds the OpenMP loops. With streaming_labels
//! (softmax models, labels only) steps 1–2 run per output voxel — argmax of the order-1 interpolated logits —
//! instead of resampling every class at full resolution first: same labels but at ties within float16
//! rounding, a fraction of the memory and time when the model has many classes.
Exported export_prediction(const Logits& logits,
                           const Preprocessed& pre,
                           const ModelFolder& model,
                           bool probabilities,
                           bool streaming_labels = false);

// ----------------------------------------------------------------------------------------------
// Sliding window (sliding_window.cpp): predict_sliding_window_return_logits and friends
// (inference/predict_from_raw_data.py, inference/sliding_window_prediction.py).

//! compute_steps_for_sliding_window.
std::vector<std::vector<int64_t>> compute_steps(const Shape3& image, const Shape3& patch, double step_size);
//! compute_gaussian(patch, sigma_scale 1/8, value_scaling_factor 10) as torch.half values.
std::vector<float> gaussian_importance(const Shape3& patch);

struct SlidingWindowOptions {
  double step_size = 0.5;
  bool use_gaussian = true;
  std::vector<int> mirror_axes; //!< empty: no test-time mirroring
  bool fp16 = true;
  bool skip_air_tiles = false;
  std::function<void(int64_t done, int64_t total)> on_tile;
};

//! Logits of one network over the whole preprocessed case (padding, tiles, Gaussian, accumulation).
Logits sliding_window(Network& network,
                      const Preprocessed& pre,
                      const Shape3& patch,
                      int heads,
                      const SlidingWindowOptions& options);

//! Several folds: the first fold's logits plus the others, divided by their count, in the accumulator's
//! precision (predict_logits_from_preprocessed_data).
void add_fold(Logits& total, const Logits& fold);
void average_folds(Logits& total, int folds);

// ----------------------------------------------------------------------------------------------
// The predictor (predictor.cpp): nnUNetPredictor.predict_from_files_sequential for one case.

//! Progress of one case: fraction 0–1 and what is running.
using CaseProgress = std::function<void(const std::string& stage, double fraction)>;

struct CaseOptions {
  double step_size = 0.5;
  bool mirroring = false;
  bool fp16 = true;
  bool skip_air_tiles = false;
  bool probabilities = false;
  bool streaming_labels = false; //!< export_prediction's one-pass argmax (labels only)
  CaseProgress progress;
};

//! preprocess → every fold's sliding window (summed, averaged) → export.
Exported predict_case(const ModelFolder& model, const CaseInput& input, const CaseOptions& options);

//! nnU-Net's view of a volume: shape (k, j, i) and spacing reversed, spacing rounded to float32 as the
//! NIfTI pixdim it came from.
CaseInput case_input(const std::vector<const CtVolume*>& channels);

//! Label table of a model's output values (softmax: the label values; regions: regions_class_order).
LabelTable output_table(const ModelFolder& model);

//! Linear resampling of `image` onto `target` (voxels outside → `outside`), through LPS coordinates.
CtVolume resample_linear(const CtVolume& image, const Geometry& target, float outside);

// ----------------------------------------------------------------------------------------------
// TotalSegmentator around nnU-Net (totalseg.cpp), research §5: totalsegmentator/python_api.py
// (totalsegmentator), nnunet.py (nnUNet_predict_image), alignment.py, resampling.py (change_spacing),
// cropping.py, map_to_binary.py (class maps), map_tasks_config.py (task parameters),
// download_pretrained_weights.py (dataset folder names).

struct TsModel {
  int task_id = 0;
  std::string folder; //!< DatasetNNN_name as TotalSegmentator downloads it
  std::string trainer, plans = "nnUNetPlans", configuration = "3d_fullres";
  std::vector<std::pair<int, std::string>> classes; //!< the model's own label → class name
};

struct TsTask {
  std::string name;                //!< the class map it writes ("total" for every variant of total)
  std::vector<TsModel> models;     //!< merged in this order, later ones overwrite
  Spacing3 spacing{1.5, 1.5, 1.5}; //!< `resample` in mm along the canonical x, y, z (RAS) axes
  std::vector<std::string> crop;   //!< classes of `total` that define the region to crop to (empty: none)
  double step_size = 0.5;          //!< 0.8 for total (nnUNetv2_predict step in TotalSegmentator)
};

//! The parameters of a task; `variant` is "" (default), "fast" (total 3 mm) or "fastest" (total 6 mm, the
//! crop pass). Throws InputError for an unknown task.
TsTask ts_task(const std::string& name, const std::string& variant = "");
//! The task's models that a roi_subset needs (all when it is empty): TotalSegmentator runs only the part
//! models that segment one of its classes (nnunet.py, nnUNet_predict_image).
std::vector<TsModel> ts_models_for(const TsTask& task, const std::vector<std::string>& roi_subset);
//! <weights>/DatasetNNN_*/<trainer>__<plans>__<configuration>, with a download hint when missing.
fs::path ts_model_dir(const fs::path& weights, const TsModel& model, const std::string& task);

//! nibabel io_orientation of a voxel→RAS affine: for each voxel axis the RAS axis it runs along and the
//! sign (SVD polar decomposition, axes chosen greedily as nibabel does).
struct Orientation {
  std::array<int, 3> axis{0, 1, 2};
  std::array<int, 3> sign{1, 1, 1};
  bool identity() const { return axis == std::array<int, 3>{0, 1, 2} && sign == std::array<int, 3>{1, 1, 1}; }
};
Orientation io_orientation(const Geometry& g);
//! nib.as_closest_canonical: voxels reordered so that i, j, k run along R, A, S.
CtVolume to_canonical(const CtVolume& image, const Orientation& o);
//! undo_canonical: back to the voxel order of `original` (labels).
MaskVolume from_canonical(const MaskVolume& canonical, const Orientation& o, const Geometry& original);

//! change_spacing(img, spacing, order, dtype=int32): ndimage.zoom (grid_mode False, mode 'nearest') by
//! header zooms / spacing, truncated to integers; affine columns divided by the zoom.
CtVolume ts_change_spacing(const CtVolume& image, const Spacing3& spacing, int order);
//! change_spacing(labels, target_shape=…, order=0, force_affine=…): nearest, corner-aligned, onto `target`.
MaskVolume ts_resample_labels(const MaskVolume& labels, const Geometry& target);

//! cropping.get_bbox_from_mask(mask ∈ labels, addon = int(addon_mm / zooms)) on the voxel grid, clamped.
//! `found` is false (and the box the whole image) when no voxel carries one of the labels.
Box ts_crop_box(const MaskVolume& labels, const std::vector<int>& values, double addon_mm, bool* found);
//! crop_to_bbox_nifti(image, box, dtype=int32): the voxels of the box, truncated to integers.
CtVolume ts_crop(const CtVolume& image, const Box& box);
//! undo_crop: the cropped labels put back into a zero volume on `original`.
MaskVolume ts_uncrop(const MaskVolume& labels, const Box& box, const Geometry& original);

struct TsRun {
  fs::path weights;
  TaskOptions task;
  CaseOptions case_options; //!< progress is set per step
  CaseProgress progress;
};
//! nnUNet_predict_image for one task: labels with the task's class ids on the CT's grid.
MaskVolume ts_predict(const TsTask& task, const CtVolume& ct, const TsRun& run, Warnings& warnings);

} // namespace nervemap::segment::detail
