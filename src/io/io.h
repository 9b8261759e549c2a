// nervemap io: reading CTs and label maps the way real scans come, and writing NIfTI.
//
// NIfTI header geometry is read by our own code following nibabel's rule (design §2): the sform when
// sform_code > 0, else the qform (quaternion + qfac), else the base affine (pixdim only); NIfTI world
// is RAS, so LPS = (−x, −y, z). ITK 5.2 chooses differently, so ITK does not read NIfTI here.
// DICOM (GDCM, behind a header check of our own and with compressed pixels decoded in a sandboxed child
// process, because Debian's GDCM aborts on some corrupt files): slices are sorted by position along
// the slice normal, rescaled to HU, and a gantry-tilted series keeps every voxel at its true position
// (sheared k axis) with a warning.
// Every failure is an InputError whose message says what is wrong and what to do.
#pragma once

#include "core/core.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::io {

namespace fs = std::filesystem;

// ----------------------------------------------------------------------------------------------
// NIfTI-1 (.nii, .nii.gz)

//! Header facts of a NIfTI file, for diagnostics and tests.
struct NiftiHeader {
  Geometry geometry;         //!< LPS, from the affine chosen by nibabel's rule
  std::string affine_source; //!< "sform", "qform" or "base"
  //! Other readers could place this file differently (sform and qform disagree, or neither is set).
  bool transforms_ambiguous = false;
  int datatype = 0;                    //!< NIfTI datatype code (2 uint8, 4 int16, 8 int32, 16 float32, ...)
  double scl_slope = 1, scl_inter = 0; //!< as applied (slope 0 or non-finite → 1, 0)
  int sform_code = 0, qform_code = 0;
  int64_t vox_offset = 352;
  std::vector<std::pair<int, std::string>> extensions; //!< (ecode, content with trailing NULs stripped)
};

//! Read only the header (and extensions). Throws InputError for anything that is not a valid NIfTI-1
//! file (wrong magic, truncated, zero-size dimensions, more than 3 spatial dims with extent > 1, ...).
NiftiHeader read_nifti_header(const fs::path& path);

//! Read a scalar image (any datatype) as float with scl_slope/scl_inter applied, e.g. a CT in HU.
//! 4-D files with one volume are accepted; several volumes are an error. Warns when sform and qform
//! are both set and disagree by more than 1e-3 mm.
CtVolume read_nifti_image(const fs::path& path, Warnings& warnings, NiftiHeader* header = nullptr);

//! Read an integer-valued image as labels 0..255 (float files must hold whole numbers). If the file has
//! a TotalSegmentator CaretExtension (ecode 0, XML <Label Key=..>) its table is returned in `table`.
MaskVolume read_nifti_labels(const fs::path& path,
                             Warnings& warnings,
                             LabelTable* table = nullptr,
                             NiftiHeader* header = nullptr);

//! The nonzero voxels (offsets i + nx·(j + ny·k)) of a mask file without building a volume. Inflates
//! into `scratch`, which is handed back for the next call: importing dozens of full-size
//! TotalSegmentator masks then costs no fresh allocation (and no page faults) per file.
std::vector<int64_t> read_nifti_mask_voxels(const fs::path& path,
                                            Warnings& warnings,
                                            std::vector<uint8_t>& scratch,
                                            NiftiHeader* header = nullptr);

enum class NiftiStorage {
  automatic, //!< int16 when every value is a whole number in range, else float32
  int16,
  float32
};

//! Write a scalar volume (.nii or .nii.gz by suffix) with sform and qform (codes 1) in RAS.
//! A sheared (non-orthonormal) direction is kept exactly in the sform; the qform is then not set.
void write_nifti(const fs::path& path,
                 const CtVolume& volume,
                 NiftiStorage storage = NiftiStorage::automatic);
//! Write a uint8 label/mask volume; with a table the labels go into TotalSegmentator's CaretExtension.
void write_nifti(const fs::path& path, const MaskVolume& volume, const LabelTable* table = nullptr);

//! TotalSegmentator's CaretExtension XML for a label table (byte-identical to its
//! nifti_ext_header.py::add_label_map_to_nifti for the same labels, see fixtures/geometry/ts_ml).
std::string caret_label_xml(const LabelTable& table);
//! Parse a CaretExtension XML label table. Throws InputError on malformed XML.
LabelTable parse_caret_label_xml(const std::string& xml);

//! True if the file name ends in .nii or .nii.gz.
bool has_nifti_suffix(const fs::path& path);

// ----------------------------------------------------------------------------------------------
// DICOM CT series (folder or .zip)

struct DicomSeriesInfo {
  std::string series_uid;
  std::string description;
  std::string modality;
  int series_number = 0;
  size_t file_count = 0;
  Index3 dims{0, 0, 0}; //!< columns, rows, slices
};

