// Centrelines of the neck model's tubes: Catmull–Rom splines through control nodes, resampling,
// the node at a height.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

//! Catmull–Rom spline through control nodes (centres; radii and width directions interpolated
//! linearly), sampled about every `step` mm.
std::vector<TubeNode> spline(const std::vector<TubeNode>& c, double step) {
  if (c.size() < 2)
    return c;
  std::vector<TubeNode> out;
  for (size_t i = 0; i + 1 < c.size(); ++i) {
    const Vec3& p0 = c[i == 0 ? 0 : i - 1].centre;
    const Vec3& p1 = c[i].centre;
    const Vec3& p2 = c[i + 1].centre;
    const Vec3& p3 = c[std::min(i + 2, c.size() - 1)].centre;
    int n = std::max(1, int(std::ceil((p2 - p1).norm() / step)));
    for (int k = 0; k < n; ++k) {
      double t = double(k) / n, t2 = t * t, t3 = t2 * t;
      Vec3 p = 0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 +
                      (-p0 + 3 * p1 - 3 * p2 + p3) * t3);
      TubeNode node;
      node.centre = p;
      node.a = c[i].a + (c[i + 1].a - c[i].a) * t;
      node.b = c[i].b + (c[i + 1].b - c[i].b) * t;
      node.width_dir = (c[i].width_dir * (1 - t) + c[i + 1].width_dir * t);
      if (node.width_dir.norm() < 1e-9)
        node.width_dir = c[i].width_dir;
      out.push_back(node);
    }
  }
  out.push_back(c.back());
  return out;
}

std::vector<Vec3> centres(const std::vector<TubeNode>& nodes) {
  std::vector<Vec3> out;
  for (const auto& n : nodes)
    out.push_back(n.centre);
  return out;
}

//! Resample a polyline at `step` mm.
std::vector<Vec3> resample(const std::vector<Vec3>& line, double step) {
  std::vector<Vec3> out;
  if (line.empty())
    return out;
  out.push_back(line.front());
  double carry = 0;
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    Vec3 d = line[i + 1] - line[i];
    double len = d.norm();
    double s = step - carry;
    while (s <= len) {
      out.push_back(line[i] + d * (s / len));
      s += step;
    }
    carry = len - (s - step);
  }
  if ((out.back() - line.back()).norm() > 1e-6)
    out.push_back(line.back());
  return out;
}

//! Node of a z-monotonic tube at height z (linear between nodes); nullopt outside its z range.
std::optional<TubeNode> node_at_z(const std::vector<TubeNode>& nodes, double z) {
  for (size_t i = 0; i + 1 < nodes.size(); ++i) {
    double z0 = nodes[i].centre.z(), z1 = nodes[i + 1].centre.z();
    if ((z >= std::min(z0, z1)) && (z <= std::max(z0, z1)) && z0 != z1) {
      double f = (z - z0) / (z1 - z0);
      TubeNode n;
      n.centre = nodes[i].centre + f * (nodes[i + 1].centre - nodes[i].centre);
      n.a = nodes[i].a + f * (nodes[i + 1].a - nodes[i].a);
      n.b = nodes[i].b + f * (nodes[i + 1].b - nodes[i].b);
      n.width_dir = nodes[i].width_dir;
      return n;
    }
  }
  return std::nullopt;
}

} // namespace nervemap::phantom::detail
