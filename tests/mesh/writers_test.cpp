// STL and MZ3 files, parsed back independently of the writers.
#include "mesh/mesh.h"
#include "mesh/shapes.h"
#include "support/test_support.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <gtest/gtest.h>
#include <zlib.h>

namespace nervemap::mesh {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t u32_at(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int k = 3; k >= 0; --k)
    v = v << 8 | uint8_t(b[at + size_t(k)]);
  return v;
}
uint16_t u16_at(const std::string& b, size_t at) {
  return uint16_t(uint8_t(b[at]) | uint8_t(b[at + 1]) << 8);
}
float f32_at(const std::string& b, size_t at) {
  return std::bit_cast<float>(u32_at(b, at));
}

//! Whole gzip stream → raw bytes (zlib, gzip wrapper required: windowBits 15 + 16).
std::string gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = uInt(gz.size());
  std::string out;
  char chunk[65536];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(chunk, sizeof chunk - zs.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&zs);
  EXPECT_EQ(rc, Z_STREAM_END);
  return out;
}

//! A smoothed sphere on an oblique, left-handed grid: LPS coordinates far from 0 with all signs.
Mesh sample_mesh() {
  const Vec3 centre(-31.5, 12.25, -80);
  const Mat3 d = test::rotation(Vec3(1, 1, 0), 30) * Vec3(1, 1, -1).asDiagonal();
  const Geometry g =
      test::covering_grid(centre - Vec3::Constant(12), centre + Vec3::Constant(12), Vec3(1, 1, 1.5), d);
  MaskVolume labels(g, 0);
  test::paint(labels, 1, test::ball(centre, 7));
  return extract_surface(labels, 1);
}

double signed_volume(const std::vector<Vec3>& v, const std::vector<std::array<uint32_t, 3>>& tris) {
  double s = 0;
  for (const auto& t : tris)
    s += v[t[0]].dot(v[t[1]].cross(v[t[2]])) / 6;
  return s;
}

TEST(Stl, RoundTripInLps) {
  const test::TempDir dir;
  const Mesh m = sample_mesh();
  ASSERT_TRUE(is_watertight(m));
  write_stl(m, dir / "gtv.stl", "GTVp");
  EXPECT_EQ(test::list_files(dir.path()), std::vector<std::string>{"gtv.stl"}); // no temporary left

  const std::string b = read_bytes(dir / "gtv.stl");
  ASSERT_EQ(b.size(), 84 + 50 * m.triangles.size());
  const std::string header = b.substr(0, 80);
  EXPECT_NE(header.rfind("solid", 0), 0u) << "would read as ASCII STL";
  EXPECT_NE(header.find("LPS mm"), std::string::npos);
  EXPECT_NE(header.find("GTVp"), std::string::npos);
  ASSERT_EQ(u32_at(b, 80), m.triangles.size());

  std::vector<Vec3> read_vertices;
  std::vector<std::array<uint32_t, 3>> read_tris;
  for (size_t f = 0; f < m.triangles.size(); ++f) {
    const size_t at = 84 + 50 * f;
    const Vec3 normal(f32_at(b, at), f32_at(b, at + 4), f32_at(b, at + 8));
    std::array<uint32_t, 3> tri;
    for (size_t c = 0; c < 3; ++c) {
      const Vec3 p(f32_at(b, at + 12 + 12 * c), f32_at(b, at + 16 + 12 * c), f32_at(b, at + 20 + 12 * c));
      const Vec3& expected = m.vertices[m.triangles[f][c]];
      ASSERT_LT((p - expected).norm(), 1e-4) << "facet " << f << " corner " << c;
      tri[c] = uint32_t(read_vertices.size());
      read_vertices.push_back(p);
    }
    read_tris.push_back(tri);
    EXPECT_EQ(u16_at(b, at + 48), 0);
    const Vec3 geometric =
        (read_vertices[tri[1]] - read_vertices[tri[0]]).cross(read_vertices[tri[2]] - read_vertices[tri[0]]);
    EXPECT_NEAR(normal.norm(), 1.0, 1e-5);
    EXPECT_GT(normal.dot(geometric.normalized()), 0.999);
  }
  // Outward in LPS as read back.
  EXPECT_NEAR(signed_volume(read_vertices, read_tris) / 1000, volume_ml(m), 1e-4 * volume_ml(m));
  EXPECT_GT(signed_volume(read_vertices, read_tris), 0);
}

TEST(Stl, EmptyMeshIsAValidFileWithNoFacets) {
  const test::TempDir dir;
  write_stl(Mesh{}, dir / "empty.stl");
  const std::string b = read_bytes(dir / "empty.stl");
  ASSERT_EQ(b.size(), 84u);
  EXPECT_EQ(u32_at(b, 80), 0u);
}

