// gzip for NIfTI: libdeflate for whole-buffer speed, zlib streaming where sizes are not known up front.
//
// libdeflate inflates several times faster than zlib but needs the output size in advance. The gzip
// trailer's ISIZE (RFC 1952: uncompressed size of the last member, mod 2^32) tells it for the usual
// single-member file; when it does not match (multi-member files such as bgzip output, trailing bytes,
// truncation or a corrupt header claiming huge dims) zlib streams into a buffer that grows only with
// data actually inflated.
#include "io/internal_nifti.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <libdeflate.h>
#include <zlib.h>

namespace nervemap::io {

namespace gzip {

namespace {

constexpr size_t chunk_bytes = size_t(1) << 16;
// Bytes a gzip member may hold beyond what the header needs (padding some writers add) while still
// taking the pre-sized fast path.
constexpr size_t isize_slack_bytes = size_t(1) << 20;

[[noreturn]] void throw_corrupt(const std::string& file, const char* detail) {
  throw InputError(
      fmt::format("{}: the gzip data is corrupt ({}); the file is damaged — copy or export it again",
                  file,
                  detail ? detail : "invalid deflate stream"));
}

[[noreturn]] void throw_truncated(const std::string& file, size_t produced) {
  throw InputError(
      fmt::format("{}: the gzip stream is truncated (it ends after {} uncompressed bytes); the file "
                  "is incomplete — copy or download it again",
                  file,
                  produced));
}

//! Where compressed bytes come from: a std::istream in chunks, or one span already in memory.
class Source {
public:
  explicit Source(std::istream* in) : in_(in), chunk_(chunk_bytes) {}
  explicit Source(std::span<const uint8_t> all) : all_(all) {}

  //! Give zlib more input; false at end of input.
  bool refill(z_stream& zs) {
    if (in_) {
      in_->read(reinterpret_cast<char*>(chunk_.data()), std::streamsize(chunk_.size()));
      auto n = size_t(in_->gcount());
      zs.next_in = chunk_.data();
      zs.avail_in = uInt(n);
      return n > 0;
    }
    if (all_given_)
      return false;
    all_given_ = true;
    // zlib counts input in uInt; hand a huge span over in pieces.
    size_t n = std::min<size_t>(all_.size(), size_t(1) << 30);
    zs.next_in = const_cast<Bytef*>(all_.data());
    zs.avail_in = uInt(n);
    all_ = all_.subspan(n);
    all_given_ = all_.empty();
    return n > 0;
  }

private:
  std::istream* in_ = nullptr;
  std::vector<uint8_t> chunk_;
  std::span<const uint8_t> all_;
  bool all_given_ = false;
};

//! What input that stops inside a gzip member means: a damaged file (the readers need all of it), or
//! only the end of what is there (probe() measures how much that is).
enum class Truncation { error, end };

//! RAII zlib inflater for gzip members (windowBits 16 + 15: gzip wrapper only).
class Inflater {
public:
  explicit Inflater(const std::string& file, Truncation truncation = Truncation::error)
      : file_(file), truncation_(truncation) {
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
      throw std::runtime_error("zlib inflateInit2 failed");
  }
  ~Inflater() { inflateEnd(&zs_); }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  //! Inflate into out[produced, out_size) until it is full (returns true) or the gzip data ends cleanly
  //! (returns false; with Truncation::end also when it is cut off). Members are concatenated (RFC 1952 §2.2);
  //! bytes after the last member that do not start another member are ignored, as gzip(1) does.
  bool fill(Source& source, uint8_t* out, size_t out_size, size_t& produced) {
    while (produced < out_size) {
      if (zs_.avail_in == 0 && !ended_input_ && !source.refill(zs_))
        ended_input_ = true;
      if (ended_input_ && zs_.avail_in == 0 && !in_member_)
        return false; // nothing after the previous member: clean end
      zs_.next_out = out + produced;
      zs_.avail_out = uInt(std::min<size_t>(out_size - produced, size_t(1) << 30));
      uInt before = zs_.avail_out;
      in_member_ = true;
      int r = ::inflate(&zs_, Z_NO_FLUSH);
      produced += before - zs_.avail_out;
      if (r == Z_STREAM_END) {
        in_member_ = false;
        if (!next_member_follows(source))
          return produced >= out_size;
        inflateReset(&zs_);
      } else if (r == Z_BUF_ERROR) {
        if (ended_input_ && truncation_ == Truncation::end)
          return false;
        if (ended_input_)
          throw_truncated(file_, produced);
      } else if (r != Z_OK) {
        throw_corrupt(file_, zs_.msg);
      }
    }
    return true;
  }

private:
  bool next_member_follows(Source& source) {
    if (zs_.avail_in == 0 && !ended_input_ && !source.refill(zs_))
      ended_input_ = true;
    if (zs_.avail_in == 0)
      return false;
    if (zs_.next_in[0] != 0x1f || (zs_.avail_in > 1 && zs_.next_in[1] != 0x8b)) {
      zs_.avail_in = 0; // trailing garbage: ignore the rest
      ended_input_ = true;
      return false;
    }
    return true;
  }

