// nervemap io: DICOM CT series from a folder, a zip archive or one file of the series.
//
// Headers are read by a small structural walker of our own (PS3.5 §7: data elements, sequences and
// items; implicit or explicit VR; both byte orders; deflate) rather than by GDCM, for two reasons:
//  - Debian's GDCM 3.0.21 is built with assertions on and aborts the whole process on some truncated
//    files (a file ending inside a sequence item trips `assert(0)` in gdcmItem.h), and it silently
//    zero-fills truncated pixel data ("Incomplete Pixel Data found"). The walker proves that every
//    element lies inside the file before GDCM ever opens it.
//  - Scanning only needs ~30 top-level attributes; the walker seeks over pixel data, so listing a
//    folder of 1000 slices reads a few kilobytes per file.
// Uncompressed little-endian pixel data (nearly every CT) is then read straight from the offset the
// walker found. Compressed data (JPEG, JPEG-LS, JPEG 2000, RLE), deflated and big-endian files are
// decoded by GDCM in a forked child process, because its codecs abort or corrupt memory on damaged
// data (see decode_compressed_isolated).
//
// Geometry (fixtures/geometry/README.md, Group 3; PS3.3 C.7.6.2 Image Plane Module): i runs along the
// ImageOrientationPatient row vector (columns), j along its column vector (rows); PixelSpacing is
// [between rows (→ j), between columns (→ i)]; k = slices sorted by dot(IPP, row × col) ascending;
// the origin is the IPP of the first sorted slice; the slice step comes from the IPPs, never from
// SliceThickness. A gantry-tilted series (IPP steps not along the normal) keeps every voxel at its
// true position through a sheared k axis: k direction = unit(step), k spacing = |step|.
#include "io/io.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPixelFormat.h>
#include <gdcmTrace.h>
#include <iconv.h>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <numeric>
#include <set>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <zlib.h>

namespace nervemap::io {
namespace {

// ---------------------------------------------------------------------------------------------
// Tags

constexpr uint32_t make_tag(uint16_t group, uint16_t element) {
  return uint32_t(group) << 16 | element;
}

constexpr uint32_t kMediaStorageSopClass = make_tag(0x0002, 0x0002);
constexpr uint32_t kTransferSyntax = make_tag(0x0002, 0x0010);
constexpr uint32_t kSpecificCharacterSet = make_tag(0x0008, 0x0005);
constexpr uint32_t kSopClass = make_tag(0x0008, 0x0016);
constexpr uint32_t kStudyDate = make_tag(0x0008, 0x0020);
constexpr uint32_t kModality = make_tag(0x0008, 0x0060);
constexpr uint32_t kSeriesDescription = make_tag(0x0008, 0x103E);
constexpr uint32_t kPatientName = make_tag(0x0010, 0x0010);
constexpr uint32_t kPatientId = make_tag(0x0010, 0x0020);
constexpr uint32_t kSliceThickness = make_tag(0x0018, 0x0050);
constexpr uint32_t kSpacingBetweenSlices = make_tag(0x0018, 0x0088);
constexpr uint32_t kGantryDetectorTilt = make_tag(0x0018, 0x1120);
constexpr uint32_t kSeriesInstanceUid = make_tag(0x0020, 0x000E);
constexpr uint32_t kSeriesNumber = make_tag(0x0020, 0x0011);
constexpr uint32_t kInstanceNumber = make_tag(0x0020, 0x0013);
constexpr uint32_t kImagePositionPatient = make_tag(0x0020, 0x0032);
constexpr uint32_t kImageOrientationPatient = make_tag(0x0020, 0x0037);
constexpr uint32_t kSamplesPerPixel = make_tag(0x0028, 0x0002);
constexpr uint32_t kPhotometricInterpretation = make_tag(0x0028, 0x0004);
constexpr uint32_t kNumberOfFrames = make_tag(0x0028, 0x0008);
constexpr uint32_t kRows = make_tag(0x0028, 0x0010);
constexpr uint32_t kColumns = make_tag(0x0028, 0x0011);
constexpr uint32_t kPixelSpacing = make_tag(0x0028, 0x0030);
constexpr uint32_t kBitsAllocated = make_tag(0x0028, 0x0100);
constexpr uint32_t kBitsStored = make_tag(0x0028, 0x0101);
constexpr uint32_t kHighBit = make_tag(0x0028, 0x0102);
constexpr uint32_t kPixelRepresentation = make_tag(0x0028, 0x0103);
constexpr uint32_t kRescaleIntercept = make_tag(0x0028, 0x1052);
constexpr uint32_t kRescaleSlope = make_tag(0x0028, 0x1053);
constexpr uint32_t kPixelData = make_tag(0x7FE0, 0x0010);
// Group FFFE: items and delimiters (PS3.5 §7.5); they never carry a VR.
constexpr uint32_t kItem = make_tag(0xFFFE, 0xE000);
constexpr uint32_t kItemDelimitation = make_tag(0xFFFE, 0xE00D);
constexpr uint32_t kSequenceDelimitation = make_tag(0xFFFE, 0xE0DD);

const std::set<uint32_t> kWantedTags = {kMediaStorageSopClass,
                                        kTransferSyntax,
                                        kSpecificCharacterSet,
                                        kSopClass,
                                        kStudyDate,
                                        kModality,
                                        kSeriesDescription,
                                        kPatientName,
                                        kPatientId,
                                        kSliceThickness,
                                        kSpacingBetweenSlices,
                                        kGantryDetectorTilt,
                                        kSeriesInstanceUid,
                                        kSeriesNumber,
                                        kInstanceNumber,
                                        kImagePositionPatient,
                                        kImageOrientationPatient,
                                        kSamplesPerPixel,
                                        kPhotometricInterpretation,
                                        kNumberOfFrames,
                                        kRows,
                                        kColumns,
                                        kPixelSpacing,
                                        kBitsAllocated,
                                        kBitsStored,
                                        kHighBit,
                                        kPixelRepresentation,
                                        kRescaleIntercept,
                                        kRescaleSlope};

constexpr const char* kDicomdirSopClass = "1.2.840.10008.1.3.10"; // Media Storage Directory Storage
constexpr const char* kEnhancedCtSopClass = "1.2.840.10008.5.1.4.1.1.2.1";
constexpr const char* kLegacyEnhancedCtSopClass = "1.2.840.10008.5.1.4.1.1.2.2";

std::string tag_text(uint32_t tag) {
  return fmt::format("({:04X},{:04X})", tag >> 16, tag & 0xFFFF);
}

// ---------------------------------------------------------------------------------------------
// Byte access: a file (read by seeking, so pixel data is never loaded) or an inflated buffer.

class ByteSource {
public:
  explicit ByteSource(const fs::path& path) : file_(path, std::ios::binary) {
    if (file_) {
      file_.seekg(0, std::ios::end);
      auto end = file_.tellg();
      ok_ = end >= 0;
      size_ = ok_ ? uint64_t(end) : 0;
    }
  }
  explicit ByteSource(std::vector<uint8_t> bytes)
      : memory_(std::move(bytes)), ok_(true), size_(memory_.size()) {}

