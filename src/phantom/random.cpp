// Deterministic random numbers for the phantom: identical on every platform for a seed.
#include "phantom/internal_blocks.h"

#include <cmath>
#include <numbers>

namespace nervemap::phantom::detail {

double Rng::uniform() {
  // 53 random bits → [0, 1): exact and platform independent (std::uniform_real_distribution is not
  // specified bit for bit).
  return double(engine_() >> 11) * 0x1.0p-53;
}

double Rng::normal(double mean, double sd) {
  // Box–Muller from two uniforms; 1 - u keeps the logarithm finite.
  double u1 = 1.0 - uniform();
  double u2 = uniform();
  double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  return mean + sd * z;
}

double Rng::normal(double mean, double sd, double lo, double hi) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    double v = normal(mean, sd);
    if (v >= lo && v <= hi)
      return v;
  }
  return std::clamp(mean, lo, hi);
}

Vec3 Rng::unit_vector() {
  double z = uniform(-1.0, 1.0);
  double phi = uniform(0.0, 2.0 * std::numbers::pi);
  double r = std::sqrt(std::max(0.0, 1.0 - z * z));
  return {r * std::cos(phi), r * std::sin(phi), z};
}

namespace {
uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
} // namespace

double hashed_normal(uint64_t seed, uint64_t counter) {
  uint64_t a = splitmix64(seed * 0x632be59bd9b4e019ull ^ splitmix64(counter));
  uint64_t b = splitmix64(a);
  double u1 = 1.0 - double(a >> 11) * 0x1.0p-53;
  double u2 = double(b >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

} // namespace nervemap::phantom::detail
