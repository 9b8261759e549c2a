// MRtrix3 tracks (.tck) and track scalars (.tsf): a key: value text header ending in END, then float32
// little-endian data from the offset given by "file: . <offset>". Streamlines end with a NaN triplet
// (NaN value for .tsf) and the file with an Inf triplet (Inf value). Spec: MRtrix3 documentation,
// "Tracks file format (.tck)"; coordinates are scanner space = RAS mm.
#include "io/io.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace nervemap::io {

namespace {

static_assert(std::endian::native == std::endian::little, "the writer emits native float32 as Float32LE");

//! Header with a fixed-width offset field so the offset can be computed before it is printed.
std::string header(const char* magic, size_t count) {
  std::string fixed = fmt::format("{}\ncount: {:010d}\ndatatype: Float32LE\n", magic, count);
  const std::string tail = "file: . ";
  // offset = header length incl. "file: . NNNNNNNN\nEND\n"; pad to a multiple of 4 for aligned floats.
  size_t offset = fixed.size() + tail.size() + 8 + std::string("\nEND\n").size();
  offset = (offset + 3) / 4 * 4;
  std::string h = fixed + tail + fmt::format("{:08d}", offset) + "\nEND\n";
  h.resize(offset, '\n');
  return h;
}

void write_floats(const fs::path& path, const std::string& head, const std::vector<float>& data) {
  write_file_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out.write(head.data(), std::streamsize(head.size()));
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * sizeof(float)));
    if (!out)
      throw InputError(fmt::format("cannot write {}", path.string()));
  });
}

struct Parsed {
  std::map<std::string, std::string> keys;
  std::vector<float> data;
};

Parsed parse(const fs::path& path, const char* magic) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("cannot open {}", path.string()));
  std::string line;
  std::getline(in, line);
  if (line != magic)
    throw InputError(fmt::format("{} is not an MRtrix3 file ('{}' expected)", path.string(), magic));
  Parsed p;
  while (std::getline(in, line) && line != "END") {
    auto colon = line.find(':');
    if (colon == std::string::npos)
      continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    p.keys[line.substr(0, colon)] = value;
  }
  if (p.keys["datatype"] != "Float32LE")
    throw InputError(fmt::format("{}: only Float32LE data is supported", path.string()));
  std::istringstream file(p.keys["file"]);
  std::string dot;
  size_t offset = 0;
  if (!(file >> dot >> offset) || dot != ".")
    throw InputError(fmt::format("{}: invalid 'file' entry", path.string()));
  in.clear();
  in.seekg(0, std::ios::end);
  const auto size = size_t(in.tellg());
  if (offset > size || (size - offset) % 4 != 0)
    throw InputError(fmt::format("{}: data offset or size invalid", path.string()));
  p.data.resize((size - offset) / 4);
  in.seekg(std::streamoff(offset));
  in.read(reinterpret_cast<char*>(p.data.data()), std::streamsize(p.data.size() * 4));
  return p;
}

} // namespace

void write_tck(const fs::path& path, const std::vector<std::vector<Vec3>>& streamlines_lps) {
  std::vector<float> data;
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const auto& s : streamlines_lps) {
    for (const auto& p : s) {
      const Vec3 ras = ras_from_lps(p); // at the edge (design §2)
      data.insert(data.end(), {float(ras.x()), float(ras.y()), float(ras.z())});
    }
    data.insert(data.end(), {nan, nan, nan});
  }
  data.insert(data.end(), {inf, inf, inf});
  write_floats(path, header("mrtrix tracks", streamlines_lps.size()), data);
}

std::vector<std::vector<Vec3>> read_tck(const fs::path& path) {
  Parsed p = parse(path, "mrtrix tracks");
  if (p.data.size() % 3 != 0)
    throw InputError(fmt::format("{}: data is not a list of triplets", path.string()));
  std::vector<std::vector<Vec3>> out(1);
  for (size_t i = 0; i < p.data.size(); i += 3) {
    const float x = p.data[i], y = p.data[i + 1], z = p.data[i + 2];
    if (std::isinf(x))
      break;
    if (std::isnan(x)) {
      out.emplace_back();
      continue;
    }
    out.back().push_back(lps_from_ras(Vec3(double(x), double(y), double(z))));
  }
  out.pop_back(); // the empty list opened after the last NaN
  return out;
}

void write_tsf(const fs::path& path, const std::vector<std::vector<float>>& values) {
  std::vector<float> data;
  for (const auto& s : values) {
    data.insert(data.end(), s.begin(), s.end());
    data.push_back(std::numeric_limits<float>::quiet_NaN());
  }
  data.push_back(std::numeric_limits<float>::infinity());
  write_floats(path, header("mrtrix track scalars", values.size()), data);
}

std::vector<std::vector<float>> read_tsf(const fs::path& path) {
  Parsed p = parse(path, "mrtrix track scalars");
  std::vector<std::vector<float>> out(1);
  for (float v : p.data) {
    if (std::isinf(v))
      break;
    if (std::isnan(v)) {
      out.emplace_back();
      continue;
    }
    out.back().push_back(v);
  }
  out.pop_back();
  return out;
}

} // namespace nervemap::io