  bool ok() const { return ok_; }
  uint64_t size() const { return size_; }
  //! Copies `n` bytes at `offset`; false if they are not all inside the data.
  bool read(uint64_t offset, void* dst, size_t n) {
    if (!ok_ || offset > size_ || n > size_ - offset)
      return false;
    if (!file_.is_open()) {
      std::memcpy(dst, memory_.data() + offset, n);
      return true;
    }
    file_.clear();
    file_.seekg(std::streamoff(offset));
    file_.read(static_cast<char*>(dst), std::streamsize(n));
    return size_t(file_.gcount()) == n;
  }

private:
  std::ifstream file_;
  std::vector<uint8_t> memory_;
  bool ok_ = false;
  uint64_t size_ = 0;
};

uint16_t load_u16(const uint8_t* p, bool big_endian) {
  return big_endian ? uint16_t(p[0] << 8 | p[1]) : uint16_t(p[0] | p[1] << 8);
}
uint32_t load_u32(const uint8_t* p, bool big_endian) {
  return big_endian ? uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]
                    : uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}

bool is_vr_text(const uint8_t* p) {
  return std::isupper(p[0]) && std::isupper(p[1]);
}

// The value representations of PS3.5 Table 6.2-1. An unknown VR means a corrupt file: GDCM guesses
// at such elements, and a crafted one made it allocate gigabytes.
bool is_known_vr(const char vr[2]) {
  static const char* const known[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
                                      "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
                                      "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
  for (const char* v : known)
    if (vr[0] == v[0] && vr[1] == v[1])
      return true;
  return false;
}

// VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 §7.1.2, Table 7.1-1).
bool has_long_length(const char vr[2]) {
  static const char* const long_vrs[] = {
      "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"};
  for (const char* v : long_vrs)
    if (vr[0] == v[0] && vr[1] == v[1])
      return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// Structural walker

//! The file is truncated or its element structure is inconsistent.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Syntax {
  bool explicit_vr = true;
  bool big_endian = false;
};

struct RawElement {
  std::string bytes;
  std::string vr; //!< empty in implicit VR
  bool big_endian = false;
};

struct WalkResult {
  std::map<uint32_t, RawElement> values; //!< the wanted top-level elements seen so far
  bool has_pixel_data = false;
  bool encapsulated = false;
  uint64_t pixel_data_length = 0; //!< native pixel data only
  uint64_t pixel_data_offset = 0; //!< native pixel data only, in the (inflated) data
};

class HeaderWalker {
public:
  HeaderWalker(ByteSource& source, WalkResult& out) : src_(&source), out_(out) {}

  void walk() {
    uint64_t pos = 0;
    uint8_t head[132];
    const bool part10 = src_->read(0, head, 132) && std::memcmp(head + 128, "DICM", 4) == 0;
    if (part10)
      pos = 132;
    // File Meta Information (PS3.10 §7.1): group 0002, always Explicit VR Little Endian. Files
    // without the 128-byte preamble sometimes still start with it.
    const Syntax meta{true, false};
    uint8_t peek[2];
    std::optional<uint64_t> meta_end; // from File Meta Information Group Length (0002,0000)
    while (src_->read(pos, peek, 2) && load_u16(peek, false) == 0x0002) {
      if (meta_end && pos == *meta_end)
        break;
      Element el = read_header(pos, src_->size(), meta);
      if (el.undefined || el.length > src_->size() - pos - el.header)
        throw Malformed(
            fmt::format("the file is truncated: it ends inside file meta element {}", tag_text(el.tag)));
      keep(el, pos, meta);
      if (el.tag == make_tag(0x0002, 0x0000) && el.length == 4) {
        uint8_t v[4];
        if (src_->read(pos + el.header, v, 4))
          meta_end = pos + el.header + 4 + load_u32(v, false);
      }
      pos += el.header + el.length;
    }
    // GDCM trusts the group length; a wrong one makes it parse a different structure from ours.
    if (meta_end && pos != *meta_end)
      throw Malformed("the File Meta Information Group Length (0002,0000) does not match the meta elements");
    std::string ts;
    if (auto it = out_.values.find(kTransferSyntax); it != out_.values.end())
      ts = trimmed(it->second.bytes);

    Syntax syntax;
    if (ts == "1.2.840.10008.1.2") {
      syntax = {false, false}; // Implicit VR Little Endian
    } else if (ts == "1.2.840.10008.1.2.2") {
      syntax = {true, true}; // Explicit VR Big Endian (retired, PS3.5 A.3)
    } else if (ts == "1.2.840.10008.1.2.1.99") {
      // Deflated Explicit VR Little Endian (PS3.5 A.5): the data set after the meta group is a raw
      // deflate stream.
      inflated_ = std::make_unique<ByteSource>(inflate_rest(pos));
      src_ = inflated_.get();
      pos = 0;
      syntax = {true, false};
    } else if (ts.empty()) {
      // No transfer syntax (ACR-NEMA style file without meta): explicit VR if a VR follows the tag.
      uint8_t first[6];
      syntax.explicit_vr = src_->read(pos, first, 6) && is_vr_text(first + 4);
    }
    walk_dataset(pos, src_->size(), syntax, 0, false, true);
  }

private:
  struct Element {
    uint32_t tag = 0;
    char vr[2] = {0, 0};
    uint64_t length = 0;
    uint64_t header = 8;
    bool undefined = false;
  };
  static constexpr int kMaxDepth = 64;

  static std::string trimmed(const std::string& s) {
    size_t b = s.find_first_not_of(std::string(" \0", 2));
    if (b == std::string::npos)
      return {};
    size_t e = s.find_last_not_of(std::string(" \0", 2));
    return s.substr(b, e - b + 1);
  }

  std::vector<uint8_t> inflate_rest(uint64_t pos) {
    constexpr uint64_t kMaxInflated = 1ull << 31;
    std::vector<uint8_t> in(size_t(src_->size() - pos));
    if (!src_->read(pos, in.data(), in.size()))
      throw Malformed("cannot read the deflated data set");
    z_stream zs{};
    if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
      throw Malformed("cannot inflate the deflated data set");
    std::vector<uint8_t> out;
    uint8_t chunk[1 << 16];
    zs.next_in = in.data();
    zs.avail_in = uInt(in.size());
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
      zs.next_out = chunk;
      zs.avail_out = sizeof chunk;
      rc = inflate(&zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END) {
        inflateEnd(&zs);
        throw Malformed("the deflated data set is truncated or corrupt");
      }
      out.insert(out.end(), chunk, chunk + (sizeof chunk - zs.avail_out));
      if (out.size() > kMaxInflated) {
        inflateEnd(&zs);
        throw Malformed("the deflated data set inflates to more than 2 GiB");
      }
    }
    inflateEnd(&zs);
    return out;
  }

  Element read_header(uint64_t pos, uint64_t end, Syntax sx) {
    uint8_t h[12];
    if (end < 8 || pos > end - 8 || !src_->read(pos, h, 8))
      throw Malformed(
          end >= src_->size()
              ? fmt::format("the file is truncated: it ends inside an element header at byte {}", pos)
              : fmt::format("the element at byte {} crosses the end of its sequence item", pos));
    Element el;
    const uint16_t group = load_u16(h, sx.big_endian);
    el.tag = make_tag(group, load_u16(h + 2, sx.big_endian));
    if (group == 0xFFFE || !sx.explicit_vr) {
      el.length = load_u32(h + 4, sx.big_endian);
      el.undefined = el.length == 0xFFFFFFFFu;
      return el;
    }
    el.vr[0] = char(h[4]);
    el.vr[1] = char(h[5]);
    if (!is_known_vr(el.vr))
      throw Malformed(fmt::format("element {} at byte {} has no valid VR", tag_text(el.tag), pos));
    if (has_long_length(el.vr)) {
      if (end < 12 || pos > end - 12 || !src_->read(pos, h, 12))
        throw Malformed(
            fmt::format("the file is truncated: it ends inside the header of element {}", tag_text(el.tag)));
      el.header = 12;
      el.length = load_u32(h + 8, sx.big_endian);
      el.undefined = el.length == 0xFFFFFFFFu;
    } else {
      el.length = load_u16(h + 6, sx.big_endian);
    }
    return el;
  }

  void keep(const Element& el, uint64_t pos, Syntax sx) {
    if (!kWantedTags.count(el.tag) || el.length > 4096)
      return;
    RawElement raw;
    raw.bytes.resize(size_t(el.length));
    if (el.length && !src_->read(pos + el.header, raw.bytes.data(), raw.bytes.size()))
      throw Malformed(fmt::format("the file is truncated: it ends inside element {}", tag_text(el.tag)));
    if (sx.explicit_vr)
      raw.vr.assign(el.vr, 2);
    raw.big_endian = sx.big_endian;
    out_.values[el.tag] = std::move(raw);
  }

  [[noreturn]] void truncated(const Element& el, uint64_t value, uint64_t end) const {
    const char* name = el.tag == kPixelData ? " PixelData" : "";
    throw Malformed(fmt::format("the file is truncated: element {}{} needs {} bytes but only {} remain",
                                tag_text(el.tag),
                                name,
                                el.length,
                                end - value));
  }

  // Data elements from `pos` to `end`; with `delimited`, up to an Item Delimitation Item instead.
  // Returns the position after the last element.
  uint64_t walk_dataset(uint64_t pos, uint64_t end, Syntax sx, int depth, bool delimited, bool top) {
    if (depth > kMaxDepth)
      throw Malformed("sequences are nested more than 64 levels deep");
    while (true) {
      if (pos == end) {
        if (delimited)
          throw Malformed("the file is truncated: it ends inside a sequence item");
        return pos;
      }
      // A few zero bytes after the last element (some writers pad files to an even length or a
      // block) are padding, not a cut-off element.
      if (top && end - pos < 8) {
        uint8_t rest[8] = {};
        if (!src_->read(pos, rest, size_t(end - pos)) ||
            std::any_of(rest, rest + (end - pos), [](uint8_t b) { return b != 0; }))
          throw Malformed(
              fmt::format("the file is truncated: it ends inside an element header at byte {}", pos));
        return end;
      }
      Element el = read_header(pos, end, sx);
      if (el.tag == kItemDelimitation) {
        if (top)
          throw Malformed(fmt::format("unexpected item delimiter at byte {}", pos));
        return pos + 8;
      }
      if (el.tag == kItem || el.tag == kSequenceDelimitation)
        throw Malformed(fmt::format("unexpected item tag {} at byte {}", tag_text(el.tag), pos));
      const uint64_t value = pos + el.header;
      const bool is_sq = sx.explicit_vr && el.vr[0] == 'S' && el.vr[1] == 'Q';
      const bool is_un = sx.explicit_vr && el.vr[0] == 'U' && el.vr[1] == 'N';
      if (el.undefined) {
        if (el.tag == kPixelData && top) {
          // Encapsulated pixel data (PS3.5 A.4): offset table and fragments as items.
          out_.has_pixel_data = true;
          out_.encapsulated = true;
          pos = walk_fragments(value, end, sx);
        } else if (is_un) {
          // UN of undefined length holds a sequence in Implicit VR Little Endian (PS3.5 §6.2.2).
          pos = walk_sequence(value, end, Syntax{false, false}, depth + 1, true);
        } else if (is_sq || !sx.explicit_vr) {
          pos = walk_sequence(value, end, sx, depth + 1, true);
        } else {
          pos = walk_fragments(value, end, sx);
        }
        continue;
      }
      if (el.length > end - value)
        truncated(el, value, end);
      if (is_sq)
        walk_sequence(value, value + el.length, sx, depth + 1, false);
      if (top) {
        keep(el, pos, sx);
        if (el.tag == kPixelData) {
          out_.has_pixel_data = true;
          out_.pixel_data_length = el.length;
          out_.pixel_data_offset = value;
        }
      }
      pos = value + el.length;
    }
  }

  uint64_t walk_sequence(uint64_t pos, uint64_t end, Syntax sx, int depth, bool delimited) {
    while (true) {
      if (!delimited && pos == end)
        return pos;
      Element it = read_header(pos, end, sx);
      if (it.tag == kSequenceDelimitation) {
        if (delimited)
          return pos + 8;
        pos += 8;
        continue;
      }
      if (it.tag != kItem)
        throw Malformed(fmt::format("expected a sequence item at byte {}, found {}", pos, tag_text(it.tag)));
      if (it.undefined) {
        pos = walk_dataset(pos + 8, end, sx, depth + 1, true, false);
      } else {
        if (it.length > end - pos - 8)
          throw Malformed(fmt::format(
              "the file is truncated: a sequence item at byte {} needs {} bytes", pos, it.length));
        walk_dataset(pos + 8, pos + 8 + it.length, sx, depth + 1, false, false);
        pos += 8 + it.length;
      }
    }
  }

  uint64_t walk_fragments(uint64_t pos, uint64_t end, Syntax sx) {
    while (true) {
      Element it = read_header(pos, end, sx);
      if (it.tag == kSequenceDelimitation)
        return pos + 8;
      if (it.tag != kItem || it.undefined)
        throw Malformed(fmt::format("corrupt encapsulated pixel data at byte {}", pos));
      if (it.length > end - pos - 8)
        throw Malformed(fmt::format(
            "the file is truncated: a pixel data fragment at byte {} needs {} bytes", pos, it.length));
      pos += 8 + it.length;
    }
  }

  ByteSource* src_;
  std::unique_ptr<ByteSource> inflated_;
  WalkResult& out_;
};

//! Part 10 files start with a 128-byte preamble and "DICM" (PS3.10 §7.1); older files without it
//! start directly with a group 0002 or 0008 element.
bool looks_like_dicom(ByteSource& src) {
  uint8_t head[132];
  if (src.read(0, head, 132) && std::memcmp(head + 128, "DICM", 4) == 0)
    return true;
  if (!src.read(0, head, 8))
    return false;
  const uint16_t group = load_u16(head, false), element = load_u16(head + 2, false);
  return (group == 0x0002 || group == 0x0008) && element <= 0x0020 &&
         (is_vr_text(head + 4) || load_u32(head + 4, false) < 1024);
}

// ---------------------------------------------------------------------------------------------
// Attribute values

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  std::string out = s;
  while (!out.empty() && (out.back() == '\0' || std::strchr(ws, out.back())))
    out.pop_back();
  size_t b = 0;
  while (b < out.size() && std::strchr(ws, out[b]) && out[b] != '\0')
    ++b;
  return out.substr(b);
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = uint8_t(s[i]);
    // Lead bytes C0, C1 and F5..FF only start overlong or out-of-range sequences (RFC 3629 §4).
    const size_t n = c < 0x80                          ? 0
                     : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 1
                     : (c & 0xF0) == 0xE0              ? 2
                     : c >= 0xF0 && c <= 0xF4          ? 3
                                                       : 4;
    if (n == 4 || i + n >= s.size())
      return false;
    for (size_t k = 1; k <= n; ++k)
      if ((uint8_t(s[i + k]) & 0xC0) != 0x80)
        return false;
    if (c == 0xED && n == 2 && uint8_t(s[i + 1]) >= 0xA0) // UTF-16 surrogates
      return false;
    i += n + 1;
  }
  return true;
}

