// nervemap report: the one owner of report.json (design §6) — built from the pipeline's plain data,
// written, read back — and the printable report (report.pdf, report.html) drawn from it.
#pragma once

#include "anatomy/anatomy.h"
#include "core/core.h"
#include "nerves/nerves.h"
#include "risk/risk.h"

#include <array>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::report {

namespace fs = std::filesystem;

struct TumourSummary {
  std::string label; //!< GTVp or GTVn
  int value = 0;     //!< 201 or 202 in labels.nii.gz
  double volume_ml = 0;
  int components = 0; //!< 26-connected components
};

//! Volume and connected components of each tumour label present.
std::vector<TumourSummary> summarise_tumours(const anatomy::StructureMap& tumour);

// ------------------------------------------------------------------------------------------------
// report.json (design §6), typed. `Report` holds exactly what the file holds, with the file's rounding:
// build_report makes it from the pipeline's data, to_json writes it, read_report reads it back, and
// to_json(read_report(to_json(r))) == to_json(r). Every other output (the printable report, the tracts, the
// terminal table) takes a Report, so none of them can say something report.json does not. Adding a field: the
// struct, the two functions in document.cpp / read_report.cpp, and schemas/report.schema.json.

inline constexpr const char* kReportSchema = "nervemap.report/1";

struct SoftwareInfo {
  std::string version, rules_version;
  std::vector<std::string> models; //!< the models that segmented this case (none when imported)
};

struct InputSummary {
  std::string ct; //!< base name only
  Index3 dims{0, 0, 0};
  Vec3 spacing_mm = Vec3::Ones();
};

struct StructureEntry {
  std::string name;
  bool present = false;
  double volume_ml = 0;
};

//! One nerve: its estimated course and how close the tumour comes to it.
struct NerveEntry {
  nerves::NervePath estimate;      //!< not_estimated: `estimated` false, `reason`, empty path
  std::optional<double> length_mm; //!< null when not estimated
  risk::NerveRisk risk;            //!< `assessed` false: no tumour or not estimated (risk fields null)
};

struct Report {
  SoftwareInfo software;
  std::string created; //!< ISO 8601 UTC
  PatientInfo patient; //!< empty with --anonymize or for NIfTI input
  InputSummary input;
  std::vector<StructureEntry> structures;
  std::vector<TumourSummary> tumours;
  std::vector<NerveEntry> nerves;
  std::vector<std::string> warnings;
};

//! What the pipeline knows at the end of a run.
struct ReportInputs {
  std::string ct_name; //!< base name only
  Geometry ct_geometry;
  PatientInfo patient; //!< empty with --anonymize or for NIfTI input
  std::string rules_version;
  std::vector<std::string> models;
  std::vector<anatomy::StructureSummary> structures;
  std::vector<TumourSummary> tumours;
  std::vector<nerves::NervePath> nerves;
  std::vector<risk::NerveRisk> risks; //!< one per nerve, same order (risk::assess)
  std::vector<std::string> warnings;
};

//! The report, rounded as report.json writes it (mm to 0.01, probabilities to 1e-4, ...); `created` now.
Report build_report(const ReportInputs& inputs);
//! The report.json document (validates against the schema).
nlohmann::json to_json(const Report& report);
//! A report.json document read back; InputError when it does not follow the schema.
Report read_report(const nlohmann::json& document);
Report read_report(const fs::path& report_json);
//! The key of a distance in `p_within_mm`: "1", "2.5".
std::string p_within_key(double mm);
//! Validate and write report.json atomically.
void write_report(const fs::path& path, const Report& report);

//! The JSON Schema of report.json (schemas/report.schema.json, embedded at build time).
const nlohmann::json& report_schema();
//! Problems found validating a document against the schema (empty when valid).
std::vector<std::string> schema_errors(const nlohmann::json& document);
//! Throws std::logic_error (an internal error: nervemap wrote an invalid report) unless valid.
void validate_report(const nlohmann::json& document);

//! Write JSON atomically (temporary name, then rename).
void write_json(const fs::path& path, const nlohmann::json& document);

// ------------------------------------------------------------------------------------------------
// The printable report: report.pdf (cairo, A4) and report.html (self-contained), the document a surgeon
// and a radiologist take into the planning meeting. Every number printed is read from report.json, so
// the PDF, the HTML, the viewer and report.json cannot disagree; the CT, the label map and the rule
// base are passed in (never re-read from files) for the slice images and the bibliography.

