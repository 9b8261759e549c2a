// Internal to the report module (not a public header): the content of report.pdf / report.html, laid out
// once from the report (report.json's typed form), and the cairo drawing shared by both writers.
#pragma once

#include "report/report.h"

#include <cairo.h>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::report {

// ------------------------------------------------------------------------------------------------
// Content: every string printed is formatted here, once, so the PDF and the HTML say the same thing.

//! Grade colours (documented on the page): dark red, red, orange, blue, grey. Blue rather than green for
//! "low" keeps the scale readable with red–green colour blindness; the grade word is always printed too.
Rgb grade_rgb(const std::string& grade);
//! What a grade means, in one line, with the thresholds.
std::string grade_meaning(const std::string& grade, const risk::GradeThresholds& rules);

struct NerveFacts {
  std::string id, nerve, side;
  std::string name;       //!< "Vagus nerve (cranial nerve X), left"
  bool estimated = false; //!< status == estimated
  bool assessed = false;  //!< risk fields present (a tumour was given)
  std::string reason;     //!< not_estimated: why
  std::string grade;      //!< contact | high | moderate | low | none | "" (not estimated)
  // Printed values ("—" when absent), formatted with report.json's own rounding.
  std::string min_distance, r95_at_closest, closest_tumour, encasement, length, within_5mm, within_10mm,
      inside;
  std::string length_number, within_5mm_short, within_10mm_short; //!< for table columns in mm: "16.4 (12 %)"
  std::vector<std::pair<std::string, std::string>> p_within;      //!< ("1", "5 %"), ascending mm
  std::vector<std::string> variants; //!< "anterior 15.1 %", "lateral to jugular 97.0 % (typical)"
  std::vector<std::string> sources, notes;
  size_t skipped_levels = 0, pieces = 0;
  std::string course; //!< "cranial → caudal" or "caudal → cranial"
  // Geometry for the slice and the plot (LPS mm).
  std::vector<Vec3> path_mm;
  std::vector<double> r95_mm, profile_mm;
  std::vector<std::pair<size_t, size_t>> segments;
  std::optional<Vec3> closest_nerve_mm, closest_tumour_mm;
  double min_distance_mm = 0, r95_at_closest_mm = 0;
  size_t closest_index = 0;
};

//! A nerve crossing a slice plane (other than the section's own nerve), for orientation.
struct CrossingMark {
  std::string label; //!< abbreviation, e.g. "RLN"
  std::string name;  //!< what it stands for, e.g. "Recurrent laryngeal nerve"
  Vec3 point_lps;
  double r95_mm = 0;
};

//! "other estimated nerves in this plane (RLN recurrent laryngeal nerve, …)": the abbreviations explained.
std::string crossings_legend(const std::vector<CrossingMark>& crossings);

struct SliceLegendEntry {
  std::string name;
  Rgb rgb;
  bool tumour = false;
  bool dashed = false; //!< the tumour's outline on another plane (where its closest point lies)
};

struct NerveSection {
  size_t nerve = 0; //!< index into Content::nerves
  std::string why;  //!< "at risk" or why this nerve is shown
  bool has_image = false;
  slice::AxialSample sample;
  std::vector<uint32_t> pixels; //!< composed RGB24 image (CT window, tumour tint, outlines)
  std::vector<SliceLegendEntry> legend;
  std::vector<CrossingMark> crossings;
};

struct SourceEntry {
  std::string key, citation; //!< citation: "Authors (year). Title. Journal. doi:…"
  bool cited = false;        //!< cited by a nerve of this report
};

struct PrintableReport::Content {
  Report report;
  risk::GradeThresholds grades;
  // Header
  std::string title = "nervemap — tumour–nerve proximity report";
  std::vector<std::pair<std::string, std::string>> patient; //!< empty when anonymised / not available
  std::vector<std::pair<std::string, std::string>> study;   //!< input, created, versions
  std::string footer_patient;                               //!< identifiers on every page, or "anonymised"
  std::vector<std::string> tumours;                         //!< "GTVn: 8.2 ml, 1 component"
  std::vector<NerveFacts> nerves;
  std::vector<NerveSection> sections;
  std::string sections_note; //!< why these sections (or why none)
  std::vector<std::string> warnings;
  std::vector<SourceEntry> sources;
  slice::CtWindow window = slice::kSoftTissueWindow;
};