// Text of a person name or description as UTF-8 (reports are JSON, which must be UTF-8). The bytes
// are in the SpecificCharacterSet (0008,0005) of the file (PS3.3 C.12.1.1.2); only its first value
// (the single-byte or default repertoire) is honoured here.
std::string to_utf8(const std::string& bytes, const std::string& charset) {
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return uint8_t(c) < 0x80; }))
    return bytes;
  static const std::map<std::string, const char*> iconv_names = {{"ISO_IR 100", "ISO-8859-1"},
                                                                 {"ISO_IR 101", "ISO-8859-2"},
                                                                 {"ISO_IR 109", "ISO-8859-3"},
                                                                 {"ISO_IR 110", "ISO-8859-4"},
                                                                 {"ISO_IR 144", "ISO-8859-5"},
                                                                 {"ISO_IR 127", "ISO-8859-6"},
                                                                 {"ISO_IR 126", "ISO-8859-7"},
                                                                 {"ISO_IR 138", "ISO-8859-8"},
                                                                 {"ISO_IR 148", "ISO-8859-9"},
                                                                 {"ISO_IR 203", "ISO-8859-15"},
                                                                 {"ISO_IR 166", "TIS-620"},
                                                                 {"ISO_IR 13", "SHIFT_JIS"},
                                                                 {"GB18030", "GB18030"},
                                                                 {"GBK", "GBK"}};
  std::string term = trim(charset.substr(0, charset.find('\\')));
  if (term.rfind("ISO 2022 IR ", 0) == 0)
    term = "ISO_IR " + term.substr(12);
  if (auto it = iconv_names.find(term); it != iconv_names.end()) {
    iconv_t cd = iconv_open("UTF-8", it->second);
    if (cd != iconv_t(-1)) {
      std::string in = bytes, out(bytes.size() * 4 + 4, '\0');
      char* ip = in.data();
      char* op = out.data();
      size_t il = in.size(), ol = out.size();
      const size_t rc = iconv(cd, &ip, &il, &op, &ol);
      iconv_close(cd);
      if (rc != size_t(-1) && il == 0)
        return out.substr(0, out.size() - ol);
    }
  }
  // ISO_IR 192, or no/unknown repertoire: many writers put UTF-8 there anyway.
  if (valid_utf8(bytes))
    return bytes;
  // Otherwise read the bytes as Latin-1 so that the text stays valid UTF-8.
  std::string out;
  for (char ch : bytes) {
    const auto c = uint8_t(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += char(0xC0 | c >> 6);
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::optional<double> parse_double(std::string s) {
  s = trim(s);
  if (!s.empty() && s[0] == '+')
    s.erase(0, 1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

// ---------------------------------------------------------------------------------------------
// One file's header

struct SliceHeader {
  fs::path path;
  std::string display; //!< how messages name the file
  std::string problem; //!< non-empty: truncated or malformed
  bool has_pixel_data = false;
  bool encapsulated = false;
  uint64_t pixel_data_length = 0;
  uint64_t pixel_data_offset = 0;

  std::string media_sop_class, sop_class, transfer_syntax, charset;
  std::string modality, series_uid, series_description, patient_id, patient_name, study_date, photometric;
  int series_number = 0;
  std::optional<int> instance_number;
  int rows = 0, columns = 0, samples_per_pixel = 1, frames = 1;
  int bits_allocated = 0, bits_stored = 0, high_bit = 0, pixel_representation = 0;
  std::vector<double> ipp, iop, pixel_spacing;
  std::optional<double> slice_thickness, spacing_between_slices, gantry_tilt;
  double slope = 1, intercept = 0;
};

class Values {
public:
  explicit Values(const std::map<uint32_t, RawElement>& values) : values_(values) {}

  const RawElement* find(uint32_t tag) const {
    auto it = values_.find(tag);
    return it == values_.end() ? nullptr : &it->second;
  }
  std::string text(uint32_t tag) const {
    const RawElement* e = find(tag);
    return e ? trim(e->bytes) : std::string();
  }
  std::vector<double> numbers(uint32_t tag) const {
    std::vector<double> out;
    const RawElement* e = find(tag);
    if (!e)
      return out;
    size_t start = 0;
    const std::string& s = e->bytes;
    while (start <= s.size()) {
      size_t stop = s.find('\\', start);
      if (stop == std::string::npos)
        stop = s.size();
      auto v = parse_double(s.substr(start, stop - start));
      if (!v)
        return {};
      out.push_back(*v);
      start = stop + 1;
    }
    return out;
  }
  std::optional<double> number(uint32_t tag) const {
    auto v = numbers(tag);
    return v.empty() ? std::nullopt : std::optional<double>(v[0]);
  }
  //! IS value (decimal string); tolerates "5.0" as some writers produce.
  std::optional<int> integer(uint32_t tag) const {
    auto v = number(tag);
    if (!v || std::abs(*v) > 2e9 || *v != std::round(*v))
      return std::nullopt;
    return int(*v);
  }
  //! US value (binary, 2 bytes in the file's byte order).
  std::optional<int> ushort(uint32_t tag) const {
    const RawElement* e = find(tag);
    if (!e || e->bytes.size() < 2 || (!e->vr.empty() && e->vr != "US" && e->vr != "SS"))
      return std::nullopt;
    return load_u16(reinterpret_cast<const uint8_t*>(e->bytes.data()), e->big_endian);
  }

private:
  const std::map<uint32_t, RawElement>& values_;
};

SliceHeader read_slice_header(ByteSource& src, const fs::path& path, std::string display) {
  SliceHeader h;
  h.path = path;
  h.display = std::move(display);
  WalkResult walk;
  try {
    HeaderWalker(src, walk).walk();
  } catch (const Malformed& e) {
    h.problem = e.what();
  }
  // Whatever was read before a failure still helps to say which series a broken file belongs to.
  const Values v(walk.values);
  h.has_pixel_data = walk.has_pixel_data;
  h.encapsulated = walk.encapsulated;
  h.pixel_data_length = walk.pixel_data_length;
  h.pixel_data_offset = walk.pixel_data_offset;
  h.media_sop_class = v.text(kMediaStorageSopClass);
  h.sop_class = v.text(kSopClass);
  h.transfer_syntax = v.text(kTransferSyntax);
  h.charset = v.text(kSpecificCharacterSet);
  h.modality = v.text(kModality);
  h.series_uid = v.text(kSeriesInstanceUid);
  h.series_description = to_utf8(v.text(kSeriesDescription), h.charset);
  h.patient_id = to_utf8(v.text(kPatientId), h.charset);
  h.patient_name = to_utf8(v.text(kPatientName), h.charset);
  h.study_date = v.text(kStudyDate);
  h.photometric = v.text(kPhotometricInterpretation);
  h.series_number = v.integer(kSeriesNumber).value_or(0);
  h.instance_number = v.integer(kInstanceNumber);
  h.rows = v.ushort(kRows).value_or(0);
  h.columns = v.ushort(kColumns).value_or(0);
  h.samples_per_pixel = v.ushort(kSamplesPerPixel).value_or(1);
  h.frames = v.integer(kNumberOfFrames).value_or(1);
  h.bits_allocated = v.ushort(kBitsAllocated).value_or(0);
  h.bits_stored = v.ushort(kBitsStored).value_or(h.bits_allocated);
  h.high_bit = v.ushort(kHighBit).value_or(h.bits_stored - 1);
  h.pixel_representation = v.ushort(kPixelRepresentation).value_or(0);
  h.ipp = v.numbers(kImagePositionPatient);
  h.iop = v.numbers(kImageOrientationPatient);
  h.pixel_spacing = v.numbers(kPixelSpacing);
  h.slice_thickness = v.number(kSliceThickness);
  h.spacing_between_slices = v.number(kSpacingBetweenSlices);
  h.gantry_tilt = v.number(kGantryDetectorTilt);
  h.slope = v.number(kRescaleSlope).value_or(1.0);
  h.intercept = v.number(kRescaleIntercept).value_or(0.0);

  // Native pixel data shorter than Rows × Columns × frames × samples × BitsAllocated: a writer cut
  // the file and fixed the length (GDCM would zero-fill the rest).
  if (h.problem.empty() && h.has_pixel_data && !h.encapsulated && h.bits_allocated > 0) {
    const uint64_t bits = uint64_t(h.rows) * uint64_t(h.columns) * uint64_t(std::max(1, h.frames)) *
                          uint64_t(std::max(1, h.samples_per_pixel)) * uint64_t(h.bits_allocated);
    const uint64_t needed = (bits + 7) / 8;
    if (h.pixel_data_length < needed)
      h.problem =
          fmt::format("the file is truncated: PixelData (7FE0,0010) holds {} bytes but {} × {} pixels of "
                      "{} bits need {}",
                      h.pixel_data_length,
                      h.columns,
                      h.rows,
                      h.bits_allocated,
                      needed);
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// Inputs: a folder, a zip (extracted to a private temporary folder) or one file among its siblings

struct DicomInput {
  fs::path given; //!< as the caller named it
  fs::path root;  //!< folder whose files are scanned
  bool recursive = true;
  bool from_zip = false;
  std::optional<fs::path> one_file; //!< a single file was given: read its series among its siblings
  std::unique_ptr<ScratchDir> temp; //!< extracted zip (private: mode 0700)

  std::string display(const fs::path& file) const {
    if (from_zip)
      return fmt::format("{}:{}", given.string(), file.lexically_relative(root).generic_string());
    return file.string();
  }
  std::string describe() const {
    if (from_zip)
      return fmt::format("zip archive {}", given.string());
    if (one_file)
      return fmt::format("folder {} (beside {})", root.string(), one_file->filename().string());
    return fmt::format("folder {}", given.string());
  }
};

void quiet_gdcm() {
  // GDCM reports through its own stderr trace; nervemap reports problems as InputError and
  // warnings, and the CLI promises one `error:` line (design §7).
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
  });
}

DicomInput open_input(const fs::path& path) {
  DicomInput in;
  in.given = path;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw InputError(fmt::format("DICOM input {} does not exist", path.string()));
  if (fs::is_directory(status)) {
    in.root = path;
    return in;
  }
  if (!fs::is_regular_file(status))
    throw InputError(fmt::format("DICOM input {} is neither a folder nor a file", path.string()));
  if (is_zip(path)) {
    in.temp = std::make_unique<ScratchDir>("dicom");
    in.root = in.temp->path();
    in.from_zip = true;
    extract_zip(path, in.root);
    return in;
  }
  // One file: its series is read from the files of the same folder (not its subfolders), so that
  // `--ct IM0001.dcm` gives the whole series, as a viewer opening that file would show it.
  in.root = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  in.recursive = false;
  // Spelled as the folder listing spells it, so that it compares equal to the scanned paths.
  in.one_file = in.root / path.filename();
  return in;
}

struct Scan {
  std::vector<SliceHeader> images; //!< readable files with pixel data
  std::vector<SliceHeader> broken; //!< look like DICOM, but truncated or malformed
  size_t files_seen = 0;
  std::optional<SliceHeader> dicomdir;
};

std::vector<fs::path> files_under(const DicomInput& in) {
  std::vector<fs::path> files;
  std::error_code ec;
  auto add = [&](const fs::directory_entry& entry) {
    std::error_code fec;
    if (entry.is_regular_file(fec))
      files.push_back(entry.path());
  };
  if (in.recursive) {
    for (auto it =
             fs::recursive_directory_iterator(in.root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      add(*it);
  } else {
    for (auto it = fs::directory_iterator(in.root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::directory_iterator();
         it.increment(ec))
      add(*it);
  }
  if (ec)
    throw InputError(fmt::format("cannot list {}: {}", in.root.string(), ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

Scan scan(const DicomInput& in) {
  Scan out;
  for (const fs::path& file : files_under(in)) {
    ++out.files_seen;
    ByteSource src(file);
    if (!src.ok() || !looks_like_dicom(src))
      continue;
    SliceHeader h = read_slice_header(src, file, in.display(file));
    // DICOMDIR (PS3.10 §8.6) indexes the files; it is no image.
    if (h.media_sop_class == kDicomdirSopClass || h.sop_class == kDicomdirSopClass ||
        file.filename() == "DICOMDIR") {
      out.dicomdir = std::move(h);
      continue;
    }
    if (!h.problem.empty())
      out.broken.push_back(std::move(h));
    else if (h.has_pixel_data && !h.series_uid.empty())
      out.images.push_back(std::move(h));
    else if (h.has_pixel_data) {
      h.problem = "it has no SeriesInstanceUID (0020,000E)";
      out.broken.push_back(std::move(h));
    }
    // Files without pixel data (structure sets, reports, presentation states) are not images.
  }
  return out;
}

std::map<std::string, std::vector<SliceHeader>> by_series(std::vector<SliceHeader> images) {
  std::map<std::string, std::vector<SliceHeader>> series;
  for (auto& h : images)
    series[h.series_uid].push_back(std::move(h));
  return series;
}

DicomSeriesInfo summarize(const std::string& uid, const std::vector<SliceHeader>& files) {
  DicomSeriesInfo info;
  info.series_uid = uid;
  const SliceHeader& first = files.front();
  info.description = first.series_description;
  info.modality = first.modality;
  info.series_number = first.series_number;
  info.file_count = files.size();
  int64_t frames = 0;
  for (const auto& f : files)
    frames += std::max(1, f.frames);
  info.dims = {first.columns, first.rows, frames};
  return info;
}

std::vector<DicomSeriesInfo> summaries(const std::map<std::string, std::vector<SliceHeader>>& series) {
  std::vector<DicomSeriesInfo> out;
  for (const auto& [uid, files] : series)
    out.push_back(summarize(uid, files));
  std::stable_sort(out.begin(), out.end(), [](const DicomSeriesInfo& a, const DicomSeriesInfo& b) {
    return a.series_number < b.series_number;
  });
  return out;
}

std::string series_list_text(const std::vector<DicomSeriesInfo>& list) {
  std::string text;
  for (const auto& s : list) {
    if (!text.empty())
      text += "; ";
    text += fmt::format("{} (#{} \"{}\", {}, {} files, {}×{}×{})",
                        s.series_uid,
                        s.series_number,
                        s.description,
                        s.modality.empty() ? "no modality" : s.modality,
                        s.file_count,
                        s.dims[0],
                        s.dims[1],
                        s.dims[2]);
  }
  return text;
}

[[noreturn]] void no_images(const DicomInput& in, const Scan& found) {
  if (!found.broken.empty())
    throw InputError(fmt::format(
        "no readable DICOM image in {}: {} is corrupt ({}){}",
        in.describe(),
        found.broken.front().display,
        found.broken.front().problem,
        found.broken.size() > 1 ? fmt::format(", and {} more files are unreadable", found.broken.size() - 1)
                                : std::string()));
  throw InputError(
      fmt::format("no DICOM image files found in {} ({} files looked at); expected a folder or zip "
                  "of CT slices (.dcm)",
                  in.describe(),
                  found.files_seen));
}

// ---------------------------------------------------------------------------------------------
// Volume assembly

std::string vec_text(const std::vector<double>& v) {
  std::string s;
  for (double x : v)
    s += fmt::format("{}{:g}", s.empty() ? "" : ", ", x);
  return "(" + s + ")";
}

std::string vec_text(const Vec3& v) {
  return fmt::format("({:g}, {:g}, {:g})", v[0], v[1], v[2]);
}

void check_slice(const SliceHeader& s, const std::string& series) {
  if (s.sop_class == kEnhancedCtSopClass || s.sop_class == kLegacyEnhancedCtSopClass || s.frames > 1)
    throw InputError(
        fmt::format("{} is a multi-frame image ({} frames, e.g. Enhanced CT); nervemap reads classic "
                    "CT series with one slice per file — export series {} as single-frame CT Image "
                    "Storage",
                    s.display,
                    s.frames,
                    series));
  if (s.samples_per_pixel != 1)
    throw InputError(fmt::format("{} is not a greyscale image ({} samples per pixel, {}); a CT slice has one",
                                 s.display,
                                 s.samples_per_pixel,
                                 s.photometric));
  if (s.rows <= 0 || s.columns <= 0)
    throw InputError(fmt::format("{} has no Rows/Columns (0028,0010/0011)", s.display));
  // Image Pixel Module (PS3.3 C.7.6.3); a CT has 16 bits allocated (C.8.2.1.1.4), 8 and 32 are
  // accepted for other modalities. Anything else is damage, and GDCM's codecs assert on it.
  if ((s.bits_allocated != 8 && s.bits_allocated != 16 && s.bits_allocated != 32) || s.bits_stored < 1 ||
      s.bits_stored > s.bits_allocated || s.high_bit >= s.bits_allocated || s.high_bit < s.bits_stored - 1 ||
      (s.pixel_representation != 0 && s.pixel_representation != 1))
    throw InputError(
        fmt::format("{} has an invalid or unsupported pixel format: BitsAllocated {}, BitsStored {}, "
                    "HighBit {}, PixelRepresentation {}",
                    s.display,
                    s.bits_allocated,
                    s.bits_stored,
                    s.high_bit,
                    s.pixel_representation));
  if (s.ipp.size() != 3)
    throw InputError(
        fmt::format("{} has no valid ImagePositionPatient (0020,0032): without it the slice cannot be "
                    "placed in the patient (PS3.3 C.7.6.2)",
                    s.display));
  if (s.iop.size() != 6)
    throw InputError(fmt::format("{} has no valid ImageOrientationPatient (0020,0037): without it the slice "
                                 "orientation is unknown (PS3.3 C.7.6.2)",
                                 s.display));
  if (s.pixel_spacing.size() != 2 || !(s.pixel_spacing[0] > 0) || !(s.pixel_spacing[1] > 0))
    throw InputError(fmt::format("{} has no valid PixelSpacing (0028,0030)", s.display));
}

struct PixelLayout {
  size_t bytes = 2; //!< per pixel in the buffer: 1, 2 or 4 (little-endian)
  bool is_signed = false;
  int bits_stored = 16;
  int high_bit = 15;
};

//! Stored values → HU = stored × slope + intercept (PS3.3 C.11.1.1.2, per slice).
void stored_to_hu(const uint8_t* data,
                  size_t count,
                  const PixelLayout& layout,
                  double slope,
                  double intercept,
                  float* out) {
  const int width = int(layout.bytes * 8);
  // Only BitsStored of the allocated bits hold the value (PS3.5 §8.1.1); CT requires High Bit =
  // Bits Stored − 1 (PS3.3 C.8.2.1.1), so the value sits in the low bits: mask off whatever the
  // unused high bits hold (overlays in old files) and sign-extend from the stored width.
  const int bits =
      layout.bits_stored > 0 && layout.bits_stored < width && layout.high_bit == layout.bits_stored - 1
          ? layout.bits_stored
          : width;
  const uint32_t mask = bits == 32 ? 0xFFFFFFFFu : (uint32_t(1) << bits) - 1;
  for (size_t p = 0; p < count; ++p) {
    const uint8_t* b = data + p * layout.bytes;
    uint32_t raw = b[0];
    if (layout.bytes >= 2)
      raw |= uint32_t(b[1]) << 8;
    if (layout.bytes == 4)
      raw |= uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
    raw &= mask;
    const int64_t value =
        layout.is_signed && (raw >> (bits - 1)) & 1 ? int64_t(raw) - (int64_t(1) << bits) : int64_t(raw);
    out[p] = float(double(value) * slope + intercept);
  }
}

//! Uncompressed little-endian pixel data is read straight from the offset the walker found.
bool is_native_little_endian(const SliceHeader& s) {
  return !s.encapsulated && s.transfer_syntax != "1.2.840.10008.1.2.2" &&
         s.transfer_syntax != "1.2.840.10008.1.2.1.99" &&
         (s.bits_allocated == 8 || s.bits_allocated == 16 || s.bits_allocated == 32);
}

void decode_native(const SliceHeader& s, float* out) {
  const size_t count = size_t(s.rows) * size_t(s.columns);
  PixelLayout layout;
  layout.bytes = size_t(s.bits_allocated / 8);
  layout.is_signed = s.pixel_representation == 1;
  layout.bits_stored = s.bits_stored;
  layout.high_bit = s.high_bit;
  std::vector<uint8_t> buffer(count * layout.bytes);
  ByteSource src(s.path);
  if (!src.read(s.pixel_data_offset, buffer.data(), buffer.size()))
    throw InputError(
        fmt::format("{}: cannot read its pixel data (the file changed or is truncated)", s.display));
  stored_to_hu(buffer.data(), count, layout, s.slope, s.intercept, out);
}

//! Compressed (JPEG, JPEG-LS, JPEG 2000, RLE), deflated or big-endian pixel data, decoded by GDCM.
void decode_with_gdcm(const SliceHeader& s, float* out) {
  static_assert(std::endian::native == std::endian::little, "GDCM buffers are in host byte order");
  gdcm::ImageReader reader;
  reader.SetFileName(s.path.c_str());
  if (!reader.Read())
    throw InputError(fmt::format("{}: GDCM cannot read the image (transfer syntax {})",
                                 s.display,
                                 s.transfer_syntax.empty() ? "unknown" : s.transfer_syntax));
  const gdcm::Image& image = reader.GetImage();
  if (image.GetColumns() != unsigned(s.columns) || image.GetRows() != unsigned(s.rows))
    throw InputError(fmt::format("{}: decoded image is {}×{}, header says {}×{}",
                                 s.display,
                                 image.GetColumns(),
                                 image.GetRows(),
                                 s.columns,
                                 s.rows));
  const gdcm::PixelFormat& pf = image.GetPixelFormat();
  const size_t count = size_t(s.rows) * size_t(s.columns);
  const size_t length = image.GetBufferLength();
  if (pf.GetSamplesPerPixel() != 1 || length % count != 0)
    throw InputError(fmt::format(
        "{}: unexpected decoded pixel layout ({} bytes for {} pixels)", s.display, length, count));
  PixelLayout layout;
  layout.bytes = length / count;
  if (layout.bytes != 1 && layout.bytes != 2 && layout.bytes != 4)
    throw InputError(fmt::format("{}: unsupported pixel size of {} bytes", s.display, layout.bytes));
  layout.is_signed = pf.GetPixelRepresentation() == 1;
  layout.bits_stored = pf.GetBitsStored();
  layout.high_bit = pf.GetHighBit();
  std::vector<char> buffer(length);
  if (!image.GetBuffer(buffer.data()))
    throw InputError(fmt::format("{}: the pixel data cannot be decoded (transfer syntax {}); the file may be "
                                 "corrupt",
                                 s.display,
                                 s.transfer_syntax));
  stored_to_hu(reinterpret_cast<const uint8_t*>(buffer.data()), count, layout, s.slope, s.intercept, out);
}

//! Anonymous shared memory, visible to a forked child; unmapped on scope exit.
class SharedMemory {
public:
  explicit SharedMemory(size_t bytes) : size_(std::max<size_t>(bytes, 1)) {
    data_ = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (data_ == MAP_FAILED)
      throw std::runtime_error(
          fmt::format("cannot map {} bytes of shared memory: {}", size_, std::strerror(errno)));
  }
  ~SharedMemory() { munmap(data_, size_); }
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;
  void* data() const { return data_; }

private:
  size_t size_;
  void* data_;
};

struct ChildReport {
  int32_t current = -1; //!< slice being decoded
  char message[1024] = {};
};

// Compressed slices are decoded by GDCM in a forked child process. GDCM 3.0.21's codecs are not
// safe on damaged data: its RLE and JPEG codecs abort on assertions and its JPEG 2000 path can
// corrupt the heap (found by corrupting gdcmconv-compressed copies of the fixtures). In a child, a
// damaged file costs an InputError naming it instead of the CLI or the web service. The child only
// decodes into shared memory and leaves with _exit(); it also gets an address-space limit and the
// parent a deadline, against runaway allocations and loops on crafted data.
void decode_compressed_isolated(const std::vector<const SliceHeader*>& slices,
                                const std::vector<float*>& targets) {
  if (slices.empty())
    return;
  const size_t count = size_t(slices.front()->rows) * size_t(slices.front()->columns);
  SharedMemory shared(sizeof(ChildReport) + slices.size() * count * sizeof(float));
  auto* report = new (shared.data()) ChildReport();
  auto* pixels = reinterpret_cast<float*>(static_cast<char*>(shared.data()) + sizeof(ChildReport));

  std::fflush(nullptr); // no buffered output written twice
  const pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(fmt::format("cannot start a decoder process: {}", std::strerror(errno)));
  if (pid == 0) {
    // The decoders' assertion messages are no business of the user: the parent reports the file.
    if (const int null = ::open("/dev/null", O_WRONLY); null >= 0)
      dup2(null, STDERR_FILENO);
    long pages = 0;
    if (std::ifstream statm("/proc/self/statm"); statm >> pages) {
      const rlim_t limit = rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(4) << 30);
      const rlimit rl{limit, limit};
      setrlimit(RLIMIT_AS, &rl);
    }
    for (size_t n = 0; n < slices.size(); ++n) {
      report->current = int32_t(n);
      try {
        decode_with_gdcm(*slices[n], pixels + n * count);
      } catch (const std::exception& e) {
        std::snprintf(report->message, sizeof report->message, "%s", e.what());
        _exit(1);
      } catch (...) {
        _exit(2);
      }
    }
    _exit(0);
  }

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30 + 2 * slices.size());
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      break;
    if (done < 0 && errno != EINTR)
      throw std::runtime_error(fmt::format("lost the decoder process: {}", std::strerror(errno)));
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      status = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const int current = std::clamp(report->current, 0, int(slices.size()) - 1);
  const SliceHeader& at = *slices[size_t(current)];
  if (status == -1)
    throw InputError(
        fmt::format("{}: decoding its compressed pixel data (transfer syntax {}) did not finish; the "
                    "file is probably corrupt",
                    at.display,
                    at.transfer_syntax));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
    throw InputError(std::string(report->message, strnlen(report->message, sizeof report->message)));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw InputError(fmt::format(
        "{}: its compressed pixel data (transfer syntax {}) is corrupt: the decoder {}",
        at.display,
        at.transfer_syntax,
        WIFSIGNALED(status) ? fmt::format("crashed (signal {})", WTERMSIG(status)) : std::string("failed")));
  for (size_t n = 0; n < slices.size(); ++n)
    std::copy(pixels + n * count, pixels + (n + 1) * count, targets[n]);
}

struct Placement {
  size_t index;     //!< into the slice list
  double along = 0; //!< dot(IPP, normal)
};

CtImage assemble(std::vector<SliceHeader> slices, bool from_zip, Warnings& warnings) {
  const SliceHeader& first = slices.front();
  const std::string series =
      fmt::format("{} (#{} \"{}\")", first.series_uid, first.series_number, first.series_description);
  if (first.modality != "CT")
    warnings.add(fmt::format("series {} has modality {}, not CT: its values may not be Hounsfield units",
                             series,
                             first.modality.empty() ? "(none)" : first.modality));

  // Every slice must describe the same image plane geometry (PS3.3 C.7.6.2).
  for (const auto& s : slices) {
    check_slice(s, series);
    if (s.rows != first.rows || s.columns != first.columns)
      throw InputError(fmt::format("slices of series {} differ in size: {} is {}×{} but {} is {}×{}",
                                   series,
                                   first.display,
                                   first.columns,
                                   first.rows,
                                   s.display,
                                   s.columns,
                                   s.rows));
    for (int c = 0; c < 6; ++c)
      if (std::abs(s.iop[size_t(c)] - first.iop[size_t(c)]) > 1e-4)
        throw InputError(
            fmt::format("slices of series {} differ in orientation: {} has ImageOrientationPatient {} "
                        "but {} has {} (a localizer in the series, or several stacks?)",
                        series,
                        first.display,
                        vec_text(first.iop),
                        s.display,
                        vec_text(s.iop)));
    for (int c = 0; c < 2; ++c)
      if (std::abs(s.pixel_spacing[size_t(c)] - first.pixel_spacing[size_t(c)]) > 1e-4)
        throw InputError(fmt::format("slices of series {} differ in PixelSpacing: {} has {} but {} has {}",
                                     series,
                                     first.display,
                                     vec_text(first.pixel_spacing),
                                     s.display,
                                     vec_text(s.pixel_spacing)));
  }

  Vec3 row(first.iop[0], first.iop[1], first.iop[2]);
  Vec3 col(first.iop[3], first.iop[4], first.iop[5]);
  if (row.norm() < 0.5 || col.norm() < 0.5 || std::abs(row.normalized().dot(col.normalized())) > 1e-3)
    throw InputError(
        fmt::format("{}: ImageOrientationPatient {} does not hold two perpendicular unit vectors",
                    first.display,
                    vec_text(first.iop)));
  row.normalize();
  col.normalize();
  const Vec3 normal = row.cross(col).normalized();

  std::vector<Placement> order(slices.size());
  for (size_t n = 0; n < slices.size(); ++n) {
    const Vec3 ipp(slices[n].ipp[0], slices[n].ipp[1], slices[n].ipp[2]);
    order[n] = {n, ipp.dot(normal)};
  }
  std::stable_sort(
      order.begin(), order.end(), [](const Placement& a, const Placement& b) { return a.along < b.along; });
  auto ipp_of = [&](size_t k) {
    const auto& p = slices[order[k].index].ipp;
    return Vec3(p[0], p[1], p[2]);
  };
  auto name_of = [&](size_t k) -> const std::string& { return slices[order[k].index].display; };

  const int64_t nk = int64_t(slices.size());
  Geometry g;
  g.dims = {first.columns, first.rows, nk};
  g.origin = ipp_of(0);
  // PixelSpacing = [between rows (along the column vector, j), between columns (along the row vector, i)].
  g.spacing = Vec3(first.pixel_spacing[1], first.pixel_spacing[0], 1.0);
  g.direction.col(0) = row;
  g.direction.col(1) = col;
  g.direction.col(2) = normal;

  if (nk == 1) {
    std::string source;
    if (first.spacing_between_slices && *first.spacing_between_slices > 0) {
      g.spacing[2] = *first.spacing_between_slices;
      source = "taken from SpacingBetweenSlices (0018,0088)";
    } else if (first.slice_thickness && *first.slice_thickness > 0) {
      g.spacing[2] = *first.slice_thickness;
      source = "taken from SliceThickness (0018,0050)";
    } else {
      source = "assumed (neither SpacingBetweenSlices nor SliceThickness is set)";
    }
    warnings.add(fmt::format(
        "series {} has a single slice: its slice spacing of {:g} mm is {}", series, g.spacing[2], source));
  } else {
    // Steps between neighbours along the normal: duplicates and gaps are errors, not guesses.
    std::vector<double> steps;
    for (int64_t k = 0; k + 1 < nk; ++k) {
      const double step = order[size_t(k + 1)].along - order[size_t(k)].along;
      if (step < 1e-3)
        throw InputError(
            fmt::format("series {} has two slices at the same position ({:.3f} mm along the slice "
                        "normal): {} and {}; the folder may hold a repeated or second reconstruction "
                        "with the same SeriesInstanceUID",
                        series,
                        order[size_t(k)].along,
                        name_of(size_t(k)),
                        name_of(size_t(k + 1))));
      steps.push_back(step);
    }
    std::vector<double> sorted_steps = steps;
    std::nth_element(
        sorted_steps.begin(), sorted_steps.begin() + long(sorted_steps.size() / 2), sorted_steps.end());
    const double usual = sorted_steps[sorted_steps.size() / 2];
    for (size_t k = 0; k < steps.size(); ++k)
      if (std::abs(steps[k] - usual) > std::max(0.01 * usual, 0.01))
        throw InputError(
            fmt::format("series {} has non-uniform slice spacing: between slice {} ({}, {:.3f} mm along "
                        "the normal) and slice {} ({}, {:.3f} mm) the step is {:.4g} mm where the "
                        "usual step is {:.4g} mm; a slice is missing or the series mixes stacks",
                        series,
                        k,
                        name_of(k),
                        order[k].along,
                        k + 1,
                        name_of(k + 1),
                        order[k + 1].along,
                        steps[k],
                        usual));

    // The mean step vector; every actual step must agree with it, also in-plane.
    const Vec3 step = (ipp_of(size_t(nk - 1)) - ipp_of(0)) / double(nk - 1);
    for (int64_t k = 0; k + 1 < nk; ++k) {
      const Vec3 actual = ipp_of(size_t(k + 1)) - ipp_of(size_t(k));
      if ((actual - step).norm() > std::max(0.01 * step.norm(), 0.01))
        throw InputError(
            fmt::format("series {}: slice positions do not lie on a straight line: the step from {} to "
                        "{} is {} mm, the mean step is {} mm",
                        series,
                        name_of(size_t(k)),
                        name_of(size_t(k + 1)),
                        vec_text(actual),
                        vec_text(step)));
    }

    const double along = step.dot(normal);
    const Vec3 in_plane = step - along * normal;
    // Gantry tilt (GantryDetectorTilt (0018,1120), CT Image Module PS3.3 C.8.2.1): the table moves
    // along its axis while the image plane is tilted, so the step between the IPPs (C.7.6.2.1.1) has
    // an in-plane component. An orthogonal
    // stack along the normal would misplace slice k by k·|in-plane step|. We keep the true positions
    // with a sheared k axis once that drift over the stack exceeds 0.01 mm (IPP rounding by real
    // scanners stays below it).
    if (in_plane.norm() * double(nk - 1) > 0.01) {
      const double angle = std::acos(std::clamp(along / step.norm(), -1.0, 1.0)) * 180.0 / std::numbers::pi;
      g.direction.col(2) = step.normalized();
      g.spacing[2] = step.norm();
      std::string tag_note;
      if (first.gantry_tilt && std::abs(*first.gantry_tilt) > 0)
        tag_note = fmt::format(" (GantryDetectorTilt (0018,1120) says {:g}°)", *first.gantry_tilt);
      warnings.add(
          fmt::format("series {}: gantry tilt of {:.1f}°; voxels kept at their true positions (sheared "
                      "slice axis){}",
                      series,
                      angle,
                      tag_note));
    } else {
      g.spacing[2] = (order.back().along - order.front().along) / double(nk - 1);
    }
  }
  g.validate(fmt::format("DICOM series {}", series));
  if (g.voxel_count() > (int64_t(1) << 31))
    throw InputError(fmt::format(
        "series {} has {} voxels, more than nervemap reads ({})", series, g.voxel_count(), g.describe()));

  CtImage out;
  out.volume = CtVolume(g);
  // Slices as HU, row-major (i fastest, then j) as the volume stores them: uncompressed ones read
  // here, the others decoded by GDCM in one isolated child process.
  const size_t per_slice = size_t(g.dims[0] * g.dims[1]);
  std::vector<const SliceHeader*> compressed;
  std::vector<float*> compressed_targets;
  for (int64_t k = 0; k < nk; ++k) {
    const SliceHeader& s = slices[order[size_t(k)].index];
    float* target = out.volume.data.data() + size_t(k) * per_slice;
    if (is_native_little_endian(s)) {
      decode_native(s, target);
    } else {
      compressed.push_back(&s);
      compressed_targets.push_back(target);
    }
  }
  decode_compressed_isolated(compressed, compressed_targets);

  const SliceHeader& lead = slices[order.front().index];
  out.patient.id = lead.patient_id;
  out.patient.name = lead.patient_name;
  out.patient.study_date = lead.study_date;
  out.patient.series_uid = lead.series_uid;
  out.source_format = from_zip ? "dicom-zip" : "dicom";
  return out;
}

} // namespace

std::vector<DicomSeriesInfo> list_dicom_series(const fs::path& folder_or_zip) {
  const DicomInput in = open_input(folder_or_zip);
  Scan found = scan(in);
  if (in.one_file && found.dicomdir && found.dicomdir->path == *in.one_file)
    return list_dicom_series(in.root); // a DICOMDIR (PS3.10 §8.6): the folder it indexes
  if (in.one_file) {
    // One file given: list only the series it belongs to (its siblings complete it).
    auto self = std::find_if(found.images.begin(), found.images.end(), [&](const SliceHeader& h) {
      return h.path == *in.one_file;
    });
    const std::string uid = self == found.images.end() ? std::string() : self->series_uid;
    std::erase_if(found.images, [&](const SliceHeader& h) { return h.series_uid != uid; });
  }
  if (found.images.empty())
    no_images(in, found);
  return summaries(by_series(std::move(found.images)));
}

CtImage read_dicom_ct(const fs::path& folder_or_zip, const std::string& series_uid, Warnings& warnings) {
  quiet_gdcm();
  DicomInput in = open_input(folder_or_zip);
  Scan found = scan(in);
  std::string wanted = series_uid;

  if (in.one_file) {
    if (found.dicomdir && found.dicomdir->path == *in.one_file) {
      // A DICOMDIR names the files of a DICOM medium: read the folder it indexes instead.
      return read_dicom_ct(in.root, series_uid, warnings);
    }
    auto self = [&](const SliceHeader& h) { return h.path == *in.one_file; };
    if (auto it = std::find_if(found.broken.begin(), found.broken.end(), self); it != found.broken.end())
      throw InputError(fmt::format("{} is corrupt: {}", it->display, it->problem));
    auto it = std::find_if(found.images.begin(), found.images.end(), self);
    if (it == found.images.end())
      throw InputError(
          fmt::format("{} is not a DICOM image (no pixel data or not DICOM)", in.one_file->string()));
    if (!wanted.empty() && wanted != it->series_uid)
      throw InputError(fmt::format(
          "{} belongs to series {}, not to the requested --series {}", it->display, it->series_uid, wanted));
    wanted = it->series_uid;
  }
  if (found.images.empty())
    no_images(in, found);

  auto series = by_series(std::move(found.images));
  const auto list = summaries(series);
  if (wanted.empty()) {
    if (series.size() > 1)
      throw InputError(fmt::format("{} holds {} DICOM series; choose one with --series UID: {}",
                                   in.describe(),
                                   series.size(),
                                   series_list_text(list)));
    wanted = series.begin()->first;
  }
  auto chosen = series.find(wanted);
  if (chosen == series.end())
    throw InputError(
        fmt::format("series {} is not in {}; available: {}", wanted, in.describe(), series_list_text(list)));

  // A corrupt file of the chosen series would leave a hole: refuse. Other unreadable files are
  // reported, since they may be why an expected series is missing.
  size_t unrelated = 0;
  const SliceHeader* first_unrelated = nullptr;
  for (const auto& b : found.broken) {
    if (b.series_uid == wanted)
      throw InputError(fmt::format("{} of series {} is corrupt: {}", b.display, wanted, b.problem));
    if (!first_unrelated)
      first_unrelated = &b;
    ++unrelated;
  }
  if (unrelated)
    warnings.add(fmt::format("{} file(s) in {} look like DICOM but cannot be read (first: {}: {})",
                             unrelated,
                             in.describe(),
                             first_unrelated->display,
                             first_unrelated->problem));

  return assemble(std::move(chosen->second), in.from_zip, warnings);
}

} // namespace nervemap::io
