// IEEE binary16 conversions. nnU-Net keeps the sliding-window accumulators and the fold average in
// torch.half even on the CPU (predict_from_raw_data.py, _internal_predict_sliding_window_return_logits),
// and its export resamples into a float16 array (default_resampling.py, resample_data_or_seg with
// dtype_out = data.dtype); reproducing those roundings is what makes the logits match to one ulp.
#include "segment/internal.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <immintrin.h>

namespace nervemap::segment::detail {

uint16_t float_to_half(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) // inf or nan
    return uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  if (abs >= 0x477ff000u) // rounds to ≥ 65520 → inf
    return uint16_t(sign | 0x7c00u);
  if (abs < 0x38800000u) { // below the smallest normal half: subnormal (or zero)
    // value = m · 2^(e-150); half subnormal unit is 2^-24.
    const uint32_t e = abs >> 23;
    if (e < 102) // < 2^-25: rounds to zero (2^-25 exactly is a tie to even → 0)
      return uint16_t(sign);
    const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - e; // 14..24
    uint32_t h = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1u)))
      ++h;
    return uint16_t(sign | h);
  }
  // Normal: rebias the exponent, round the mantissa to 10 bits (nearest even).
  uint32_t h = ((abs >> 13) - (112u << 10));
  const uint32_t rem = abs & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    ++h;
  return uint16_t(sign | h);
}

uint16_t double_to_half(double value) {
  // Direct rounding from double: round the magnitude to a multiple of the half ulp at its binade.
  const uint16_t sign = std::signbit(value) ? 0x8000u : 0u;
  double a = std::fabs(value);
  if (std::isnan(a))
    return uint16_t(sign | 0x7e00u);
  if (a >= 65520.0)
    return uint16_t(sign | 0x7c00u);
  if (a < std::ldexp(1.0, -14)) { // subnormal: units of 2^-24
    double q = std::nearbyint(std::ldexp(a, 24)); // default rounding: to nearest even
    return uint16_t(sign | uint16_t(q));
  }
  int e = 0;
  std::frexp(a, &e); // a = f · 2^e, f in [0.5, 1)
  // half has 11 significant bits: unit = 2^(e-11)
  double q = std::nearbyint(std::ldexp(a, 11 - e)); // in [1024, 2048]
  int exp = e - 1;                                  // a in [2^exp, 2^(exp+1))
  if (q >= 2048.0) {
    q /= 2;
    ++exp;
  }
  if (exp > 15)
    return uint16_t(sign | 0x7c00u);
  return uint16_t(sign | uint16_t((exp + 15) << 10) | (uint16_t(q) - 1024u));
}

float half_to_float(uint16_t bits) {
  const uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  const uint32_t exp = (bits >> 10) & 0x1fu;
  const uint32_t man = bits & 0x3ffu;
  if (exp == 0) {
    if (man == 0)
      return std::bit_cast<float>(sign);
    return std::bit_cast<float>(sign) + (sign ? -1.0f : 1.0f) * std::ldexp(float(man), -24);
  }
  if (exp == 31)
    return std::bit_cast<float>(sign | 0x7f800000u | (man << 13));
  return std::bit_cast<float>(sign | ((exp + 112u) << 23) | (man << 13));
}

namespace {

__attribute__((target("f16c,avx"))) void to_half_f16c(const float* in, uint16_t* out, size_t n) {
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    __m256 v = _mm256_loadu_ps(in + k);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + k), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  for (; k < n; ++k)
    out[k] = float_to_half(in[k]);
}

__attribute__((target("f16c,avx"))) void to_float_f16c(const uint16_t* in, float* out, size_t n) {
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + k));
    _mm256_storeu_ps(out + k, _mm256_cvtph_ps(v));
  }
  for (; k < n; ++k)
    out[k] = half_to_float(in[k]);
}

__attribute__((target("f16c,avx"))) void round_f16c(float* v, size_t n) {
  size_t k = 0;
  for (; k + 8 <= n; k += 8) {
    __m256 x = _mm256_loadu_ps(v + k);
    _mm256_storeu_ps(v + k, _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT)));
  }
  for (; k < n; ++k)
    v[k] = round_to_half(v[k]);
}

bool has_f16c() {
  static const bool yes = __builtin_cpu_supports("f16c") && __builtin_cpu_supports("avx");
  return yes;
}

} // namespace

void floats_to_halves(const float* in, uint16_t* out, size_t n) {
  if (has_f16c())
    return to_half_f16c(in, out, n);
  for (size_t k = 0; k < n; ++k)
    out[k] = float_to_half(in[k]);
}

void round_to_half_inplace(float* values, size_t n) {
  if (has_f16c())
    return round_f16c(values, n);
  for (size_t k = 0; k < n; ++k)
    values[k] = round_to_half(values[k]);
}

void halves_to_floats(const uint16_t* in, float* out, size_t n) {
  if (has_f16c())
    return to_float_f16c(in, out, n);
  for (size_t k = 0; k < n; ++k)
    out[k] = half_to_float(in[k]);
}

} // namespace nervemap::segment::detail
