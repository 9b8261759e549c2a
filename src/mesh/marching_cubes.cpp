// Marching cubes on a lightly blurred label indicator, one label at a time on its bounding box.
//
// Marching cubes: W. E. Lorensen, H. E. Cline, "Marching cubes: a high resolution 3D surface
// construction algorithm", SIGGRAPH '87. The classic algorithm looks the triangles of each of the 256
// corner patterns up in a hand-made table whose ambiguous cases can leave cracks between cubes. Here
// the table is derived at start-up from the cube's faces instead:
//   - on each face, the iso-contour is one or two segments between crossed edges, directed so that
//     the inside lies on their left seen from outside the cube; a face with four crossings (a saddle)
//     is resolved by the asymptotic decider (G. M. Nielson, B. Hamann, "The asymptotic decider:
//     resolving the ambiguity in marching cubes", IEEE Visualization '91), which depends on the face's
//     four values only, so the two cubes sharing a face always agree;
//   - the segments chain into closed loops on the cube's surface (every crossing ends one segment and
//     starts the next) and each loop is capped by a fan of triangles, or, when a fan diagonal would
//     join two crossings of one face (it could then be repeated by the neighbouring cube), by a fan
//     around an extra vertex at the loop's centroid.
// Every mesh edge on a cube face is then shared by exactly the two cubes beside it and every vertex
// sits on one grid edge shared by all cubes around it: the surface is closed and manifold by
// construction, which a lookup table only promises. Vertices are cached per grid edge in two rolling
// slices, so each crossing becomes exactly one vertex.
#include "mesh/mesh.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace nervemap::mesh {
namespace {

// ---- the cube --------------------------------------------------------------------------------------
// Corner c has offsets (c & 1, (c >> 1) & 1, (c >> 2) & 1). Edges 0–3 run along i (id dy + 2 dz),
// 4–7 along j (id 4 + dx + 2 dz), 8–11 along k (id 8 + dx + 2 dy).

constexpr int corner_offset(int corner, int axis) {
  return (corner >> axis) & 1;
}

// Of the two axes other than `axis`, the lower and the higher one: they number the edges of an axis.
constexpr int lower_other_axis(int axis) {
  return axis == 0 ? 1 : 0;
}
constexpr int higher_other_axis(int axis) {
  return axis == 2 ? 1 : 2;
}

int edge_between(int a, int b) {
  const int diff = a ^ b; // exactly one bit set
  const int axis = diff == 1 ? 0 : diff == 2 ? 1 : 2;
  const int lo = std::min(a, b);
  return 4 * axis + corner_offset(lo, lower_other_axis(axis)) +
         2 * corner_offset(lo, higher_other_axis(axis));
}

struct EdgeEnds {
  int a, b; // corners, a has the lower offset along the edge axis
};

EdgeEnds edge_ends(int edge) {
  const int axis = edge / 4, id = edge % 4;
  const int a = ((id & 1) << lower_other_axis(axis)) | ((id >> 1) << higher_other_axis(axis));
  return {a, a | (1 << axis)};
}

//! The four corners of face f (axis f / 2, side f % 2) counter-clockwise seen from outside.
std::array<int, 4> face_corners(int face) {
  const int axis = face / 2, side = face % 2;
  const int u = (axis + 1) % 3, v = (axis + 2) % 3; // u × v = +axis (cyclic order)
  const int base = side << axis;
  std::array<int, 4> q{base, base | (1 << u), base | (1 << u) | (1 << v), base | (1 << v)};
  if (side == 0) // seen from the −axis side the same order is clockwise
    std::swap(q[1], q[3]);
  return q;
}

constexpr int kCentroid = 12; // vertex refs 12 + n denote the centroid of centroid loop n
constexpr int kMaxTriangles = 12;

//! Triangulation of one cube configuration, in cube-local vertex references.
struct CubeCase {
  uint8_t triangle_count = 0;
  std::array<std::array<uint8_t, 3>, kMaxTriangles> triangles{};
  uint8_t centroid_count = 0;
  std::array<uint8_t, 4> centroid_loop_size{};
  std::array<uint8_t, 12> centroid_loop_edges{}; // the centroid loops' edges, one after the other
};

//! Triangulate corner pattern `inside` (bit c = corner c inside) with the saddle faces in
//! `joined_faces` joining their two inside corners. Triangles are wound outward.
CubeCase build_case(int inside, int joined_faces) {
  std::array<int, 12> next;
  next.fill(-1);
  std::array<int, 12> face_of_edge_a, face_of_edge_b; // the two faces containing each edge
  face_of_edge_a.fill(-1);
  face_of_edge_b.fill(-1);
  for (int f = 0; f < 6; ++f) {
    const auto q = face_corners(f);
    std::array<int, 4> edges;
    std::array<bool, 4> in;
    for (int k = 0; k < 4; ++k) {
      edges[size_t(k)] = edge_between(q[size_t(k)], q[size_t((k + 1) % 4)]);
      in[size_t(k)] = (inside >> q[size_t(k)]) & 1;
      auto& slot = face_of_edge_a[size_t(edges[size_t(k)])] < 0 ? face_of_edge_a : face_of_edge_b;
      slot[size_t(edges[size_t(k)])] = f;
    }
    // Walking the face counter-clockwise, an exit leaves the inside, an entry comes back. The contour
    // runs from each exit to an entry, the inside on its left.
    std::vector<int> exits, entries;
    for (int k = 0; k < 4; ++k) {
      const bool a = in[size_t(k)], b = in[size_t((k + 1) % 4)];
      if (a && !b)
        exits.push_back(k);
      else if (!a && b)
        entries.push_back(k);
    }
    if (exits.size() == 1) {
      next[size_t(edges[size_t(exits[0])])] = edges[size_t(entries[0])];
    } else if (exits.size() == 2) {
      // Saddle: separated inside corners cut off each inside corner (exit k → entry k − 1); joined
      // ones cut off each outside corner (exit k → entry k + 1).
      const int step = ((joined_faces >> f) & 1) ? 1 : 3;
      for (int k : exits)
        next[size_t(edges[size_t(k)])] = edges[size_t((k + step) % 4)];
    }
  }

  auto share_face = [&](int e1, int e2) {
    return face_of_edge_a[size_t(e1)] == face_of_edge_a[size_t(e2)] ||
           face_of_edge_a[size_t(e1)] == face_of_edge_b[size_t(e2)] ||
           face_of_edge_b[size_t(e1)] == face_of_edge_a[size_t(e2)] ||
           face_of_edge_b[size_t(e1)] == face_of_edge_b[size_t(e2)];
  };

  CubeCase result;
  std::array<bool, 12> done{};
  size_t centroid_edges_used = 0;
  for (int start = 0; start < 12; ++start) {
    if (next[size_t(start)] < 0 || done[size_t(start)])
      continue;
    std::vector<int> loop;
    for (int e = start; !done[size_t(e)]; e = next[size_t(e)]) {
      done[size_t(e)] = true;
      loop.push_back(e);
    }
    const int n = int(loop.size());
    auto at = [&](int idx) { return uint8_t(loop[size_t(((idx % n) + n) % n)]); };
    // The loop runs with the inside on its left seen from outside the cube, which winds its cap
    // around a normal pointing into the inside: emit every triangle in reverse order.
    int apex = -1;
    for (int a = 0; a < n && apex < 0; ++a) {
      bool safe = true;
      for (int d = 2; d <= n - 2 && safe; ++d)
        safe = !share_face(at(a), at(a + d));
      if (safe)
        apex = a;
    }
    if (apex >= 0) {
      for (int d = 1; d + 1 < n; ++d)
        result.triangles[result.triangle_count++] = {at(apex), at(apex + d + 1), at(apex + d)};
    } else {
      const auto centre = uint8_t(kCentroid + result.centroid_count);
      result.centroid_loop_size[result.centroid_count++] = uint8_t(n);
      for (int d = 0; d < n; ++d) {
        result.centroid_loop_edges[centroid_edges_used++] = at(d);
        result.triangles[result.triangle_count++] = {centre, at(d + 1), at(d)};
      }
    }
  }
  return result;
}

//! All corner patterns × saddle decisions (index inside · 64 + joined faces), built once.
struct CaseTable {
  std::vector<CubeCase> cases;
  std::array<uint8_t, 256> saddle_faces{}; // faces with four crossings, per corner pattern
  std::array<std::array<int, 4>, 6> faces;

