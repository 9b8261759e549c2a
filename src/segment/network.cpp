// The nnU-Net networks on libtorch 1.13 (CPU), built from plans.json arch_kwargs and loaded by key.
//
// Sources (dynamic_network_architectures, research §3): architectures/unet.py (PlainConvUNet,
// ResidualEncoderUNet), building_blocks/simple_conv_blocks.py (ConvDropoutNormReLU, StackedConvBlocks),
// building_blocks/residual.py (BasicBlockD), building_blocks/residual_encoders.py (ResidualEncoder),
// building_blocks/unet_decoder.py (UNetDecoder).
//
// The graph is a list of small blocks behind one interface (Block::forward), assembled by a builder per
// architecture registered in kBuilders. Encoders differ (plain conv stacks, residual stages with a stem);
// the decoder is shared. STU-Net (uni-medical/STU-Net, research §6.1) slots in as one more builder:
// its encoder is residual stages of BasicResBlock (conv-IN-LReLU-conv-IN + 1×1 conv shortcut, LReLU after
// the sum), its decoder's upsampling is nearest-neighbour interpolation + 1×1 conv (an UpsampleNearest
// block in place of TransposedConv) and its decoder stages are residual too — all of it expressible with
// the blocks below.
//
// Speed: convolutions run through ATen's oneDNN path; InstanceNorm + LeakyReLU is one fused pass of our
// own (two memory sweeps instead of PyTorch's four); the k = stride transposed convolutions, which oneDNN
// in 1.13 does not take (research §4.3), are a single GEMM on the low-resolution grid followed by a
// pixel shuffle; the encoder skips are concatenated once into the decoder buffer.
#include "segment/internal.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <cmath>
#include <fmt/format.h>
#include <omp.h>
#include <set>

namespace nervemap::segment::detail {

namespace {

using at::Tensor;

// ----------------------------------------------------------------------------------------------
// Weights by key

class WeightBank {
public:
  WeightBank(WeightMap weights, std::string source) : weights_(std::move(weights)), source_(std::move(source)) {}

  Tensor take(const std::string& key, const std::vector<int64_t>& shape) {
    auto it = weights_.find(key);
    if (it == weights_.end())
      throw InputError(fmt::format("{}: the checkpoint has no weight '{}' that the network from plans.json "
                                   "needs; plans.json and the checkpoint do not belong together",
                                   source_, key));
    if (it->second.shape != shape)
      throw InputError(fmt::format("{}: weight '{}' has shape [{}] but plans.json implies [{}]; plans.json and "
                                   "the checkpoint do not belong together",
                                   source_, key, fmt::join(it->second.shape, ","), fmt::join(shape, ",")));
    Tensor t = at::empty(shape, at::kFloat);
    std::memcpy(t.data_ptr<float>(), it->second.values.data(), it->second.values.size() * sizeof(float));
    weights_.erase(it);
    return t;
  }
  bool has(const std::string& key) const { return weights_.count(key) != 0; }

