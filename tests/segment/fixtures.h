// Test helpers for the segment module: a small, strict .npy/.npz reader (the nnU-Net reference outputs are
// numpy files) and the paths of ../shared/fixtures/nnunet.
#pragma once

#include "segment/internal.h"
#include "support/test_support.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>
#include <zip.h>

namespace nervemap::segment::test {

namespace fs = std::filesystem;

inline fs::path nnunet_fixture(const std::string& relative) {
  return nervemap::test::shared_path("fixtures/nnunet/" + relative);
}

//! A numpy array read into float (any of <f2 <f4 <f8 |u1 |i1 <i2 <i4 <i8 |b1), C order.
struct Npy {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<float> values;
  size_t size() const { return values.size(); }
};

inline Npy parse_npy(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { throw std::runtime_error(name + ": " + why); };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    fail("not a .npy file");
  const int major = uint8_t(bytes[6]);
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      fail("truncated header");
    for (int b = 0; b < 4; ++b)
      header_len |= size_t(uint8_t(bytes[8 + b])) << (8 * b);
    start = 12;
  } else {
    fail("unknown .npy version");
  }
  if (start + header_len > bytes.size())
    fail("truncated header");
  const std::string header = bytes.substr(start, header_len);
  std::smatch m;
  Npy out;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")))
    fail("no descr");
  out.descr = m[1];
  if (!std::regex_search(header, m, std::regex("'fortran_order':\\s*(True|False)")) || m[1] != "False")
    fail("only C-order arrays are supported");
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    fail("no shape");
  std::string dims = m[1];
  std::regex number("\\d+");
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it)
    out.shape.push_back(std::stoll(it->str()));
  size_t count = 1;
  for (int64_t d : out.shape)
    count *= size_t(d);
  size_t item = 0;
  const std::string& d = out.descr;
  if (d == "<f4" || d == "<i4")
    item = 4;
  else if (d == "<f8" || d == "<i8")
    item = 8;
  else if (d == "<f2" || d == "<i2")
    item = 2;
  else if (d == "|u1" || d == "|i1" || d == "|b1")
    item = 1;
  else
    fail("unsupported dtype " + d);
  const size_t data = start + header_len;
  if (bytes.size() != data + count * item)
    fail("data size does not match the shape");
  out.values.resize(count);
  const char* p = bytes.data() + data;
  for (size_t k = 0; k < count; ++k) {
    const char* e = p + k * item;
    if (d == "<f4") {
      float v;
      std::memcpy(&v, e, 4);
      out.values[k] = v;
    } else if (d == "<f8") {
      double v;
      std::memcpy(&v, e, 8);
      out.values[k] = float(v);
    } else if (d == "<f2") {
      uint16_t v;
      std::memcpy(&v, e, 2);
      out.values[k] = detail::half_to_float(v);
    } else if (d == "<i2") {
      int16_t v;
      std::memcpy(&v, e, 2);
      out.values[k] = v;
    } else if (d == "<i4") {
      int32_t v;
      std::memcpy(&v, e, 4);
      out.values[k] = float(v);
    } else if (d == "<i8") {
      int64_t v;
      std::memcpy(&v, e, 8);
      out.values[k] = float(v);
    } else if (d == "|i1") {
      out.values[k] = float(int8_t(*e));
    } else {
      out.values[k] = float(uint8_t(*e));
    }
  }
  return out;
}

inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path.string());
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline Npy read_npy(const fs::path& path) { return parse_npy(read_bytes(path), path.string()); }

//! One array of an .npz archive (zip, stored or deflated) by name, e.g. "probabilities".
inline Npy read_npz(const fs::path& path, const std::string& key) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!z)
    throw std::runtime_error("cannot open " + path.string());
  const std::string entry = key + ".npy";
  zip_stat_t st;
  if (zip_stat(z, entry.c_str(), 0, &st) != 0) {
    zip_discard(z);
    throw std::runtime_error(path.string() + " has no " + entry);
  }
  std::string bytes(size_t(st.size), '\0');
  zip_file_t* f = zip_fopen(z, entry.c_str(), 0);
  zip_int64_t got = f ? zip_fread(f, bytes.data(), st.size) : -1;
  if (f)
    zip_fclose(f);
  zip_discard(z);
  if (got != zip_int64_t(st.size))
    throw std::runtime_error("cannot read " + entry + " from " + path.string());
  return parse_npy(bytes, path.string() + ":" + key);
}

//! Largest absolute difference between two equally long float sequences.
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size())
    return INFINITY;
  double m = 0;
  for (size_t k = 0; k < a.size(); ++k)
    m = std::max(m, double(std::fabs(double(a[k]) - double(b[k]))));
  return m;
}

} // namespace nervemap::segment::test
