// nervemap io, DICOM: the structural header walker and the content check for DICOM files.
//
// Headers are read by a small structural walker of our own (PS3.5 §7: data elements, sequences and
// items; implicit or explicit VR; both byte orders; deflate) rather than by GDCM, for two reasons:
//  - Debian's GDCM 3.0.21 is built with assertions on and aborts the whole process on some truncated
//    files (a file ending inside a sequence item trips `assert(0)` in gdcmItem.h), and it silently
//    zero-fills truncated pixel data ("Incomplete Pixel Data found"). The walker proves that every
//    element lies inside the file before GDCM ever opens it.
//  - Scanning only needs ~30 top-level attributes; the walker seeks over pixel data, so listing a
//    folder of 1000 slices reads a few kilobytes per file.
#include "io/internal_dicom.h"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>
#include <set>
#include <zlib.h>

namespace nervemap::io::dicom {
namespace {

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

std::string tag_text(uint32_t tag) {
  return fmt::format("({:04X},{:04X})", tag >> 16, tag & 0xFFFF);
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

struct Syntax {
  bool explicit_vr = true;
  bool big_endian = false;
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
    if (ts == kImplicitVrLittleEndian) {
      syntax = {false, false}; // Implicit VR Little Endian
    } else if (ts == kExplicitVrBigEndian) {
      syntax = {true, true}; // Explicit VR Big Endian (retired, PS3.5 A.3)
    } else if (ts == kDeflatedExplicitVrLittleEndian) {
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

} // namespace

void walk_header(ByteSource& source, WalkResult& out) {
  HeaderWalker(source, out).walk();
}

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

bool looks_like_dicom(const fs::path& file) {
  ByteSource src(file);
  return src.ok() && looks_like_dicom(src);
}

} // namespace nervemap::io::dicom