  //! Everything must have been used (load_state_dict(strict=True)).
  void finish() const {
    if (weights_.empty())
      return;
    std::vector<std::string> left;
    for (const auto& [k, v] : weights_) {
      left.push_back(k);
      if (left.size() == 3)
        break;
    }
    throw InputError(fmt::format("{}: the checkpoint has {} weight(s) the network from plans.json does not use "
                                 "(e.g. {}); plans.json and the checkpoint do not belong together",
                                 source_, weights_.size(), fmt::join(left, ", ")));
  }

private:
  WeightMap weights_;
  std::string source_;
};

std::vector<int64_t> conv_shape(int out, int in, const std::array<int, 3>& k) {
  return {out, in, k[0], k[1], k[2]};
}

// ----------------------------------------------------------------------------------------------
// Fused kernels

//! In place on a contiguous (1, C, D, H, W) tensor: InstanceNorm3d (biased variance over the tile,
//! eps, affine) and optionally LeakyReLU(slope): one statistics sweep and one apply sweep per channel,
//! where PyTorch needs four (two for the statistics, one for the affine map, one for the activation).
void instance_norm_act(Tensor& y, const Tensor& gamma, const Tensor& beta, double eps, bool act, float slope) {
  const int64_t channels = y.size(1);
  const int64_t n = y.numel() / channels;
  float* data = y.data_ptr<float>();
  const float* g = gamma.defined() ? gamma.data_ptr<float>() : nullptr;
  const float* b = beta.defined() ? beta.data_ptr<float>() : nullptr;
  auto one_channel = [&](int64_t c) {
    float* x = data + c * n;
    // Statistics in one sweep: double sums of values shifted by the first one (no cancellation in
    // E[x²] − E[x]²). ATen's batch-norm kernel takes two sweeps; bit-for-bit agreement with it is not
    // reachable anyway (its conv/norm rounding differs by ~1 ulp per layer, which a random-weight
    // network amplifies to ~3e-5 on the fixture logits either way).
    const double shift0 = x[0];
    double sum = 0, sumsq = 0;
#pragma omp simd reduction(+ : sum, sumsq)
    for (int64_t i = 0; i < n; ++i) {
      const double v = double(x[i]) - shift0;
      sum += v;
      sumsq += v * v;
    }
    const double mean_shifted = sum / double(n);
    const double var = std::max(0.0, sumsq / double(n) - mean_shifted * mean_shifted);
    const double mean = shift0 + mean_shifted;
    const double invstd = 1.0 / std::sqrt(var + eps);
    // As batch_norm_cpu_collect_linear_and_constant_terms: alpha = invstd·w, beta = b − mean·alpha.
    const float scale = float(invstd * (g ? g[c] : 1.0));
    const float offset = float((b ? b[c] : 0.0) - mean * invstd * (g ? g[c] : 1.0));
    if (act) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        float v = x[i] * scale + offset;
        x[i] = v > 0 ? v : v * slope;
      }
    } else {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i)
        x[i] = x[i] * scale + offset;
    }
  };
  at::parallel_for(0, channels, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c)
      one_channel(c);
  });
}

//! In place: a += b, then LeakyReLU.
void add_act(Tensor& a, const Tensor& b, float slope) {
  float* x = a.data_ptr<float>();
  const float* y = b.data_ptr<float>();
  const int64_t n = a.numel();
  at::parallel_for(0, n, 1 << 16, [&](int64_t i0, int64_t i1) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      float v = x[i] + y[i];
      x[i] = v > 0 ? v : v * slope;
    }
  });
}

// ----------------------------------------------------------------------------------------------
// Blocks

class Block {
public:
  virtual ~Block() = default;
  virtual Tensor forward(const Tensor& x) = 0;
};

//! ConvDropoutNormReLU: conv → InstanceNorm → LeakyReLU (nonlin optional), dropout is the identity.
class ConvNormAct : public Block {
public:
  ConvNormAct(WeightBank& w,
              const std::string& prefix,
              int in,
              int out,
              const std::array<int, 3>& kernel,
              const std::array<int, 3>& stride,
              bool bias,
              const NetworkSpec& spec,
              bool act)
      : eps_(spec.norm_eps), act_(act), slope_(float(spec.negative_slope)) {
    weight_ = w.take(prefix + ".conv.weight", conv_shape(out, in, kernel));
    if (bias)
      bias_ = w.take(prefix + ".conv.bias", {out});
    if (spec.norm_affine) {
      gamma_ = w.take(prefix + ".norm.weight", {out});
      beta_ = w.take(prefix + ".norm.bias", {out});
    }
    for (int a = 0; a < 3; ++a) {
      stride_[size_t(a)] = stride[size_t(a)];
      padding_[size_t(a)] = (kernel[size_t(a)] - 1) / 2;
    }
  }
  Tensor forward(const Tensor& x) override {
    Tensor y = at::conv3d(x, weight_, bias_, stride_, padding_);
    if (!y.is_contiguous())
      y = y.contiguous();
    instance_norm_act(y, gamma_, beta_, eps_, act_, slope_);
    return y;
  }

private:
  Tensor weight_, bias_, gamma_, beta_;
  std::array<int64_t, 3> stride_{}, padding_{};
  double eps_;
  bool act_;
  float slope_;
};

//! StackedConvBlocks: the first conv carries the stride.
class Sequence : public Block {
public:
  void add(std::unique_ptr<Block> b) { blocks_.push_back(std::move(b)); }
  Tensor forward(const Tensor& x) override {
    Tensor y = x;
    for (auto& b : blocks_)
      y = b->forward(y);
    return y;
  }

private:
  std::vector<std::unique_ptr<Block>> blocks_;
};

