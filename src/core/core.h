// nervemap core: volumes with physical geometry (LPS), label maps, errors, atomic file output.
//
// The one geometry convention (design §2): internal patient coordinates are LPS millimetres
// (+x patient left, +y posterior, +z superior). A voxel index (i, j, k) maps to LPS through
//
//     lps = origin + D · diag(spacing) · (i, j, k)
//
// where the columns of D are unit vectors giving the direction of each voxel axis. D is usually
// orthonormal but need not be: a gantry-tilted DICOM series has a sheared k axis (every voxel stays
// at its true position, as dcm2niix's tilt correction does). Nothing here assumes axis alignment,
// RAS storage or a slice order.
#pragma once

#include <Eigen/Dense>
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace nervemap {

using Vec3 = Eigen::Vector3d;
using Mat3 = Eigen::Matrix3d;
using Mat4 = Eigen::Matrix4d;
using Index3 = std::array<int64_t, 3>;

//! Bad input data (missing, corrupt or inconsistent files): the CLI exits 1 with one `error:` line.
class InputError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

//! Wrong command-line usage: the CLI exits 2.
class UsageError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

//! Non-fatal findings that belong in the report's `warnings` list (and on stderr).
class Warnings {
public:
  void add(std::string message);
  const std::vector<std::string>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  void append(const Warnings& other);

private:
  std::vector<std::string> items_;
};

//! Voxel grid in patient space: dims, origin (LPS mm of voxel 0,0,0), spacing and direction.
struct Geometry {
  Index3 dims{0, 0, 0};
  Vec3 origin = Vec3::Zero();        //!< LPS mm of the centre of voxel (0,0,0)
  Vec3 spacing = Vec3::Ones();       //!< mm between voxel centres along i, j, k (all > 0)
  Mat3 direction = Mat3::Identity(); //!< columns: unit LPS direction of the i, j, k axes

  //! 4×4 affine mapping (i, j, k, 1) to LPS mm.
  Mat4 affine() const;
  //! Geometry from a 4×4 voxel→LPS affine; spacing = column norms.
  static Geometry from_affine(const Index3& dims, const Mat4& affine_lps);

  Vec3 index_to_lps(const Vec3& ijk) const;
  Vec3 lps_to_index(const Vec3& lps) const; //!< continuous index (inverse affine)
  int64_t voxel_count() const { return dims[0] * dims[1] * dims[2]; }
  double voxel_volume_mm3() const; //!< |det(D · diag(spacing))|
  bool is_orthonormal(double tol = 1e-4) const;

  //! Same grid within the design §2 tolerances (1e-3 mm origin/spacing, 1e-4 direction).
  bool same_grid(const Geometry& other, double tol_mm = 1e-3, double tol_dir = 1e-4) const;
  //! One line for messages: dims, spacing, origin.
  std::string describe() const;
  //! Throws InputError unless dims > 0, spacing > 0 and finite, direction invertible.
  void validate(const std::string& what) const;
};

//! A scalar volume on a Geometry; voxel (i, j, k) lives at data[i + nx·(j + ny·k)].
template <class T> struct Volume {
  Geometry geometry;
  std::vector<T> data;

  Volume() = default;
  explicit Volume(const Geometry& g, T fill = T{}) : geometry(g), data(size_t(g.voxel_count()), fill) {}

  size_t offset(int64_t i, int64_t j, int64_t k) const {
    return size_t(i + geometry.dims[0] * (j + geometry.dims[1] * k));
  }
  T& at(int64_t i, int64_t j, int64_t k) { return data[offset(i, j, k)]; }
  const T& at(int64_t i, int64_t j, int64_t k) const { return data[offset(i, j, k)]; }
  bool contains(int64_t i, int64_t j, int64_t k) const {
    return i >= 0 && j >= 0 && k >= 0 && i < geometry.dims[0] && j < geometry.dims[1] && k < geometry.dims[2];
  }
};

using CtVolume = Volume<float>;     //!< Hounsfield units
using MaskVolume = Volume<uint8_t>; //!< label ids or 0/1

using Rgb = std::array<uint8_t, 3>;

struct Label {
  int id = 0;
  std::string name;
  Rgb rgb{128, 128, 128};
};

//! id → name (and colour) table of a label map; ids are unique, names are unique.
class LabelTable {
public:
  void add(Label label); //!< throws InputError on a duplicate id or name
  const Label* find(int id) const;
  const Label* find(const std::string& name) const;
  const std::vector<Label>& labels() const { return labels_; } //!< sorted by id
  bool empty() const { return labels_.empty(); }
  size_t size() const { return labels_.size(); }

private:
  std::vector<Label> labels_;
};

//! Many structures held as one uint8 volume (design §2: thirty full masks would not fit) + table.
struct LabelMap {
  MaskVolume voxels;
  LabelTable table;

  //! Voxel count per label value (index = value, 256 entries).
  std::array<int64_t, 256> histogram() const;
};

//! DICOM identifiers carried into the report header (empty for NIfTI or with --anonymize).
struct PatientInfo {
  std::string id, name, study_date, series_uid;
  bool empty() const { return id.empty() && name.empty() && study_date.empty() && series_uid.empty(); }
};

// ----------------------------------------------------------------------------------------------
// LPS ↔ RAS: the one conversion, made at the file edges only. NIfTI world, MRtrix .tck, MZ3 meshes and
// NiiVue are RAS (+x right, +y anterior); nervemap is LPS inside (design §2). The two differ by the sign
// of x and y, a 180° rotation about z, which is its own inverse.

//! diag(−1, −1, 1): LPS → RAS and RAS → LPS.
Mat3 lps_ras_flip();
Vec3 ras_from_lps(const Vec3& lps);
Vec3 lps_from_ras(const Vec3& ras);
//! A voxel → world affine (or any 4×4 world transform on the left) in the other convention.
Mat4 ras_from_lps(const Mat4& affine_lps);
Mat4 lps_from_ras(const Mat4& affine_ras);

//! A k-d tree over points in LPS mm (nanoflann) for exact nearest-point and radius queries: tumour
//! surfaces (risk), segmentation surfaces (eval), a structure's main body (anatomy).
class PointIndex {
public:
  explicit PointIndex(std::vector<Vec3> points);
  ~PointIndex();
  PointIndex(PointIndex&&) noexcept;
  PointIndex& operator=(PointIndex&&) noexcept;

  bool empty() const { return points_.empty(); }
  size_t size() const { return points_.size(); }
  const std::vector<Vec3>& points() const { return points_; }

  struct Nearest {
    size_t index = 0;
    double distance_sq_mm2 = 0;
  };
  //! The point nearest to p (the index must not be empty).
  Nearest nearest(const Vec3& p) const;
  //! Every point closer to p than radius_mm, in the tree's order (deterministic for the same points).
  std::vector<size_t> within(const Vec3& p, double radius_mm) const;

private:
  struct Tree;
  std::vector<Vec3> points_;
  std::unique_ptr<Tree> tree_;
};

//! Write a file under a temporary name in the same folder and rename it when `write` returns
//! (design §7: no partial outputs). `write` receives the temporary path. On an exception the
//! temporary file is removed and the exception propagates.
void write_file_atomically(const std::filesystem::path& target,
                           const std::function<void(const std::filesystem::path& tmp)>& write);

//! Tracks files and folders a command creates so that a failed run removes them (design §7).
class OutputTransaction {
public:
  explicit OutputTransaction(std::filesystem::path out_dir);
  ~OutputTransaction(); //!< rolls back unless commit() was called
  //! Create the output folder (and parents) if missing, remembering what was created.
  void prepare();
  //! Remember a file or folder (inside out_dir) that this run created.
  void created(const std::filesystem::path& path);
  //! Remember an output file this run wrote: removed on rollback, listed by written().
  void wrote(const std::filesystem::path& file);
  //! The output files, in the order they were written.
  const std::vector<std::filesystem::path>& written() const { return written_; }
  void commit() { committed_ = true; }
  const std::filesystem::path& dir() const { return dir_; }

private:
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> created_, written_;
  bool committed_ = false;
};

//! A private scratch folder under the system temp dir (e.g. for an unpacked zip or DICOM pixel data):
//! made by mkdtemp as `nervemap-<purpose>-XXXXXX` with mode 0700, removed with everything in it on every
//! exit path.
class ScratchDir {
public:
  explicit ScratchDir(const std::string& purpose);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

//! v rounded to a decimal step (0.01, 0.0001, ...), as the double nearest that decimal, so that JSON
//! prints 37.55 rather than 37.550000000000004.
double round_decimal(double v, double step);

//! Library version (from CMake).
const char* version();

} // namespace nervemap
