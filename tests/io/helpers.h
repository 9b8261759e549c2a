// Helpers shared by the io tests: file bytes, gzip made and undone by zlib (independent of the code
// under test), and the message of an expected InputError.
#pragma once

#include "core/core.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <string>
#include <zlib.h>

namespace nervemap::io_test {

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

//! One gzip member (RFC 1952) of `data`, via zlib.
inline std::string gzip_member(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, uLong(data.size())) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = uInt(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

//! A file's bytes, gunzipped by zlib if compressed (gzread passes a plain file through, and reads
//! every member of a multi-member stream).
inline std::string file_contents(const std::filesystem::path& path) {
  gzFile gz = gzopen(path.c_str(), "rb");
  EXPECT_NE(gz, nullptr) << path;
  std::string out;
  if (!gz)
    return out;
  char chunk[1 << 16];
  for (int n; (n = gzread(gz, chunk, sizeof chunk)) > 0;)
    out.append(chunk, size_t(n));
  int error = Z_OK;
  gzerror(gz, &error);
  EXPECT_EQ(error, Z_OK) << path << ": the gzip stream is damaged or cut off";
  gzclose(gz);
  return out;
}

//! The message of the InputError `f` throws (fails the test if it throws nothing or something else).
template <class F> std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected InputError, got another exception: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected InputError, nothing was thrown";
  return {};
}

} // namespace nervemap::io_test
