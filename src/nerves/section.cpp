// Planar geometry on axial cross-sections: surface points, positions across a structure, grooves.
#include "nerves/internal.h"

#include <cmath>
#include <limits>

namespace nervemap::nerves::detail {

Vec2 Section::extreme(const Vec2& dir) const {
  double best = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i)
      if (at(i, j))
        best = std::max(best, cell_centre(i, j).dot(dir));
  Vec2 sum = Vec2::Zero();
  int n = 0;
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i)
      if (at(i, j) && cell_centre(i, j).dot(dir) >= best - 0.5 * h) {
        sum += cell_centre(i, j);
        ++n;
      }
  // The surface lies half a cell beyond the outermost cell centres.
  return sum / std::max(n, 1) + dir * (0.5 * h);
}

Section Section::half(const std::string& side, double midline_x) const {
  Section out = *this;
  const double sign = side == "right" ? -1.0 : 1.0;
  out.count = 0;
  Vec2 sum = Vec2::Zero();
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i) {
      auto& cell = out.inside[size_t(i + nx * j)];
      if (cell && sign * (cell_centre(i, j).x() - midline_x) <= 0)
        cell = 0;
      if (cell) {
        ++out.count;
        sum += cell_centre(i, j);
      }
    }
  out.centroid = out.count ? Vec2(sum / double(out.count)) : Vec2::Zero();
  return out;
}

std::pair<double, double> Section::extent(const Vec2& dir) const {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i)
      if (at(i, j)) {
        double p = cell_centre(i, j).dot(dir);
        lo = std::min(lo, p);
        hi = std::max(hi, p);
      }
  return {lo - 0.5 * h, hi + 0.5 * h};
}

Vec2 Section::extreme_at(const Vec2& dir, const Vec2& across, double u) const {
  // The column of cells nearest to position u across the structure, then its outermost cell on dir.
  double nearest = std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i)
      if (at(i, j))
        nearest = std::min(nearest, std::abs(cell_centre(i, j).dot(across) - u));
  double best = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i)
      if (at(i, j) && std::abs(cell_centre(i, j).dot(across) - u) <= nearest + 0.5 * h)
        best = std::max(best, cell_centre(i, j).dot(dir));
  // Position across is kept exactly; the surface coordinate comes from the column.
  return across * u + dir * (best + 0.5 * h);
}

std::vector<double> squared_distance_transform(const std::vector<uint8_t>& set, int64_t nx, int64_t ny) {
  const double inf = 1e20;
  std::vector<double> d(set.size());
  for (size_t o = 0; o < set.size(); ++o)
    d[o] = set[o] ? 0.0 : inf;
  // 1-D lower envelope of parabolas (Felzenszwalb & Huttenlocher, Theory of Computing 8:415, 2012).
  auto pass = [&](int64_t n, auto&& get, auto&& put) {
    std::vector<double> f(static_cast<size_t>(n)), z(static_cast<size_t>(n) + 1);
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t q = 0; q < n; ++q)
      f[size_t(q)] = get(q);
    int64_t k = 0;
    v[0] = 0;
    z[0] = -inf;
    z[1] = inf;
    auto intersection = [&](int64_t q, int64_t p) {
      return ((f[size_t(q)] + double(q * q)) - (f[size_t(p)] + double(p * p))) / double(2 * q - 2 * p);
    };
    for (int64_t q = 1; q < n; ++q) {
      double s = intersection(q, v[size_t(k)]);
      while (s <= z[size_t(k)]) {
        --k;
        s = intersection(q, v[size_t(k)]);
      }
      ++k;
      v[size_t(k)] = q;
      z[size_t(k)] = s;
      z[size_t(k) + 1] = inf;
    }
    k = 0;
    for (int64_t q = 0; q < n; ++q) {
      while (z[size_t(k) + 1] < double(q))
        ++k;
      const int64_t p = v[size_t(k)];
      put(q, double((q - p) * (q - p)) + f[size_t(p)]);
    }
  };
  for (int64_t j = 0; j < ny; ++j)
    pass(
        nx,
        [&](int64_t i) { return d[size_t(i + nx * j)]; },
        [&](int64_t i, double val) { d[size_t(i + nx * j)] = val; });
  for (int64_t i = 0; i < nx; ++i)
    pass(
        ny,
        [&](int64_t j) { return d[size_t(i + nx * j)]; },
        [&](int64_t j, double val) { d[size_t(i + nx * j)] = val; });
  return d;
}

