// Taubin λ|μ smoothing: G. Taubin, "A signal processing approach to fair surface design",
// SIGGRAPH '95. Plain Laplacian smoothing (one step x ← x + λ Δx, repeated) is a low-pass filter that
// also shrinks every closed surface towards its centroid: a small structure loses a large share of
// its volume. Alternating a shrinking step (λ > 0) with an inflating one (μ < −λ) gives a filter with
// a pass band k_PB = 1/λ + 1/μ: low surface frequencies (the shape) pass unchanged, high ones (the
// voxel staircase left after marching cubes) are damped, so volume and area stay close to the
// object's. The uniform ("umbrella") Laplacian, the mean of the neighbours minus the vertex, is the
// one of the paper's experiments; it also evens out the sliver triangles marching cubes makes.
#include "mesh/mesh.h"

#include <algorithm>

namespace nervemap::mesh {
namespace {

//! Vertex neighbours (sharing an edge) in compressed rows.
struct Neighbours {
  std::vector<uint32_t> start; // size vertices + 1
  std::vector<uint32_t> index;
};

Neighbours vertex_neighbours(const Mesh& mesh) {
  const size_t n = mesh.vertices.size();
  std::vector<uint64_t> pairs;
  pairs.reserve(mesh.triangles.size() * 6);
  for (const auto& t : mesh.triangles)
    for (int e = 0; e < 3; ++e) {
      const uint64_t a = t[size_t(e)], b = t[size_t((e + 1) % 3)];
      pairs.push_back(a << 32 | b);
      pairs.push_back(b << 32 | a);
    }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  Neighbours nb;
  nb.start.assign(n + 1, 0);
  nb.index.resize(pairs.size());
  for (size_t p = 0; p < pairs.size(); ++p) {
    ++nb.start[size_t(pairs[p] >> 32) + 1];
    nb.index[p] = uint32_t(pairs[p] & 0xffffffffu);
  }
  for (size_t v = 0; v < n; ++v)
    nb.start[v + 1] += nb.start[v];
  return nb;
}

void laplacian_step(const Neighbours& nb,
                    const std::vector<Vec3>& in,
                    std::vector<Vec3>& out,
                    double factor) {
  const auto n = int64_t(in.size());
#pragma omp parallel for schedule(static) if (n > 20000)
  for (int64_t v = 0; v < n; ++v) {
    const uint32_t b = nb.start[size_t(v)], e = nb.start[size_t(v) + 1];
    if (b == e) {
      out[size_t(v)] = in[size_t(v)];
      continue;
    }
    Vec3 mean = Vec3::Zero();
    for (uint32_t k = b; k < e; ++k)
      mean += in[nb.index[k]];
    mean /= double(e - b);
    out[size_t(v)] = in[size_t(v)] + factor * (mean - in[size_t(v)]);
  }
}

} // namespace

void taubin_smooth(Mesh& mesh, int iterations, double lambda, double mu) {
  if (iterations <= 0 || mesh.triangles.empty())
    return;
  const Neighbours nb = vertex_neighbours(mesh);
  std::vector<Vec3> scratch(mesh.vertices.size());
  for (int it = 0; it < iterations; ++it) {
    laplacian_step(nb, mesh.vertices, scratch, lambda);
    laplacian_step(nb, scratch, mesh.vertices, mu);
  }
}

} // namespace nervemap::mesh