  CaseTable() : cases(256 * 64) {
    for (int f = 0; f < 6; ++f)
      faces[size_t(f)] = face_corners(f);
    for (int inside = 0; inside < 256; ++inside) {
      for (int f = 0; f < 6; ++f) {
        const auto& q = faces[size_t(f)];
        const int b0 = (inside >> q[0]) & 1, b1 = (inside >> q[1]) & 1, b2 = (inside >> q[2]) & 1,
                  b3 = (inside >> q[3]) & 1;
        if (b0 == b2 && b1 == b3 && b0 != b1)
          saddle_faces[size_t(inside)] |= uint8_t(1 << f);
      }
      for (int joined = 0; joined < 64; ++joined)
        if ((joined & ~saddle_faces[size_t(inside)]) == 0)
          cases[size_t(inside * 64 + joined)] = build_case(inside, joined);
    }
  }
  static const CaseTable& get() {
    static const CaseTable table;
    return table;
  }
};

// ---- the field -------------------------------------------------------------------------------------

//! Scalar samples on a box of voxel centres starting at volume index `first`.
struct Field {
  Index3 first{0, 0, 0};
  Index3 dims{0, 0, 0};
  std::vector<float> values;

  size_t offset(int64_t i, int64_t j, int64_t k) const { return size_t(i + dims[0] * (j + dims[1] * k)); }
};

//! Inclusive voxel index box; empty while lo > hi.
struct Box {
  Index3 lo{std::numeric_limits<int64_t>::max(),
            std::numeric_limits<int64_t>::max(),
            std::numeric_limits<int64_t>::max()};
  Index3 hi{-1, -1, -1};
  bool empty() const { return lo[0] > hi[0]; }
  void add(const Box& other) {
    for (size_t a = 0; a < 3; ++a) {
      lo[a] = std::min(lo[a], other.lo[a]);
      hi[a] = std::max(hi[a], other.hi[a]);
    }
  }
};

//! Bounding boxes of every label value in one pass (rows first, then their j and k).
std::array<Box, 256> label_boxes(const MaskVolume& labels) {
  const auto& d = labels.geometry.dims;
  std::array<Box, 256> boxes;
#pragma omp parallel
  {
    std::array<Box, 256> local;
    std::array<int64_t, 256> row_lo, row_hi;
    row_lo.fill(-1);
    std::vector<uint8_t> seen; // values met in the current row
#pragma omp for schedule(static)
    for (int64_t k = 0; k < d[2]; ++k)
      for (int64_t j = 0; j < d[1]; ++j) {
        const uint8_t* row = &labels.data[labels.offset(0, j, k)];
        for (int64_t i = 0; i < d[0]; ++i) {
          const uint8_t v = row[i];
          if (v == 0)
            continue;
          if (row_lo[v] < 0) {
            seen.push_back(v);
            row_lo[v] = i;
          }
          row_hi[v] = i;
        }
        for (uint8_t v : seen) {
          local[v].add(Box{{row_lo[v], j, k}, {row_hi[v], j, k}});
          row_lo[v] = -1;
        }
        seen.clear();
      }
#pragma omp critical
    for (size_t v = 0; v < 256; ++v)
      if (!local[v].empty())
        boxes[v].add(local[v]);
  }
  return boxes;
}

//! 1-D Gaussian weights for σ in samples, truncated at 3σ and normalised.
std::vector<float> gaussian_kernel(double sigma) {
  if (!(sigma > 0))
    return {1.0f};
  const int radius = int(std::ceil(3 * sigma));
  std::vector<float> w(size_t(2 * radius + 1));
  double sum = 0;
  for (int x = -radius; x <= radius; ++x)
    sum += w[size_t(x + radius)] = float(std::exp(-0.5 * x * x / (sigma * sigma)));
  for (auto& x : w)
    x = float(x / sum);
  return w;
}

//! In-place separable convolution along `axis` (values beyond the box count as 0).
void convolve_axis(Field& f, const std::vector<float>& kernel, int axis) {
  const int radius = int(kernel.size() / 2);
  if (radius == 0)
    return;
  const int64_t n = f.dims[size_t(axis)];
  const int64_t stride = axis == 0 ? 1 : axis == 1 ? f.dims[0] : f.dims[0] * f.dims[1];
  const int64_t lines = f.dims[0] * f.dims[1] * f.dims[2] / n;
  std::vector<float> line(static_cast<size_t>(n)), out(static_cast<size_t>(n));
  for (int64_t l = 0; l < lines; ++l) {
    // line start: enumerate the two other axes
    int64_t base;
    if (axis == 0)
      base = l * n;
    else if (axis == 1)
      base = (l % f.dims[0]) + (l / f.dims[0]) * f.dims[0] * f.dims[1];
    else
      base = l;
    bool any = false;
    for (int64_t x = 0; x < n; ++x) {
      line[size_t(x)] = f.values[size_t(base + x * stride)];
      any = any || line[size_t(x)] != 0;
    }
    if (!any)
      continue;
    for (int64_t x = 0; x < n; ++x) {
      float s = 0;
      const int64_t t0 = std::max<int64_t>(-radius, -x), t1 = std::min<int64_t>(radius, n - 1 - x);
      for (int64_t t = t0; t <= t1; ++t)
        s += kernel[size_t(t + radius)] * line[size_t(x + t)];
      out[size_t(x)] = s;
    }
    for (int64_t x = 0; x < n; ++x)
      f.values[size_t(base + x * stride)] = out[size_t(x)];
  }
}

//! The blurred indicator of `label` on its box padded so that the field is 0 on the border samples.
Field label_field(const MaskVolume& labels, int label, const Box& box, double sigma_voxels) {
  const auto kernel = gaussian_kernel(sigma_voxels);
  const int64_t pad = 1 + int64_t(kernel.size() / 2);
  Field f;
  for (size_t a = 0; a < 3; ++a) {
    f.first[a] = box.lo[a] - pad;
    f.dims[a] = box.hi[a] - box.lo[a] + 1 + 2 * pad;
  }
  f.values.assign(size_t(f.dims[0] * f.dims[1] * f.dims[2]), 0.0f);
  const auto value = uint8_t(label);
  for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k)
    for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j) {
      const uint8_t* row = &labels.data[labels.offset(0, j, k)];
      float* out = &f.values[f.offset(box.lo[0] - f.first[0], j - f.first[1], k - f.first[2])];
      for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
        out[i - box.lo[0]] = row[i] == value ? 1.0f : 0.0f;
    }
  for (int axis = 0; axis < 3; ++axis)
    convolve_axis(f, kernel, axis);
  return f;
}