struct PrintInputs {
  const CtVolume* ct = nullptr;            //!< HU; slices are drawn when the CT and labels are given
  const LabelMap* labels = nullptr;        //!< CT grid: catalogue ids (structures), 201 GTVp, 202 GTVn
  const nerves::RuleBase* rules = nullptr; //!< nerve titles and every source (authors, journal, DOI)
  risk::GradeThresholds grades;            //!< config/risk_grades.yaml, to explain the grades on the page
};

//! The laid-out content of report.pdf and report.html: built once (slices rendered once), written twice.
class PrintableReport {
public:
  //! `report`: a complete report (risk fields filled), as report.json holds it.
  PrintableReport(const Report& report, const PrintInputs& inputs);
  ~PrintableReport();
  PrintableReport(PrintableReport&&) noexcept;
  PrintableReport& operator=(PrintableReport&&) noexcept;

  //! Write report.pdf (A4, vector text, slices embedded as images) atomically.
  void write_pdf(const fs::path& path) const;
  //! report.html: one file, images as PNG data URIs, no external assets, print CSS.
  std::string html() const;
  //! Write report.html atomically.
  void write_html(const fs::path& path) const;
  //! Ids of the nerves that get their own section (slice and distance plot), in page order.
  std::vector<std::string> section_nerve_ids() const;

  struct Content; // defined in src/report/internal.h (internal to the module)

private:
  std::unique_ptr<Content> content_;
};

//! The intended-use line printed at the top of both documents.
extern const char* const kIntendedUse;

// ------------------------------------------------------------------------------------------------
// Axial slice rendering (exposed for the tests). An axial slice is a plane of constant LPS z (design §2),
// sampled through the volume geometry, so oblique, RAS-stored and sheared grids all show the same
// anatomy at the same place. Images are shown as radiologists read them.
namespace slice {

//! CT display window in HU.
struct CtWindow {
  const char* name;
  double level_hu, width_hu;
};
inline constexpr CtWindow kSoftTissueWindow{"soft tissue", 40, 400};
inline constexpr CtWindow kBoneWindow{"bone", 400, 1800};
inline constexpr CtWindow kAngioWindow{"CT angiography", 150, 600};
//! A preset by name: "soft_tissue", "bone" or "angio" (InputError otherwise).
CtWindow window_preset(const std::string& name);

//! radiological: viewed from the feet, patient right on the image's left (the default in reports);
//! neurological: viewed from the head, patient right on the image's right.
enum class Convention { radiological, neurological };

//! Where an axial image lies in patient space. Image columns run along ±LPS x (by convention), rows run
//! toward posterior, so anterior is at the top. Image coordinates are continuous: pixel (c, r) covers
//! [c, c+1) × [r, r+1) and its centre is (c + 0.5, r + 0.5).
struct AxialView {
  double z_mm = 0;                         //!< LPS z of the plane
  double centre_x_mm = 0, centre_y_mm = 0; //!< LPS x, y at the image centre
  double mm_per_pixel = 0.25;
  int width_px = 400, height_px = 400;
  Convention convention = Convention::radiological;

  //! Unit LPS direction of increasing column and of increasing row.
  Vec3 column_direction() const;
  Vec3 row_direction() const;
  //! LPS of an image position (on the plane).
  Vec3 image_to_lps(double column, double row) const;
  //! Image position of an LPS point projected along z onto the plane.
  std::array<double, 2> lps_to_image(const Vec3& lps) const;
};

//! The CT and labels sampled on an axial view: hu trilinear, labels nearest; row-major, width × height.
struct AxialSample {
  AxialView view;
  std::vector<float> hu;       //!< NaN outside the volume
  std::vector<uint8_t> labels; //!< 0 outside the volume or without a label map
  uint8_t label_at(int column, int row) const {
    return labels[size_t(row) * size_t(view.width_px) + size_t(column)];
  }
};
AxialSample sample_axial(const CtVolume& ct, const LabelMap* labels, const AxialView& view);

//! An orientation letter (R, L, A, P) and the image position of its centre, near the middle of an edge.
struct OrientationLetter {
  char letter;
  double column, row;
};
//! The four letters, derived from the view's directions (left, right, top, bottom edge in that order).
std::array<OrientationLetter, 4> orientation_letters(const AxialView& view);

//! A scale bar of a round length (1, 2, 5 × 10^n mm) close to a quarter of the image width.
struct ScaleBar {
  double length_mm = 0, length_px = 0;
};
ScaleBar scale_bar(const AxialView& view);

} // namespace slice

} // namespace nervemap::report
