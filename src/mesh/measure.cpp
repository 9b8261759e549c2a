// Mesh measurements and topology checks.
#include "mesh/mesh.h"

#include <algorithm>
#include <numeric>

namespace nervemap::mesh {
namespace {

uint64_t edge_key(uint32_t a, uint32_t b) {
  return uint64_t(a) << 32 | b;
}

bool indices_valid(const Mesh& mesh) {
  const size_t n = mesh.vertices.size();
  return std::all_of(mesh.triangles.begin(), mesh.triangles.end(), [n](const auto& t) {
    return t[0] < n && t[1] < n && t[2] < n && t[0] != t[1] && t[1] != t[2] && t[0] != t[2];
  });
}

} // namespace

double area_mm2(const Mesh& mesh) {
  double sum = 0;
  for (const auto& t : mesh.triangles) {
    const Vec3 &a = mesh.vertices[t[0]], &b = mesh.vertices[t[1]], &c = mesh.vertices[t[2]];
    sum += 0.5 * (b - a).cross(c - a).norm();
  }
  return sum;
}

double volume_ml(const Mesh& mesh) {
  // Divergence theorem: the signed tetrahedra (origin, a, b, c) add up to the enclosed volume. The
  // vertex centroid as apex keeps the terms small (less cancellation far from the LPS origin).
  Vec3 apex = Vec3::Zero();
  for (const auto& p : mesh.vertices)
    apex += p;
  if (!mesh.vertices.empty())
    apex /= double(mesh.vertices.size());
  double sum_mm3 = 0;
  for (const auto& t : mesh.triangles) {
    const Vec3 a = mesh.vertices[t[0]] - apex, b = mesh.vertices[t[1]] - apex, c = mesh.vertices[t[2]] - apex;
    sum_mm3 += a.dot(b.cross(c)) / 6.0;
  }
  return sum_mm3 / 1000.0;
}

bool is_watertight(const Mesh& mesh) {
  if (mesh.triangles.empty() || !indices_valid(mesh))
    return false;
  // Closed and consistently oriented ⇔ every directed edge occurs once and so does its reverse.
  std::vector<uint64_t> directed;
  directed.reserve(mesh.triangles.size() * 3);
  for (const auto& t : mesh.triangles)
    for (int e = 0; e < 3; ++e)
      directed.push_back(edge_key(t[size_t(e)], t[size_t((e + 1) % 3)]));
  std::sort(directed.begin(), directed.end());
  if (std::adjacent_find(directed.begin(), directed.end()) != directed.end())
    return false;
  return std::all_of(directed.begin(), directed.end(), [&](uint64_t key) {
    return std::binary_search(directed.begin(), directed.end(), edge_key(uint32_t(key), uint32_t(key >> 32)));
  });
}

bool is_manifold(const Mesh& mesh) {
  if (!is_watertight(mesh))
    return false;
  // In a watertight mesh the triangles around a vertex v, (v, a, b) in winding order, give link
  // edges a → b in which each link vertex starts and ends one edge; v is manifold when the link
  // edges form a single cycle (a disc around v rather than two cones touching at v).
  const size_t n = mesh.vertices.size();
  std::vector<uint32_t> start(n + 1, 0);
  for (const auto& t : mesh.triangles)
    for (uint32_t v : t)
      ++start[v + 1];
  for (size_t v = 0; v < n; ++v)
    start[v + 1] += start[v];
  std::vector<std::pair<uint32_t, uint32_t>> link(start[n]);
  std::vector<uint32_t> fill(start.begin(), start.end() - 1);
  for (const auto& t : mesh.triangles)
    for (int c = 0; c < 3; ++c)
      link[fill[t[size_t(c)]]++] = {t[size_t((c + 1) % 3)], t[size_t((c + 2) % 3)]};
  for (size_t v = 0; v < n; ++v) {
    auto first = link.begin() + start[v], last = link.begin() + start[v + 1];
    if (first == last)
      continue; // unused vertex
    std::sort(first, last);
    size_t steps = 0;
    uint32_t at = first->first;
    do {
      auto it = std::lower_bound(first, last, std::make_pair(at, uint32_t(0)));
      if (it == last || it->first != at)
        return false;
      at = it->second;
      ++steps;
    } while (at != first->first && steps <= size_t(last - first));
    if (steps != size_t(last - first))
      return false;
  }
  return true;
}

size_t component_count(const Mesh& mesh) {
  std::vector<uint32_t> parent(mesh.vertices.size());
  std::iota(parent.begin(), parent.end(), 0u);
  auto find = [&](uint32_t x) {
    while (parent[x] != x)
      x = parent[x] = parent[parent[x]];
    return x;
  };
  std::vector<bool> used(mesh.vertices.size(), false);
  for (const auto& t : mesh.triangles) {
    for (uint32_t v : t)
      used[v] = true;
    parent[find(t[1])] = find(t[0]);
    parent[find(t[2])] = find(t[0]);
  }
  size_t count = 0;
  for (uint32_t v = 0; v < parent.size(); ++v)
    count += used[v] && find(v) == v;
  return count;
}

} // namespace nervemap::mesh