// ---- marching ----------------------------------------------------------------------------------------

//! Iso-surface of `field` at `iso` (inside: value > iso), vertices in continuous volume indices.
Mesh march(const Field& field, float iso) {
  const auto& table = CaseTable::get();
  const int64_t nx = field.dims[0], ny = field.dims[1], nz = field.dims[2];
  Mesh mesh;
  if (nx < 2 || ny < 2 || nz < 2)
    return mesh;
  const size_t plane = size_t(nx * ny);
  // Vertex of each crossed grid edge: i-edges and j-edges of the cube layer's two slices (by k
  // parity), k-edges of the layer.
  std::array<std::vector<int32_t>, 2> edge_i{std::vector<int32_t>(plane, -1),
                                             std::vector<int32_t>(plane, -1)};
  std::array<std::vector<int32_t>, 2> edge_j{std::vector<int32_t>(plane, -1),
                                             std::vector<int32_t>(plane, -1)};
  std::vector<int32_t> edge_k(plane, -1);
  const Vec3 first(double(field.first[0]), double(field.first[1]), double(field.first[2]));

  std::array<size_t, 8> corner_step;
  for (int c = 0; c < 8; ++c)
    corner_step[size_t(c)] = size_t(corner_offset(c, 0)) + size_t(nx) * size_t(corner_offset(c, 1)) +
                             plane * size_t(corner_offset(c, 2));
  std::array<EdgeEnds, 12> ends;
  for (int e = 0; e < 12; ++e)
    ends[size_t(e)] = edge_ends(e);

  for (int64_t k = 0; k + 1 < nz; ++k) {
    std::fill(edge_i[size_t((k + 1) & 1)].begin(), edge_i[size_t((k + 1) & 1)].end(), -1);
    std::fill(edge_j[size_t((k + 1) & 1)].begin(), edge_j[size_t((k + 1) & 1)].end(), -1);
    std::fill(edge_k.begin(), edge_k.end(), -1);
    for (int64_t j = 0; j + 1 < ny; ++j) {
      const size_t row = field.offset(0, j, k);
      for (int64_t i = 0; i + 1 < nx; ++i) {
        const float* base = &field.values[row + size_t(i)];
        std::array<float, 8> v;
        int inside = 0;
        for (int c = 0; c < 8; ++c) {
          v[size_t(c)] = base[corner_step[size_t(c)]] - iso;
          inside |= int(v[size_t(c)] > 0) << c;
        }
        if (inside == 0 || inside == 255)
          continue;
        int joined = 0;
        if (const int saddles = table.saddle_faces[size_t(inside)]; saddles != 0)
          for (int f = 0; f < 6; ++f)
            if ((saddles >> f) & 1) {
              // Asymptotic decider: the inside corners join through the face centre when the
              // bilinear saddle is inside, i.e. when the product of the inside diagonal's values
              // exceeds the outside diagonal's.
              const auto& q = table.faces[size_t(f)];
              const float d02 = v[size_t(q[0])] * v[size_t(q[2])], d13 = v[size_t(q[1])] * v[size_t(q[3])];
              const bool q0_inside = v[size_t(q[0])] > 0;
              if (q0_inside ? d02 > d13 : d13 > d02)
                joined |= 1 << f;
            }
        const CubeCase& cc = table.cases[size_t(inside * 64 + joined)];

        std::array<uint32_t, 12 + 4> ref;
        auto vertex_of_edge = [&](int e) -> uint32_t {
          const int axis = e / 4;
          const EdgeEnds& en = ends[size_t(e)];
          const int64_t di = corner_offset(en.a, 0), dj = corner_offset(en.a, 1), dk = corner_offset(en.a, 2);
          const size_t slot = size_t((i + di) + nx * (j + dj));
          int32_t& cached = axis == 0   ? edge_i[size_t((k + dk) & 1)][slot]
                            : axis == 1 ? edge_j[size_t((k + dk) & 1)][slot]
                                        : edge_k[slot];
          if (cached < 0) {
            const float va = v[size_t(en.a)], vb = v[size_t(en.b)];
            // Clamped away from the corners so that no two crossings share a position.
            const double t = std::clamp(double(va / (va - vb)), 1e-3, 1 - 1e-3);
            Vec3 p = first + Vec3(double(i + di), double(j + dj), double(k + dk));
            p[axis] += t;
            cached = int32_t(mesh.vertices.size());
            mesh.vertices.push_back(p);
          }
          return uint32_t(cached);
        };
        std::array<bool, 12> needed{};
        for (int t = 0; t < cc.triangle_count; ++t)
          for (uint8_t r : cc.triangles[size_t(t)])
            if (r < kCentroid)
              needed[r] = true;
        for (int e = 0; e < 12; ++e)
          if (needed[size_t(e)])
            ref[size_t(e)] = vertex_of_edge(e);
        size_t used = 0;
        for (int c = 0; c < cc.centroid_count; ++c) {
          Vec3 centre = Vec3::Zero();
          const int n = cc.centroid_loop_size[size_t(c)];
          for (int m = 0; m < n; ++m)
            centre += mesh.vertices[ref[cc.centroid_loop_edges[used + size_t(m)]]];
          used += size_t(n);
          ref[size_t(kCentroid + c)] = uint32_t(mesh.vertices.size());
          mesh.vertices.push_back(centre / double(n));
        }
        for (int t = 0; t < cc.triangle_count; ++t) {
          const auto& tri = cc.triangles[size_t(t)];
          mesh.triangles.push_back({ref[tri[0]], ref[tri[1]], ref[tri[2]]});
        }
      }
    }
  }
  return mesh;
}