  std::string file_;
  Truncation truncation_;
  z_stream zs_{};
  bool ended_input_ = false;
  bool in_member_ = false;
};

//! zlib path for the rest of the input: grow `out` (capped at `needed`) only as data arrives.
void inflate_growing(std::span<const uint8_t> compressed,
                     std::vector<uint8_t>& out,
                     size_t& produced,
                     size_t needed,
                     const std::string& file) {
  Source source(compressed);
  Inflater inflater(file);
  while (produced < needed) {
    if (produced == out.size())
      nifti::resize_large(out, std::min(needed, std::max<size_t>(out.size() * 2, size_t(1) << 22)));
    if (!inflater.fill(source, out.data(), out.size(), produced))
      break;
  }
}

} // namespace

bool has_magic(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

std::vector<uint8_t> inflate_prefix(std::istream& in, size_t wanted, const std::string& file) {
  std::vector<uint8_t> out(wanted);
  Source source(&in);
  Inflater inflater(file);
  size_t produced = 0;
  inflater.fill(source, out.data(), out.size(), produced);
  out.resize(produced);
  return out;
}

uint64_t inflated_size(std::istream& in, uint64_t enough, const std::string& file) {
  Source source(&in);
  Inflater inflater(file, Truncation::end);
  // Whole chunks even past `enough`: the one that reaches the end of the data usually reaches the
  // member's trailer too, so its CRC-32 is checked (RFC 1952 §2.3.1) as the readers check it.
  std::vector<uint8_t> chunk(chunk_bytes);
  uint64_t total = 0;
  bool more = true;
  while (more && total < enough) {
    size_t produced = 0;
    more = inflater.fill(source, chunk.data(), chunk.size(), produced);
    total += produced;
  }
  return total;
}

std::vector<uint8_t> inflate(std::span<const uint8_t> compressed,
                             size_t needed,
                             const std::string& file,
                             std::vector<uint8_t>* reuse) {
  constexpr size_t member_overhead = 18; // 10-byte header + 8-byte trailer (RFC 1952)
  if (compressed.size() < member_overhead)
    throw_truncated(file, 0);
  uint32_t isize = 0;
  std::memcpy(&isize, compressed.data() + compressed.size() - 4, 4); // little-endian on disk
  if constexpr (std::endian::native == std::endian::big)
    isize = __builtin_bswap32(isize);

  std::vector<uint8_t> out;
  size_t produced = 0;
  bool trailer_confirms =
      needed < (size_t(1) << 32) && isize >= needed && isize - needed <= isize_slack_bytes;
  if (!trailer_confirms) {
    inflate_growing(compressed, out, produced, needed, file);
    out.resize(produced);
    return out;
  }

  if (reuse && reuse->capacity() >= isize) {
    out = std::move(*reuse); // already-touched pages: no page faults for this file
    out.resize(isize);
  } else {
    nifti::resize_large(out, isize);
  }
  std::unique_ptr<libdeflate_decompressor, void (*)(libdeflate_decompressor*)> decompressor(
      libdeflate_alloc_decompressor(), libdeflate_free_decompressor);
  if (!decompressor)
    throw std::bad_alloc();
  size_t in_pos = 0;
  while (produced < needed && has_magic(compressed.subspan(in_pos))) {
    size_t in_used = 0, out_made = 0;
    auto result = libdeflate_gzip_decompress_ex(decompressor.get(),
                                                compressed.data() + in_pos,
                                                compressed.size() - in_pos,
                                                out.data() + produced,
                                                out.size() - produced,
                                                &in_used,
                                                &out_made);
    if (result == LIBDEFLATE_SUCCESS) {
      in_pos += in_used;
      produced += out_made;
      continue;
    }
    // A member larger than the space left, or bad/truncated data: zlib streams the rest into the space
    // left, stopping when it is full, and reports damage precisely.
    Source source(compressed.subspan(in_pos));
    Inflater inflater(file);
    inflater.fill(source, out.data(), out.size(), produced);
    // zlib stops when the buffer is full, before the member's CRC; libdeflate had checked it.
    if (result == LIBDEFLATE_BAD_DATA)
      throw_corrupt(file, "CRC-32 mismatch");
    break;
  }
  out.resize(produced);
  return out;
}

std::vector<uint8_t> compress(std::span<const uint8_t> data, int level) {
  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> compressor(
      libdeflate_alloc_compressor(level), libdeflate_free_compressor);
  if (!compressor)
    throw std::bad_alloc();
  std::vector<uint8_t> out;
  nifti::resize_large(out, libdeflate_gzip_compress_bound(compressor.get(), data.size()));
  size_t size = libdeflate_gzip_compress(compressor.get(), data.data(), data.size(), out.data(), out.size());
  if (size == 0)
    throw std::runtime_error("libdeflate_gzip_compress failed (output larger than its own bound)");
  out.resize(size);
  return out;
}

} // namespace gzip
} // namespace nervemap::io
