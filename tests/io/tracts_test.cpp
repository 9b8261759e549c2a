#include "io/io.h"
#include "support/test_support.h"

#include <cstring>
#include <fstream>
#include <gtest/gtest.h>

using namespace nervemap;

TEST(Tracts, TckRoundTripInRasOnDisk) {
  test::TempDir dir;
  std::vector<std::vector<Vec3>> lines{
      {{10, -20, 30}, {11, -21, 31.5}}, {{-5, 6, 7}}, {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}};
  io::write_tck(dir / "n.tck", lines);
  auto back = io::read_tck(dir / "n.tck");
  ASSERT_EQ(back.size(), 3u);
  for (size_t s = 0; s < lines.size(); ++s) {
    ASSERT_EQ(back[s].size(), lines[s].size());
    for (size_t i = 0; i < lines[s].size(); ++i)
      EXPECT_LT((back[s][i] - lines[s][i]).norm(), 1e-5);
  }
  // On disk: the MRtrix3 header and RAS coordinates (x, y negated), data at the stated offset.
  std::ifstream in(dir / "n.tck", std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text.rfind("mrtrix tracks\ncount: 0000000003\ndatatype: Float32LE\nfile: . ", 0), 0u);
  const size_t offset = std::stoul(text.substr(text.find("file: . ") + 8, 8));
  EXPECT_EQ(offset % 4, 0u);
  float first[3];
  std::memcpy(first, text.data() + offset, sizeof first);
  EXPECT_FLOAT_EQ(first[0], -10.f);
  EXPECT_FLOAT_EQ(first[1], 20.f);
  EXPECT_FLOAT_EQ(first[2], 30.f);
}

TEST(Tracts, TsfRoundTripAndErrors) {
  test::TempDir dir;
  io::write_tsf(dir / "d.tsf", {{1.5f, 2.5f}, {3.f}});
  auto back = io::read_tsf(dir / "d.tsf");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0], (std::vector<float>{1.5f, 2.5f}));
  EXPECT_EQ(back[1], (std::vector<float>{3.f}));
  std::ofstream(dir / "bad.tck") << "not a track file\n";
  EXPECT_THROW(io::read_tck(dir / "bad.tck"), InputError);
  EXPECT_THROW(io::read_tck(dir / "d.tsf"), InputError);
}