std::unique_ptr<Sequence> stacked_convs(WeightBank& w,
                                        const std::string& prefix, // ...convs
                                        int n,
                                        int in,
                                        int out,
                                        const std::array<int, 3>& kernel,
                                        const std::array<int, 3>& first_stride,
                                        const NetworkSpec& spec) {
  auto seq = std::make_unique<Sequence>();
  for (int c = 0; c < n; ++c)
    seq->add(std::make_unique<ConvNormAct>(w,
                                           fmt::format("{}.{}", prefix, c),
                                           c == 0 ? in : out,
                                           out,
                                           kernel,
                                           c == 0 ? first_stride : std::array<int, 3>{1, 1, 1},
                                           spec.conv_bias,
                                           spec,
                                           true));
  return seq;
}

//! BasicBlockD (ResNet-D): LReLU(conv2(conv1(x)) + skip(x)); skip = [AvgPool(stride)] + [1×1 conv + IN].
class BasicBlockD : public Block {
public:
  BasicBlockD(WeightBank& w,
              const std::string& prefix,
              int in,
              int out,
              const std::array<int, 3>& kernel,
              const std::array<int, 3>& stride,
              const NetworkSpec& spec)
      : slope_(float(spec.negative_slope)) {
    conv1_ = std::make_unique<ConvNormAct>(w, prefix + ".conv1", in, out, kernel, stride, spec.conv_bias, spec, true);
    conv2_ = std::make_unique<ConvNormAct>(
        w, prefix + ".conv2", out, out, kernel, std::array<int, 3>{1, 1, 1}, spec.conv_bias, spec, false);
    const bool strided = stride != std::array<int, 3>{1, 1, 1};
    if (strided)
      for (int a = 0; a < 3; ++a)
        pool_[size_t(a)] = stride[size_t(a)];
    pool_on_ = strided;
    if (in != out) // index 1 after the parameter-less AvgPool, else 0
      projection_ = std::make_unique<ConvNormAct>(w,
                                                  fmt::format("{}.skip.{}", prefix, strided ? 1 : 0),
                                                  in,
                                                  out,
                                                  std::array<int, 3>{1, 1, 1},
                                                  std::array<int, 3>{1, 1, 1},
                                                  false, // the ResEnc skip 1×1 conv has no bias
                                                  spec,
                                                  false);
  }
  Tensor forward(const Tensor& x) override {
    Tensor residual = x;
    if (pool_on_) // AvgPool3d(kernel = stride, stride = stride), no padding, floor mode
      residual = at::avg_pool3d(x, pool_, pool_);
    if (projection_)
      residual = projection_->forward(residual);
    Tensor y = conv2_->forward(conv1_->forward(x));
    if (!residual.is_contiguous())
      residual = residual.contiguous();
    add_act(y, residual, slope_);
    return y;
  }

private:
  std::unique_ptr<ConvNormAct> conv1_, conv2_, projection_;
  std::array<int64_t, 3> pool_{1, 1, 1};
  bool pool_on_ = false;
  float slope_;
};

//! ConvTranspose3d with kernel = stride (no overlap): one GEMM on the coarse grid, then each output
//! voxel (2i+a, 2j+b, 2k+c) takes entry (co, a, b, c) of its coarse voxel (research §3.4) — identical
//! to conv_transpose3d, without its col2vol scatter.
class TransposedConv : public Block {
public:
  TransposedConv(WeightBank& w, const std::string& prefix, int in, int out, const std::array<int, 3>& stride)
      : out_(out) {
    for (int a = 0; a < 3; ++a)
      k_[size_t(a)] = stride[size_t(a)];
    Tensor weight = w.take(prefix + ".weight", {in, out, stride[0], stride[1], stride[2]});
    bias_ = w.take(prefix + ".bias", {out});
    // (Cin, Cout·kd·kh·kw) → GEMM operand (Cout·kd·kh·kw, Cin)
    gemm_weight_ = weight.reshape({in, -1}).t().contiguous();
  }
  Tensor forward(const Tensor& x) override {
    const int64_t cin = x.size(1), d = x.size(2), h = x.size(3), wd = x.size(4);
    const int64_t kd = k_[0], kh = k_[1], kw = k_[2];
    Tensor cols = at::mm(gemm_weight_, x.reshape({cin, d * h * wd})); // (Cout·kd·kh·kw, D·H·W)
    Tensor y = at::empty({1, out_, d * kd, h * kh, wd * kw}, x.options());
    const float* src = cols.data_ptr<float>();
    float* dst = y.data_ptr<float>();
    const float* bias = bias_.data_ptr<float>();
    const int64_t spatial = d * h * wd, oh = h * kh, ow = wd * kw;
    at::parallel_for(0, out_ * d, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t co = r / d, z = r % d;
        for (int64_t a = 0; a < kd; ++a)
          for (int64_t b = 0; b < kh; ++b)
            for (int64_t c = 0; c < kw; ++c) {
              const float* s = src + (((co * kd + a) * kh + b) * kw + c) * spatial + z * h * wd;
              float* o = dst + ((co * d * kd + z * kd + a) * oh) * ow;
              const float bv = bias[co];
              for (int64_t j = 0; j < h; ++j) {
                float* orow = o + (j * kh + b) * ow + c;
                const float* srow = s + j * wd;
                for (int64_t i = 0; i < wd; ++i)
                  orow[i * kw] = srow[i] + bv;
              }
            }
      }
    });
    return y;
  }