TEST(Stl, UnwritableTargetIsAnInputError) {
  const test::TempDir dir;
  EXPECT_THROW(write_stl(sample_mesh(), dir / "missing-folder" / "x.stl"), InputError);
  EXPECT_TRUE(test::list_files(dir.path()).empty());
}

struct Mz3 {
  uint16_t magic = 0, attr = 0;
  uint32_t faces = 0, vertices = 0, skip = 0;
  std::string raw;
};

Mz3 read_mz3(const fs::path& path) {
  const std::string gz = read_bytes(path);
  EXPECT_GE(gz.size(), 20u);
  EXPECT_EQ(uint8_t(gz[0]), 0x1f); // gzip, as NiiVue detects it (first uint16 = 35615)
  EXPECT_EQ(uint8_t(gz[1]), 0x8b);
  Mz3 f;
  f.raw = gunzip(gz);
  EXPECT_GE(f.raw.size(), 16u);
  f.magic = u16_at(f.raw, 0);
  f.attr = u16_at(f.raw, 2);
  f.faces = u32_at(f.raw, 4);
  f.vertices = u32_at(f.raw, 8);
  f.skip = u32_at(f.raw, 12);
  return f;
}

TEST(Mz3, HeaderFacesAndRasVertices) {
  const test::TempDir dir;
  const Mesh m = sample_mesh();
  write_mz3(m, dir / "gtv.mz3");
  EXPECT_EQ(test::list_files(dir.path()), std::vector<std::string>{"gtv.mz3"});
  const Mz3 f = read_mz3(dir / "gtv.mz3");
  EXPECT_EQ(f.magic, 23117); // "MZ"
  EXPECT_EQ(f.raw.substr(0, 2), "MZ");
  EXPECT_EQ(f.attr, 3); // isFACE | isVERT
  EXPECT_EQ(f.faces, m.triangles.size());
  EXPECT_EQ(f.vertices, m.vertices.size());
  EXPECT_EQ(f.skip, 0u);
  ASSERT_EQ(f.raw.size(), 16 + 12 * size_t(f.faces) + 12 * size_t(f.vertices));

  std::vector<std::array<uint32_t, 3>> tris(f.faces);
  for (size_t t = 0; t < f.faces; ++t)
    for (size_t c = 0; c < 3; ++c)
      tris[t][c] = u32_at(f.raw, 16 + 12 * t + 4 * c);
  EXPECT_EQ(tris, m.triangles);
  std::vector<Vec3> ras(f.vertices);
  const size_t base = 16 + 12 * size_t(f.faces);
  for (size_t v = 0; v < f.vertices; ++v) {
    ras[v] = Vec3(
        f32_at(f.raw, base + 12 * v), f32_at(f.raw, base + 12 * v + 4), f32_at(f.raw, base + 12 * v + 8));
    const Vec3& lps = m.vertices[v];
    ASSERT_LT((ras[v] - Vec3(-lps.x(), -lps.y(), lps.z())).norm(), 1e-4) << "vertex " << v;
  }
  // RAS is LPS turned 180° about z: the winding stays outward.
  EXPECT_GT(signed_volume(ras, tris), 0);
  EXPECT_NEAR(signed_volume(ras, tris) / 1000, volume_ml(m), 1e-4 * volume_ml(m));
}

TEST(Mz3, PerVertexColour) {
  const test::TempDir dir;
  const Mesh m = sample_mesh();
  write_mz3(m, dir / "thyroid.mz3", Rgba{200, 120, 40, 255});
  const Mz3 f = read_mz3(dir / "thyroid.mz3");
  EXPECT_EQ(f.attr, 7); // isFACE | isVERT | isRGBA
  ASSERT_EQ(f.raw.size(), 16 + 12 * size_t(f.faces) + 16 * size_t(f.vertices));
  const size_t base = 16 + 12 * size_t(f.faces) + 12 * size_t(f.vertices);
  for (size_t v = 0; v < f.vertices; ++v) {
    ASSERT_EQ(uint8_t(f.raw[base + 4 * v]), 200);
    ASSERT_EQ(uint8_t(f.raw[base + 4 * v + 1]), 120);
    ASSERT_EQ(uint8_t(f.raw[base + 4 * v + 2]), 40);
    ASSERT_EQ(uint8_t(f.raw[base + 4 * v + 3]), 255);
  }
}

TEST(Mz3, EmptyMeshIsRefusedAndLeavesNoFile) {
  const test::TempDir dir;
  EXPECT_THROW(write_mz3(Mesh{}, dir / "empty.mz3"), std::invalid_argument);
  EXPECT_TRUE(test::list_files(dir.path()).empty());
}

} // namespace
} // namespace nervemap::mesh