//! Continuous volume indices → LPS mm, keeping the triangles outward in LPS.
void to_lps(Mesh& mesh, const Geometry& g) {
  const Mat3 m = g.direction * g.spacing.asDiagonal();
  for (auto& p : mesh.vertices)
    p = g.origin + m * p;
  // A left-handed voxel frame mirrors space: outward in index space winds inward in LPS.
  if (m.determinant() < 0)
    for (auto& t : mesh.triangles)
      std::swap(t[1], t[2]);
}

//! Blocks of b voxels per axis averaged into one sample (the indicator's box filter), then blurred on the
//! coarse grid; `first` is left at 0 (the caller maps coarse indices back to volume indices).
Field coarse_label_field(
    const MaskVolume& labels, int label, const Box& box, const Index3& b, double sigma_voxels) {
  const auto kernel = gaussian_kernel(sigma_voxels);
  const int64_t pad = 1 + int64_t(kernel.size() / 2);
  Field f;
  Index3 blocks;
  for (size_t a = 0; a < 3; ++a) {
    blocks[a] = (box.hi[a] - box.lo[a] + b[a]) / b[a];
    f.dims[a] = blocks[a] + 2 * pad;
  }
  f.values.assign(size_t(f.dims[0] * f.dims[1] * f.dims[2]), 0.0f);
  const auto value = uint8_t(label);
  const float weight = 1.0f / float(b[0] * b[1] * b[2]);
  for (int64_t k = box.lo[2]; k <= box.hi[2]; ++k)
    for (int64_t j = box.lo[1]; j <= box.hi[1]; ++j) {
      const uint8_t* row = &labels.data[labels.offset(0, j, k)];
      float* out = &f.values[f.offset(pad, pad + (j - box.lo[1]) / b[1], pad + (k - box.lo[2]) / b[2])];
      for (int64_t i = box.lo[0]; i <= box.hi[0]; ++i)
        if (row[i] == value)
          out[(i - box.lo[0]) / b[0]] += weight;
    }
  for (int axis = 0; axis < 3; ++axis)
    convolve_axis(f, kernel, axis);
  // Remember the padding in `first` (negative) so the caller can map back.
  f.first = {-pad, -pad, -pad};
  return f;
}