//! Fill the content from the report and render the slices (printable.cpp).
void build_content(PrintableReport::Content& content, const Report& report, const PrintInputs& inputs);

// Shared text (printable.cpp)
std::string format_fixed(double value, int decimals);
std::string format_percent(double p);
using KeyValues = std::vector<std::pair<std::string, std::string>>;
//! The numbers beside a section's image.
KeyValues section_facts(const NerveFacts& nerve);
//! Variants, notes, gaps and sources below a section's plot.
KeyValues section_details(const NerveFacts& nerve);
//! The caption of a section's slice: plane, convention, window, where the closest tumour point lies.
std::string slice_caption(const PrintableReport::Content& content, const NerveFacts& nerve);
//! The status cell of the all-nerves table: estimated (course) or not estimated with the reason; notes;
//! sources.
std::string nerve_status(const NerveFacts& nerve);
//! Explanations printed under the summary table and the all-nerves table.
extern const char* const kSummaryExplanation;
extern const char* const kLengthExplanation;
//! Methods and limits paragraphs, in order.
std::vector<std::string> methods_paragraphs(const PrintableReport::Content& content);
std::vector<std::pair<std::string, std::string>> provenance_tags();

// ------------------------------------------------------------------------------------------------
// Slices (render_slice.cpp)

//! The view for a nerve's section: the plane through its closest point, centred between the nerve and the
//! tumour points, wide enough for both and the neck around them.
slice::AxialView section_view(const NerveFacts& nerve, double mm_per_pixel = 0.25);
//! CT in the window, tumours tinted and outlined, structure outlines in catalogue colours (RGB24).
//! `off_plane_labels` (optional, same view at another z): its tumour outlines are added, dashed.
std::vector<uint32_t> compose_slice(const slice::AxialSample& sample,
                                    const slice::CtWindow& window,
                                    const std::vector<uint8_t>* off_plane_labels = nullptr);
//! Tumours, then the structures visible in the sample nearest to `focus` (image position; the nerve point)
//! first: the vessels and muscles beside the nerve matter more than large distant bones.
std::vector<SliceLegendEntry>
slice_legend(const slice::AxialSample& sample, const std::array<double, 2>& focus, size_t max_entries);
//! Draw the composed slice at (x, y) with the given width (height follows the aspect), then the overlays:
//! the nerve point, its 95 % corridor circle, the closest tumour point, other nerves crossing the plane,
//! orientation letters and the scale bar.
void draw_slice(
    cairo_t* cr, const NerveSection& section, const NerveFacts& nerve, double x, double y, double width);

// ------------------------------------------------------------------------------------------------
// Distance plot (plot.cpp)

//! Distance to the tumour along the nerve, with the 0/1/5/10 mm lines, the 95 % corridor band (high)
//! and the band up to r95 + the moderate margin, and the position of the slice shown.
void draw_distance_plot(cairo_t* cr,
                        const NerveFacts& nerve,
                        const risk::GradeThresholds& rules,
                        double x,
                        double y,
                        double width,
                        double height);

// ------------------------------------------------------------------------------------------------
// cairo helpers (text.cpp)

enum class Font { regular, bold, italic, mono };
void set_font(cairo_t* cr, Font font, double size);
void set_rgb(cairo_t* cr, const Rgb& rgb);
double text_width(cairo_t* cr, const std::string& text);
//! Split text into lines no wider than `width` (breaking at spaces; a word longer than a line is cut).
std::vector<std::string> wrap_text(cairo_t* cr, const std::string& text, double width);
//! Draw text with its baseline at y; align 0 left, 0.5 centre, 1 right of x.
void show_text(cairo_t* cr, const std::string& text, double x, double y, double align = 0);
//! An image surface holding RGB24 pixels (copied), for painting.
cairo_surface_t* rgb24_surface(const std::vector<uint32_t>& pixels, int width, int height);
//! PNG bytes of a surface.
std::string png_bytes(cairo_surface_t* surface);
std::string base64(const std::string& bytes);

} // namespace nervemap::report
