// Internal to the io module (not a public header): the pieces of the DICOM reader shared by its files —
// the PS3.5 header walker (dicom_header.cpp), attribute values and text (dicom_values.cpp), one file's
// header (dicom_slice.cpp), inputs and series (dicom_scan.cpp), pixel decoding (dicom_decode.cpp, the
// only one that includes GDCM) and volume assembly with the public entry points (dicom.cpp).
#pragma once

#include "io/io.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nervemap::io::dicom {

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

// Transfer syntaxes the walker and the native decoder tell apart (PS3.5 §10, Annex A).
constexpr const char* kImplicitVrLittleEndian = "1.2.840.10008.1.2";
constexpr const char* kExplicitVrBigEndian = "1.2.840.10008.1.2.2";               // retired, PS3.5 A.3
constexpr const char* kDeflatedExplicitVrLittleEndian = "1.2.840.10008.1.2.1.99"; // PS3.5 A.5

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

inline uint16_t load_u16(const uint8_t* p, bool big_endian) {
  return big_endian ? uint16_t(p[0] << 8 | p[1]) : uint16_t(p[0] | p[1] << 8);
}
inline uint32_t load_u32(const uint8_t* p, bool big_endian) {
  return big_endian ? uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]
                    : uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | p[0];
}

// ---------------------------------------------------------------------------------------------
// Structural walker (dicom_header.cpp)

//! The file is truncated or its element structure is inconsistent.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
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

//! Walks the whole data set (PS3.5 §7), keeping the top-level attributes the reader uses and where
//! the pixel data lies. Throws Malformed for a truncated or inconsistent file; `out` then holds what
//! was read before the fault.
void walk_header(ByteSource& source, WalkResult& out);

//! Part 10 files start with a 128-byte preamble and "DICM" (PS3.10 §7.1); older files without it
//! start directly with a group 0002 or 0008 element.
bool looks_like_dicom(ByteSource& src);
bool looks_like_dicom(const fs::path& file);

// ---------------------------------------------------------------------------------------------
// Attribute values (dicom_values.cpp)

//! Without the padding of a value (PS3.5 §6.2): trailing white space and NULs, leading white space.
std::string trim(const std::string& s);
//! Text of a person name or description as UTF-8, from the bytes in `charset`, the file's
//! SpecificCharacterSet (0008,0005).
std::string to_utf8(const std::string& bytes, const std::string& charset);
//! A DS or IS value: one finite number, optionally signed, nothing else around it but padding.
std::optional<double> parse_double(std::string s);

//! Typed access to the elements a walk kept.
class Values {
public:
  explicit Values(const std::map<uint32_t, RawElement>& values) : values_(values) {}

  const RawElement* find(uint32_t tag) const;
  std::string text(uint32_t tag) const;
  //! All values of a multi-valued DS (backslash-separated); empty if any is not a number.
  std::vector<double> numbers(uint32_t tag) const;
  std::optional<double> number(uint32_t tag) const;
  //! IS value (decimal string); tolerates "5.0" as some writers produce.
  std::optional<int> integer(uint32_t tag) const;
  //! US value (binary, 2 bytes in the file's byte order).
  std::optional<int> ushort(uint32_t tag) const;

private:
  const std::map<uint32_t, RawElement>& values_;
};

// ---------------------------------------------------------------------------------------------
// One file's header (dicom_slice.cpp)

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

//! The header of one file; a truncated or malformed file comes back with `problem` set and whatever
//! attributes were read before the fault (they still tell which series it belongs to).
SliceHeader read_slice_header(ByteSource& src, const fs::path& path, std::string display);

// ---------------------------------------------------------------------------------------------
// Inputs and series (dicom_scan.cpp): a folder, a zip (extracted to a private scratch folder) or one
// file among its siblings

struct DicomInput {
  fs::path given; //!< as the caller named it
  fs::path root;  //!< folder whose files are scanned
  bool recursive = true;
  bool from_zip = false;
  std::optional<fs::path> one_file; //!< a single file was given: read its series among its siblings
  std::unique_ptr<ScratchDir> temp; //!< extracted zip (private: mode 0700)

  std::string display(const fs::path& file) const;
  std::string describe() const;
};

DicomInput open_input(const fs::path& path);

struct Scan {
  std::vector<SliceHeader> images; //!< readable files with pixel data
  std::vector<SliceHeader> broken; //!< look like DICOM, but truncated or malformed
  size_t files_seen = 0;
  std::optional<SliceHeader> dicomdir;
};

//! Reads the header of every file of the input (sorted by path); files that are not DICOM are skipped.
Scan scan(const DicomInput& in);

using SeriesFiles = std::map<std::string, std::vector<SliceHeader>>; //!< by SeriesInstanceUID
SeriesFiles by_series(std::vector<SliceHeader> images);
//! One summary per series, sorted by series number.
std::vector<DicomSeriesInfo> summaries(const SeriesFiles& series);
std::string series_list_text(const std::vector<DicomSeriesInfo>& list);
//! The error for an input without a readable image: its first corrupt file, or what was looked at.
[[noreturn]] void no_images(const DicomInput& in, const Scan& found);

// ---------------------------------------------------------------------------------------------
// Pixel data (dicom_decode.cpp)

//! Silences GDCM's own stderr trace, once per process.
void quiet_gdcm();
//! Uncompressed little-endian pixel data, read straight from the offset the walker found.
bool is_native_little_endian(const SliceHeader& s);
//! One native slice as HU (stored × slope + intercept), row-major into `out`.
void decode_native(const SliceHeader& s, float* out);
//! Compressed, deflated or big-endian slices as HU into `targets`, decoded by GDCM in one sandboxed
//! child process; a damaged file is an InputError naming it.
void decode_compressed_isolated(const std::vector<const SliceHeader*>& slices,
                                const std::vector<float*>& targets);

} // namespace nervemap::io::dicom