Mesh mesh_label(const MaskVolume& labels, int label, const Box& box, const MeshOptions& options) {
  if (box.empty())
    return {};
  Index3 b{1, 1, 1};
  if (options.max_sample_mm > 0)
    for (size_t a = 0; a < 3; ++a)
      b[a] = std::max<int64_t>(
          1, int64_t(std::floor(options.max_sample_mm / labels.geometry.spacing[int(a)] + 1e-9)));
  if (b[0] * b[1] * b[2] > 1) {
    const Field field = coarse_label_field(labels, label, box, b, options.presmooth_sigma_voxels);
    Mesh mesh = march(field, 0.5f);
    // Coarse sample c (relative to the box) covers volume indices lo + c·b … lo + c·b + b − 1.
    for (auto& v : mesh.vertices)
      for (int a = 0; a < 3; ++a)
        v[a] = double(box.lo[size_t(a)]) + v[a] * double(b[size_t(a)]) + 0.5 * double(b[size_t(a)] - 1);
    to_lps(mesh, labels.geometry);
    if (options.smoothing_iterations > 0)
      taubin_smooth(mesh, options.smoothing_iterations, options.smoothing_lambda, options.smoothing_mu);
    return mesh;
  }
  const Field field = label_field(labels, label, box, options.presmooth_sigma_voxels);
  Mesh mesh = march(field, 0.5f);
  to_lps(mesh, labels.geometry);
  if (options.smoothing_iterations > 0)
    taubin_smooth(mesh, options.smoothing_iterations, options.smoothing_lambda, options.smoothing_mu);
  return mesh;
}

