// Internal to the io module (not a public header): the NIfTI-1 on-disk header layout and the gzip
// helpers shared by the NIfTI reader, the writer and probe(). The module's public API is io.h.
#pragma once

#include "io/io.h"

#include <cstddef>
#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nervemap::io::nifti {

//! The 348-byte NIfTI-1 header exactly as on disk (nifti1.h, "struct nifti_1_header"). Its fields are
//! naturally aligned, so the struct has no padding and can be memcpy'd to and from the file bytes.
struct RawHeader {
  int32_t sizeof_hdr;
  char data_type[10];
  char db_name[18];
  int32_t extents;
  int16_t session_error;
  char regular;
  uint8_t dim_info;
  int16_t dim[8];
  float intent_p1, intent_p2, intent_p3;
  int16_t intent_code;
  int16_t datatype;
  int16_t bitpix;
  int16_t slice_start;
  float pixdim[8];
  float vox_offset;
  float scl_slope, scl_inter;
  int16_t slice_end;
  char slice_code;
  uint8_t xyzt_units;
  float cal_max, cal_min;
  float slice_duration, toffset;
  int32_t glmax, glmin;
  char descrip[80];
  char aux_file[24];
  int16_t qform_code, sform_code;
  float quatern_b, quatern_c, quatern_d;
  float qoffset_x, qoffset_y, qoffset_z;
  float srow_x[4], srow_y[4], srow_z[4];
  char intent_name[16];
  char magic[4];
};
static_assert(sizeof(RawHeader) == 348, "NIfTI-1 header must be 348 bytes");

constexpr size_t header_bytes = 348;
constexpr size_t first_data_offset = 352; //!< 348 + the 4-byte "extender" (NIfTI-1 §extensions)
constexpr int64_t max_voxels = int64_t(1) << 34;

//! NIfTI datatype codes this reader understands (nifti1.h DT_*).
enum Datatype : int16_t {
  dt_uint8 = 2,
  dt_int16 = 4,
  dt_int32 = 8,
  dt_float32 = 16,
  dt_float64 = 64,
  dt_int8 = 256,
  dt_uint16 = 512,
  dt_uint32 = 768,
  dt_int64 = 1024,
  dt_uint64 = 1280,
};

//! The label table extension of a header: the first CaretExtension XML (TotalSegmentator writes
//! ecode 0, Connectome Workbench 30), or null.
const std::string* caret_extension(const NiftiHeader& header);

//! Bytes per voxel of a supported scalar datatype, or 0 when unsupported.
int datatype_bytes(int datatype);
//! Human name of any NIfTI datatype code ("uint8", "complex64", "RGB24", ...), for messages.
std::string datatype_name(int datatype);

//! Everything the reader derived from a header: the public facts plus what it needs for the data.
struct ParsedHeader {
  NiftiHeader info;
  bool big_endian = false;
  int bytes_per_voxel = 0;
  int64_t voxel_count = 0;
  int64_t data_bytes = 0;
  bool has_extensions = false;   //!< extender byte 0 set: extensions fill [352, vox_offset)
  std::string transform_warning; //!< sform/qform disagreement, empty if none
};

//! Parse the fixed 348 (+4) header bytes: byte order, magic, dims, datatype, scaling, geometry.
//! `bytes` may be shorter than 352 only when the file is (then: truncated header error).
ParsedHeader parse_header(std::span<const uint8_t> bytes, const std::string& file);
//! Parse the extensions stored in bytes [352, vox_offset) of the file (`bytes` starts at file byte 0).
void parse_extensions(std::span<const uint8_t> bytes, ParsedHeader& header, const std::string& file);

//! The voxel → RAS affine of a qform (NIfTI-1 "METHOD 2"), as nibabel's Nifti1Header.get_qform(), with
//! the voxel sizes given (pixdim[1..3], see parse_header for the 2-D case).
Mat4 qform_affine_ras(const RawHeader& raw, const Vec3& voxel_size_mm);
//! Largest distance (mm) between where two affines put the 8 outer corners of a grid.
double corner_distance_mm(const Index3& dims, const Mat4& a, const Mat4& b);

//! Ask for transparent huge pages over [data, data + bytes) (Linux madvise; a no-op elsewhere). Fresh
//! memory is faulted in page by page, and on a virtual machine each 4 KiB fault is expensive: filling a
//! new 300 MB float vector took 1.0–1.6 s here with 4 KiB pages and 0.05–0.3 s with huge pages.
void advise_huge_pages(const void* data, size_t bytes);

//! v.resize(n) for vectors of hundreds of MB: new storage is advised for huge pages before it is touched.
template <class T> void resize_large(std::vector<T>& v, size_t n) {
  if (n > v.capacity()) {
    std::vector<T> fresh;
    fresh.reserve(n);
    advise_huge_pages(fresh.data(), n * sizeof(T));
    fresh.insert(fresh.end(), v.begin(), v.end());
    v.swap(fresh);
  }
  v.resize(n);
}

} // namespace nervemap::io::nifti

namespace nervemap::io::gzip {

bool has_magic(std::span<const uint8_t> bytes);

//! Inflate the first `wanted` bytes of a (possibly multi-member) gzip stream read from `in`, streaming
//! with zlib. Returns fewer bytes only if the stream ends cleanly first. Throws InputError naming
//! `file` on corrupt or truncated data.
std::vector<uint8_t> inflate_prefix(std::istream& in, size_t wanted, const std::string& file);

//! How many bytes a (possibly multi-member) gzip stream read from `in` inflates to, counted in 64 KiB
//! chunks (constant memory) up to the chunk that reaches `enough`. A stream that is cut off is no
//! error here: the count is what it holds. Throws InputError naming `file` on corrupt data.
uint64_t inflated_size(std::istream& in, uint64_t enough, const std::string& file);

//! Inflate a whole gzip file held in memory, returning at least its first `needed` bytes (fewer only
//! when the stream ends cleanly before). Allocates `needed` bytes up front only when the gzip trailer
//! (ISIZE) confirms the size; otherwise the buffer grows with the data actually inflated, so a corrupt
//! header cannot make us allocate gigabytes. Throws InputError naming `file` on corrupt/truncated data.
//! `reuse`, if given, lends its storage (moved in) so repeated calls do not allocate afresh.
std::vector<uint8_t> inflate(std::span<const uint8_t> compressed,
                             size_t needed,
                             const std::string& file,
                             std::vector<uint8_t>* reuse = nullptr);

//! Single-member gzip of `data` with libdeflate at `level` (1 fastest .. 12 smallest).
std::vector<uint8_t> compress(std::span<const uint8_t> data, int level);

} // namespace nervemap::io::gzip