private:
  int64_t out_;
  std::array<int64_t, 3> k_{};
  Tensor gemm_weight_, bias_;
};

//! A 1×1×1 convolution with bias (the segmentation head), written straight into the caller's buffer.
class Head {
public:
  Head(WeightBank& w, const std::string& prefix, int in, int classes) {
    weight_ = w.take(prefix + ".weight", {classes, in, 1, 1, 1}).reshape({classes, in});
    bias_ = w.take(prefix + ".bias", {classes});
  }
  void forward(const Tensor& x, float* out) {
    const int64_t classes = weight_.size(0);
    const int64_t spatial = x.numel() / x.size(1);
    Tensor y = at::from_blob(out, {classes, spatial}, at::kFloat);
    at::addmm_out(y, bias_.unsqueeze(1), weight_, x.reshape({x.size(1), spatial}));
  }

private:
  Tensor weight_, bias_;
};

// ----------------------------------------------------------------------------------------------
// U-Net: an encoder producing one skip per stage, and UNetDecoder.

class UNet : public Network {
public:
  UNet(const NetworkSpec& spec) : spec_(spec) {}

  std::unique_ptr<Block> stem;                   //!< ResEnc only (applied before stage 0, no skip)
  std::vector<std::unique_ptr<Block>> stages;    //!< encoder stages, each output is a skip
  std::vector<std::unique_ptr<Block>> upsample;  //!< decoder: deepest first
  std::vector<std::unique_ptr<Block>> decoder;   //!< decoder stages after the concatenation
  std::unique_ptr<Head> head;                    //!< seg_layers[-1]
  int64_t parameters = 0;

  void forward(const float* input, const Shape3& size, float* logits) override {
    c10::InferenceMode guard;
    Tensor x = at::from_blob(const_cast<float*>(input), {1, spec_.in_channels, size[0], size[1], size[2]},
                             at::kFloat);
    if (stem)
      x = stem->forward(x);
    std::vector<Tensor> skips;
    for (auto& s : stages) {
      x = s->forward(x);
      skips.push_back(x);
    }
    Tensor lres = skips.back();
    for (size_t t = 0; t < upsample.size(); ++t) {
      Tensor up = upsample[t]->forward(lres);
      const Tensor& skip = skips[skips.size() - 2 - t];
      lres = decoder[t]->forward(at::cat({up, skip}, 1)); // torch.cat((x, skip), 1): upsampled first
      skips[skips.size() - 1 - t] = Tensor(); // free the deeper skip early
    }
    head->forward(lres, logits);
  }
  int in_channels() const override { return spec_.in_channels; }
  int num_classes() const override { return spec_.num_classes; }
  int64_t parameter_count() const override { return parameters; }

private:
  NetworkSpec spec_;
};

void add_decoder(UNet& net, WeightBank& w, const NetworkSpec& spec) {
  const int n = spec.n_stages;
  for (int s = 1; s < n; ++s) {
    // Decoder step t = s-1 goes from encoder stage n-s to n-s-1.
    const int t = s - 1;
    const int below = spec.features[size_t(n - s)], skip = spec.features[size_t(n - s - 1)];
    net.upsample.push_back(
        std::make_unique<TransposedConv>(w, fmt::format("decoder.transpconvs.{}", t), below, skip,
                                         spec.strides[size_t(n - s)]));
    net.decoder.push_back(stacked_convs(w,
                                        fmt::format("decoder.stages.{}.convs", t),
                                        spec.n_conv_per_stage_decoder[size_t(t)],
                                        2 * skip,
                                        skip,
                                        spec.kernel_sizes[size_t(n - s - 1)],
                                        {1, 1, 1},
                                        spec));
  }
  // All seg layers exist in the checkpoint (deep supervision); inference uses the last one.
  for (int t = 0; t < n - 1; ++t) {
    const int channels = spec.features[size_t(n - t - 2)];
    const std::string prefix = fmt::format("decoder.seg_layers.{}", t);
    if (t == n - 2)
      net.head = std::make_unique<Head>(w, prefix, channels, spec.num_classes);
    else {
      w.take(prefix + ".weight", {spec.num_classes, channels, 1, 1, 1});
      w.take(prefix + ".bias", {spec.num_classes});
    }
  }
  if (n == 1)
    throw InputError("a U-Net with a single stage has no decoder; plans.json is not supported");
}