void check_label(int label) {
  if (label < 1 || label > 255)
    throw std::invalid_argument("extract_surface: label must be 1–255, got " + std::to_string(label));
}

} // namespace

Mesh extract_surface(const MaskVolume& labels, int label, const MeshOptions& options) {
  check_label(label);
  labels.geometry.validate("label volume");
  const auto& d = labels.geometry.dims;
  const auto value = uint8_t(label);
  Box box;
#pragma omp parallel
  {
    Box local;
#pragma omp for schedule(static)
    for (int64_t k = 0; k < d[2]; ++k)
      for (int64_t j = 0; j < d[1]; ++j) {
        const uint8_t* row = &labels.data[labels.offset(0, j, k)];
        const uint8_t* hit = std::find(row, row + d[0], value);
        if (hit == row + d[0])
          continue;
        int64_t last = d[0] - 1;
        while (row[last] != value)
          --last;
        local.add(Box{{hit - row, j, k}, {last, j, k}});
      }
#pragma omp critical
    if (!local.empty())
      box.add(local);
  }
  return mesh_label(labels, label, box, options);
}

std::vector<std::pair<std::string, Mesh>> extract_all(const LabelMap& label_map, const MeshOptions& options) {
  label_map.voxels.geometry.validate("label map");
  const auto boxes = label_boxes(label_map.voxels);
  std::vector<const Label*> present;
  for (const auto& l : label_map.table.labels())
    if (l.id >= 1 && l.id <= 255 && !boxes[size_t(l.id)].empty())
      present.push_back(&l);
  std::vector<std::pair<std::string, Mesh>> result(present.size());
  // Labels are independent; large and small ones mix, so hand them out one at a time.
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t n = 0; n < present.size(); ++n)
    result[n] = {present[n]->name,
                 mesh_label(label_map.voxels, present[n]->id, boxes[size_t(present[n]->id)], options)};
  return result;
}

} // namespace nervemap::mesh
