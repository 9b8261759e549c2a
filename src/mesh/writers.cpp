// Mesh files: binary STL (LPS mm) and gzip-compressed MZ3 (RAS mm) for NiiVue.
//
// Both formats are little-endian; values are serialised byte by byte so that the files are the same
// on any host.
#include "mesh/mesh.h"

#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <libdeflate.h>
#include <stdexcept>

namespace fs = std::filesystem;

namespace nervemap::mesh {
namespace {

void put_u16(std::string& out, uint16_t v) {
  out.push_back(char(v & 0xff));
  out.push_back(char(v >> 8));
}

void put_u32(std::string& out, uint32_t v) {
  for (int b = 0; b < 4; ++b)
    out.push_back(char((v >> (8 * b)) & 0xff));
}

void put_f32(std::string& out, double v) {
  put_u32(out, std::bit_cast<uint32_t>(float(v)));
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(bytes.data(), std::streamsize(bytes.size()));
  file.close();
  if (!file)
    throw InputError(fmt::format("cannot write {}", path.string()));
}

uint32_t checked_count(size_t n, const char* what) {
  if (n > 0xffffffffu)
    throw std::invalid_argument(fmt::format("mesh has too many {} for a 32-bit count", what));
  return uint32_t(n);
}

//! Gzip member (RFC 1952) of `raw`. libdeflate at a fast level: mesh floats compress little, so a
//! higher level costs time for a few per cent of size.
std::string gzip(const std::string& raw) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(1);
  if (!c)
    throw std::runtime_error("libdeflate: cannot allocate a compressor");
  std::string out(libdeflate_gzip_compress_bound(c, raw.size()), '\0');
  const size_t written = libdeflate_gzip_compress(c, raw.data(), raw.size(), out.data(), out.size());
  libdeflate_free_compressor(c);
  if (written == 0)
    throw std::runtime_error("libdeflate: gzip compression failed");
  out.resize(written);
  return out;
}

} // namespace

void write_stl(const Mesh& mesh, const fs::path& path, const std::string& name) {
  const uint32_t count = checked_count(mesh.triangles.size(), "triangles");
  std::string bytes;
  bytes.reserve(84 + size_t(count) * 50);
  // An 80-byte free-text header; it must not start with "solid", which marks ASCII STL to readers.
  std::string header = name.empty() ? "nervemap surface mesh; coordinates LPS mm"
                                    : fmt::format("nervemap surface mesh {}; coordinates LPS mm", name);
  header.resize(80, '\0');
  bytes += header;
  put_u32(bytes, count);
  for (const auto& t : mesh.triangles) {
    const Vec3 &a = mesh.vertices[t[0]], &b = mesh.vertices[t[1]], &c = mesh.vertices[t[2]];
    Vec3 normal = (b - a).cross(c - a);
    const double length = normal.norm();
    normal = length > 0 ? Vec3(normal / length) : Vec3::Zero();
    for (const Vec3* p : std::initializer_list<const Vec3*>{&normal, &a, &b, &c})
      for (int axis = 0; axis < 3; ++axis)
        put_f32(bytes, (*p)[axis]);
    put_u16(bytes, 0); // attribute byte count
  }
  write_file_atomically(path, [&](const fs::path& tmp) { write_bytes(tmp, bytes); });
}

void write_mz3(const Mesh& mesh, const fs::path& path, const std::optional<Rgba>& colour) {
  // MZ3 as specified with Surf Ice (neurolabusc/surf-ice, mz3/README.md) and read by NiiVue
  // (NVMeshLoaders.readMZ3): a file with faces needs at least one face and three vertices.
  if (mesh.triangles.empty() || mesh.vertices.size() < 3)
    throw std::invalid_argument(
        fmt::format("cannot write {}: an MZ3 mesh needs at least one triangle", path.string()));
  const uint32_t face_count = checked_count(mesh.triangles.size(), "triangles");
  const uint32_t vertex_count = checked_count(mesh.vertices.size(), "vertices");
  constexpr uint16_t kMagic = 0x5A4D; // "MZ" little-endian, 23117
  constexpr uint16_t kIsFace = 1, kIsVert = 2, kIsRgba = 4;
  std::string raw;
  raw.reserve(16 + size_t(face_count) * 12 + size_t(vertex_count) * (colour ? 16 : 12));
  put_u16(raw, kMagic);
  put_u16(raw, uint16_t(kIsFace | kIsVert | (colour ? kIsRgba : 0)));
  put_u32(raw, face_count);
  put_u32(raw, vertex_count);
  put_u32(raw, 0); // NSKIP: no private data
  for (const auto& t : mesh.triangles)
    for (uint32_t v : t)
      put_u32(raw, v);
  // NiiVue places meshes in the NIfTI world of its volumes, RAS: (x, y, z)_RAS = (−x, −y, z)_LPS.
  // Negating two axes is a rotation (180° about z), so the outward winding is kept.
  for (const auto& p : mesh.vertices) {
    const Vec3 ras = ras_from_lps(p);
    put_f32(raw, ras.x());
    put_f32(raw, ras.y());
    put_f32(raw, ras.z());
  }
  if (colour)
    for (size_t v = 0; v < mesh.vertices.size(); ++v)
      raw.append(reinterpret_cast<const char*>(colour->data()), 4);
  const std::string compressed = gzip(raw);
  write_file_atomically(path, [&](const fs::path& tmp) { write_bytes(tmp, compressed); });
}

} // namespace nervemap::mesh