std::unique_ptr<UNet> build_plain(const NetworkSpec& spec, WeightBank& w) {
  auto net = std::make_unique<UNet>(spec);
  int in = spec.in_channels;
  for (int s = 0; s < spec.n_stages; ++s) {
    // PlainConvEncoder wraps each StackedConvBlocks in nn.Sequential: keys encoder.stages.{s}.0.convs.{c}
    net->stages.push_back(stacked_convs(w,
                                        fmt::format("encoder.stages.{}.0.convs", s),
                                        spec.n_per_stage[size_t(s)],
                                        in,
                                        spec.features[size_t(s)],
                                        spec.kernel_sizes[size_t(s)],
                                        spec.strides[size_t(s)],
                                        spec));
    in = spec.features[size_t(s)];
  }
  add_decoder(*net, w, spec);
  return net;
}

std::unique_ptr<UNet> build_resenc(const NetworkSpec& spec, WeightBank& w) {
  auto net = std::make_unique<UNet>(spec);
  // ResidualEncoder stem: one ConvDropoutNormReLU in → features[0], kernel_sizes[0], stride 1.
  net->stem = stacked_convs(
      w, "encoder.stem.convs", 1, spec.in_channels, spec.features[0], spec.kernel_sizes[0], {1, 1, 1}, spec);
  int in = spec.features[0];
  for (int s = 0; s < spec.n_stages; ++s) {
    auto stage = std::make_unique<Sequence>();
    for (int b = 0; b < spec.n_per_stage[size_t(s)]; ++b) {
      stage->add(std::make_unique<BasicBlockD>(w,
                                               fmt::format("encoder.stages.{}.blocks.{}", s, b),
                                               b == 0 ? in : spec.features[size_t(s)],
                                               spec.features[size_t(s)],
                                               spec.kernel_sizes[size_t(s)],
                                               b == 0 ? spec.strides[size_t(s)] : std::array<int, 3>{1, 1, 1},
                                               spec));
    }
    net->stages.push_back(std::move(stage));
    in = spec.features[size_t(s)];
  }
  add_decoder(*net, w, spec);
  return net;
}

using Builder = std::unique_ptr<UNet> (*)(const NetworkSpec&, WeightBank&);

//! Architectures by NetworkSpec::kind. STU-Net ("STUNet") goes here when its builder exists.
const std::vector<std::pair<std::string, Builder>>& builders() {
  static const std::vector<std::pair<std::string, Builder>> list{{"PlainConvUNet", build_plain},
                                                                 {"ResidualEncoderUNet", build_resenc}};
  return list;
}

} // namespace

std::vector<std::string> supported_networks() {
  std::vector<std::string> names;
  for (const auto& [name, builder] : builders())
    names.push_back(name);
  return names;
}

std::unique_ptr<Network> build_network(const NetworkSpec& spec, WeightMap weights, const std::string& source) {
  int64_t parameters = 0;
  for (const auto& [k, v] : weights)
    parameters += v.numel();
  WeightBank bank(std::move(weights), source);
  for (const auto& [name, builder] : builders())
    if (name == spec.kind) {
      c10::InferenceMode guard;
      auto net = builder(spec, bank);
      bank.finish();
      net->parameters = parameters;
      return net;
    }
  throw InputError(fmt::format("{}: network '{}' is not supported (supported: {})", source, spec.class_name,
                               fmt::join(supported_networks(), ", ")));
}

void set_compute_threads(int threads) {
  if (threads <= 0)
    threads = omp_get_num_procs();
  at::set_num_threads(threads);
  omp_set_num_threads(threads);
}

int compute_threads() { return at::get_num_threads(); }

} // namespace nervemap::segment::detail