//! The series found in a folder (recursive) or a .zip of DICOM files, sorted by series number.
//! Given one DICOM file: its own series, counted among the files beside it.
std::vector<DicomSeriesInfo> list_dicom_series(const fs::path& folder_or_zip);

struct CtImage {
  CtVolume volume; //!< HU, LPS geometry
  PatientInfo patient;
  std::string source_format; //!< "nifti", "dicom" or "dicom-zip"
};

//! Read one CT series. With several series and an empty `series_uid` the error lists them and asks for
//! --series. Sorts by position along the normal, applies rescale slope/intercept, handles gantry tilt.
//! Given one DICOM file, reads the series it belongs to from the files beside it (same folder, not
//! recursive); given a DICOMDIR, the folder it indexes.
CtImage read_dicom_ct(const fs::path& folder_or_zip, const std::string& series_uid, Warnings& warnings);

//! Read a CT from a NIfTI file, a DICOM folder or a zip of a DICOM series, decided by content.
CtImage read_ct(const fs::path& path, const std::string& series_uid, Warnings& warnings);

// ----------------------------------------------------------------------------------------------
// Zip archives

struct ZipLimits {
  uint64_t max_total_bytes = 4ull << 30; //!< unpacked (design §9: 4 GiB)
  uint64_t max_entries = 20000;
};

//! An archive refused for its size, not its content: more entries or unpacked bytes than its
//! ZipLimits allow. Callers can tell it apart by type (the web service answers 413, not 400).
class LimitError : public InputError {
public:
  using InputError::InputError;
};

//! True if the file starts with a zip local-file or end-of-central-directory signature.
bool is_zip(const fs::path& path);

//! Extract every file of a zip into `dest` (created). Refuses the whole archive, writing nothing, if any
//! entry is absolute, contains `..`, a drive letter or a backslash path, is a symlink, or if the limits
//! are exceeded (checked from the central directory and again while inflating; then a LimitError).
//! Returns the extracted files (paths under `dest`).
std::vector<fs::path> extract_zip(const fs::path& zip, const fs::path& dest, const ZipLimits& limits = {});

// ----------------------------------------------------------------------------------------------
// What a file is

enum class FileFormat {
  nifti,    //!< NIfTI-1, uncompressed
  nifti_gz, //!< gzip-compressed NIfTI-1 (io reads gzip only as NIfTI)
  zip,      //!< a zip archive (extract_zip)
  dicom,    //!< one DICOM file (PS3.10, or a bare data set)
  unknown
};

struct Probe {
  FileFormat format = FileFormat::unknown;
  std::optional<NiftiHeader> nifti; //!< set for nifti and nifti_gz
  //! NIfTI: vox_offset + voxels × bytes per voxel, what the readers need; 0 for the other formats.
  uint64_t data_bytes_needed = 0;
  //! NIfTI: the file size, or what its gzip stream inflates to (streamed in constant memory, stopping
  //! within 64 KiB past data_bytes_needed); 0 for the other formats.
  uint64_t data_bytes_present = 0;
  //! The header holds a TotalSegmentator CaretExtension with <Label> entries (a --ml label map).
  bool has_label_table = false;

  //! The header and every voxel are there: reading the file will not fail for want of data.
  bool complete() const { return data_bytes_present >= data_bytes_needed; }
};

//! What a file is, by content, without reading its voxels into memory: a zip signature → zip; gzip
//! magic → nifti_gz; a NIfTI-1/2 sizeof_hdr → nifti; a DICOM file → dicom; else a .nii/.nii.gz name →
//! nifti; else unknown. A NIfTI's header and extensions are read, and its data measured. InputError
//! for a missing path, a folder or a file that cannot be opened, a NIfTI whose header cannot be read
//! (cut off, damaged, NIfTI-2, not a scalar 3-D image...) or a damaged gzip stream; a file or stream
//! that merely ends early is no error: complete() is false.
Probe probe(const fs::path& path);

// ----------------------------------------------------------------------------------------------
// Streamlines (MRtrix3 .tck / .tsf) for the nerve paths

//! Write streamlines (LPS mm in memory) as an MRtrix3 .tck file in RAS mm, the convention of MRtrix3
//! and NiiVue (design §2): text header, float32 LE triplets, a NaN triplet after each streamline and an
//! Inf triplet at the end.
void write_tck(const fs::path& path, const std::vector<std::vector<Vec3>>& streamlines_lps);
//! Read a .tck file back (LPS mm). InputError if it is not a valid float32 .tck file.
std::vector<std::vector<Vec3>> read_tck(const fs::path& path);
//! Write per-point values as an MRtrix3 track scalar file (.tsf) matching a .tck's streamlines.
void write_tsf(const fs::path& path, const std::vector<std::vector<float>>& values);
//! Read a .tsf file back.
std::vector<std::vector<float>> read_tsf(const fs::path& path);

} // namespace nervemap::io
