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
inline float round_to_half(float value) { return half_to_float(float_to_half(value)); }
//! Bulk conversions (F16C when the CPU has it).
void floats_to_halves(const float* in, uint16_t* out, size_t n);
void halves_to_floats(const uint16_t* in, float* out, size_t n);

// ----------------------------------------------------------------------------------------------
// checkpoint_final.pth (checkpoint.cpp): a zip holding data.pkl (pickle protocol 2) and raw storages.
// The pickle is run by a small, strict virtual machine that knows only the opcodes and globals nnU-Net
// checkpoints use (research/nnunet-inference.md §4.1–4.2); no Python code is ever executed, objects live
// in an arena (no recursion, cycles are harmless) and every size is bounded.

struct CheckpointLimits {
  uint64_t max_pickle_bytes = 512ull << 20;     //!< data.pkl (plans, logging, optimizer metadata)
  uint64_t max_objects = 20'000'000;            //!< pickle objects created
  uint64_t max_stack = 10'000'000;              //!< VM stack depth (items)
  uint64_t max_memo = 20'000'000;               //!< memo entries
  uint64_t max_tensor_bytes = 8ull << 30;       //!< one tensor's storage
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
  std::string configuration;                     //!< init_args['configuration']
  std::optional<std::vector<int>> mirroring_axes; //!< inference_allowed_mirroring_axes (None → empty optional)
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
  std::string class_name;  //!< e.g. dynamic_network_architectures.architectures.unet.PlainConvUNet
  std::string kind;        //!< "PlainConvUNet", "ResidualEncoderUNet" (the builder's registry key)
  int n_stages = 0;
  std::vector<int> features;
  std::vector<std::array<int, 3>> kernel_sizes, strides;
  std::vector<int> n_per_stage;         //!< n_conv_per_stage (Plain) or n_blocks_per_stage (ResEnc)
  std::vector<int> n_conv_per_stage_decoder;
  bool conv_bias = true;
  double norm_eps = 1e-5;
  bool norm_affine = true;
  double negative_slope = 0.01; //!< LeakyReLU (0 for ReLU)
  int in_channels = 1;
  int num_classes = 2; //!< segmentation heads
};

struct NormalizationSpec {
  std::string scheme; //!< CTNormalization, ZScoreNormalization, NoNormalization, RescaleTo01Normalization, RGBTo01Normalization
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
  std::vector<double> spacing; //!< target spacing (transposed axis order)
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

} // namespace nervemap::segment::detail