std::optional<Vec2>
groove_point(const Section& a, const Section& b, const std::string& side, double tolerance_mm) {
  if (a.empty() || b.empty())
    return std::nullopt;
  // Both sections lie on the same lattice; work on their union box with a margin.
  const double h = a.h;
  const int64_t margin = int64_t(std::ceil(8.0 / h));
  const int64_t i0 = std::min(a.i0, b.i0) - margin, j0 = std::min(a.j0, b.j0) - margin;
  const int64_t nx = std::max(a.i0 + a.nx, b.i0 + b.nx) + margin - i0;
  const int64_t ny = std::max(a.j0 + a.ny, b.j0 + b.ny) + margin - j0;
  std::vector<uint8_t> in_a(size_t(nx * ny), 0), in_b(size_t(nx * ny), 0);
  auto paint = [&](const Section& s, std::vector<uint8_t>& into) {
    for (int64_t j = 0; j < s.ny; ++j)
      for (int64_t i = 0; i < s.nx; ++i)
        if (s.at(i, j))
          into[size_t((s.i0 + i - i0) + nx * (s.j0 + j - j0))] = 1;
  };
  paint(a, in_a);
  paint(b, in_b);
  const auto sq_a = squared_distance_transform(in_a, nx, ny), sq_b = squared_distance_transform(in_b, nx, ny);
  // Distance from a cell centre to the structure's surface: to the nearest inside cell centre, less the
  // half cell between that centre and the surface.
  std::vector<double> da(sq_a.size()), db(sq_b.size());
  for (size_t o = 0; o < da.size(); ++o) {
    da[o] = std::max(0.0, (std::sqrt(sq_a[o]) - 0.5) * h);
    db[o] = std::max(0.0, (std::sqrt(sq_b[o]) - 0.5) * h);
  }
  // The closest approach of the two walls sets how wide the gap band is.
  double closest = std::numeric_limits<double>::infinity();
  for (size_t o = 0; o < da.size(); ++o)
    if (!in_a[o] && !in_b[o])
      closest = std::min(closest, da[o] + db[o]);
  if (!std::isfinite(closest))
    return std::nullopt;
  const double band = 0.5 * closest + tolerance_mm;
  const double lateral = side == "right" ? -1.0 : 1.0;
  double best = -std::numeric_limits<double>::infinity();
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i) {
      const size_t o = size_t(i + nx * j);
      if (in_a[o] || in_b[o] || da[o] > band || db[o] > band)
        continue;
      best = std::max(best, lateral * (a.lattice_origin.x() + double(i0 + i) * h));
    }
  if (!std::isfinite(best))
    return std::nullopt;
  // The groove point: the mean of the band cells at the lateral end.
  Vec2 sum = Vec2::Zero();
  int n = 0;
  for (int64_t j = 0; j < ny; ++j)
    for (int64_t i = 0; i < nx; ++i) {
      const size_t o = size_t(i + nx * j);
      if (in_a[o] || in_b[o] || da[o] > band || db[o] > band)
        continue;
      const Vec2 c = a.lattice_origin + Vec2(double(i0 + i) * h, double(j0 + j) * h);
      if (lateral * c.x() >= best - h) {
        sum += c;
        ++n;
      }
    }
  return sum / double(n);
}

} // namespace nervemap::nerves::detail
