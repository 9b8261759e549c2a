// nervemap mesh: closed surface meshes of labelled structures and tumours, their measurements, and
// the two file formats the outputs need (design §1): `.mz3` for the NiiVue viewer, binary `.stl` for
// other tools (CAD, 3-D printing, slicers).
//
// Pipeline of extract_surface (one label at a time, on its bounding box):
//   1. the label's indicator (1 inside, 0 outside) on the bounding box + padding, lightly blurred with
//      a Gaussian (σ in voxels per axis) so that the iso-surface is not a voxel staircase;
//   2. marching cubes at 0.5 (Lorensen & Cline 1987), with the triangulation of each cube derived from
//      its face contours rather than from a hand-made case table, and ambiguous faces resolved by the
//      asymptotic decider (Nielson & Hamann 1991): the result is watertight and manifold by
//      construction, one vertex per crossed grid edge (no duplicates);
//   3. Taubin λ|μ smoothing (Taubin 1995), a low-pass filter that does not shrink the surface.
// Marching cubes rather than surface nets (Gibson 1998): surface nets put one vertex in each cell,
// so voxels touching only along an edge or at a corner share mesh edges or vertices between two
// sheets (non-manifold), which STL consumers and the watertightness contract do not accept.
//
// Coordinates: a Mesh holds LPS millimetres (design §2) with triangles wound counter-clockwise seen
// from outside (right-hand normals point out of the structure), for any grid orientation, anisotropic
// spacing and handedness of the direction matrix. STL files are written in LPS mm as held. MZ3 files
// are written in **RAS mm** (x and y negated), because NiiVue places meshes in the NIfTI world (RAS)
// of the volumes it shows; negating two axes is a rotation, so the winding stays outward.
#pragma once

#include "core/core.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nervemap::mesh {

//! Triangle mesh in LPS mm; triangles index `vertices` and are wound outward (right-hand rule).
struct Mesh {
  std::vector<Vec3> vertices;
  std::vector<std::array<uint32_t, 3>> triangles;

  bool empty() const { return triangles.empty(); }
};

//! The defaults keep area and volume of analytic spheres (r 10–20 mm) and boxes within 2 % on iso,
//! anisotropic (0.7 × 0.9 × 2 mm), oblique, mirrored and gantry-tilted grids (tests/mesh): a wider
//! blur rounds the staircase better but moves the surface inward on curved parts (by ≈ σ² × mean
//! curvature), more smoothing passes slowly inflate.
struct MeshOptions {
  //! Gaussian pre-smoothing of the binary indicator, in voxels along each grid axis (0 = none: the
  //! surface then passes through edge midpoints, "discrete" marching cubes).
  double presmooth_sigma_voxels = 0.5;
  //! Taubin λ|μ smoothing passes (0 = none). λ > 0, μ < −λ; pass band k_PB = 1/λ + 1/μ ≈ 0.11.
  int smoothing_iterations = 15;
  //! Sample the surface no finer than this (mm): on fine grids (e.g. 0.45 mm CT) blocks of voxels are
  //! averaged first, which keeps display meshes of ~1 mm detail small and fast. 0 = every voxel.
  double max_sample_mm = 0;
  double smoothing_lambda = 0.5;
  double smoothing_mu = -0.53;
};

//! Surface of the voxels equal to `label` (a value of a label map, 1–255; for a binary mask, 1).
//! Voxels outside the volume count as background, so a structure cut by the field of view is closed
//! at the volume's edge. An absent label gives an empty mesh.
Mesh extract_surface(const MaskVolume& labels, int label, const MeshOptions& options = {});

//! One mesh per label of the table that has voxels in the volume, in table (id) order, named by the
//! label's name. Labels are meshed in parallel (OpenMP).
std::vector<std::pair<std::string, Mesh>> extract_all(const LabelMap& label_map,
                                                      const MeshOptions& options = {});

//! Taubin λ|μ smoothing with the uniform ("umbrella") Laplacian, in place (Taubin 1995, "A signal
//! processing approach to fair surface design", SIGGRAPH '95).
void taubin_smooth(Mesh& mesh, int iterations, double lambda = 0.5, double mu = -0.53);

// ---- measurements --------------------------------------------------------------------------------

double area_mm2(const Mesh& mesh);
//! Enclosed volume by the divergence theorem (sum of signed tetrahedra), in ml (1 ml = 1000 mm³).
//! Positive for a closed mesh wound outward; only meaningful for a watertight mesh.
double volume_ml(const Mesh& mesh);
//! Every edge is shared by exactly two triangles that traverse it in opposite directions (closed and
//! consistently oriented), no triangle repeats a vertex, and every index is in range. An empty mesh
//! is not watertight.
bool is_watertight(const Mesh& mesh);
//! Watertight and every vertex's triangles form a single fan (no two surfaces touching at a vertex).
bool is_manifold(const Mesh& mesh);
//! Connected components of the triangles (sharing a vertex connects them).
size_t component_count(const Mesh& mesh);

// ---- writers (atomic: written under a temporary name, renamed when complete) ---------------------

//! Binary STL in LPS mm: 80-byte header (text naming the structure and the LPS convention), uint32
//! facet count, per facet normal + 3 vertices as little-endian float32 and a zero attribute word.
void write_stl(const Mesh& mesh, const std::filesystem::path& path, const std::string& name = "");

//! RGBA, 0–255 each.
using Rgba = std::array<uint8_t, 4>;

//! Gzip-compressed MZ3 (Surf Ice / NiiVue mesh format) in **RAS mm** = (−x, −y, z) of LPS: 16-byte
//! header (magic "MZ" = 0x5A4D little-endian, attributes isFACE|isVERT[|isRGBA], face count, vertex
//! count, 0 bytes to skip), uint32 triangle indices, float32 vertices, optional RGBA per vertex.
//! The format cannot hold an empty mesh (NiiVue rejects fewer than 3 vertices): throws
//! std::invalid_argument for one.
void write_mz3(const Mesh& mesh, const std::filesystem::path& path, const std::optional<Rgba>& colour = {});

} // namespace nervemap::mesh
