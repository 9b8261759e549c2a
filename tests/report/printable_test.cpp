// report.pdf and report.html from a real pipeline run: the text of the PDF (pdftotext) and of the HTML says
// what report.json says — every nerve, each grade and minimum distance with the same rounding, the rule
// sources, the intended use and the versions — and identifiers appear only when the input carries them.
#include "anatomy/anatomy.h"
#include "io/io.h"
#include "nerves/nerves.h"
#include "phantom/phantom.h"
#include "pipeline/pipeline.h"
#include "report/report.h"
#include "support/test_support.h"

#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>
#include <set>
#include <sstream>

using namespace nervemap;
using namespace nervemap::test;
namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

//! Whitespace runs → one space, so that wrapped lines and table cells compare as running text.
std::string squash(const std::string& s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = true;
      continue;
    }
    if (space && !out.empty())
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string pdf_text(const fs::path& pdf, const char* mode = "-raw") {
  auto r = run({"pdftotext", mode, "-enc", "UTF-8", pdf.string(), "-"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

int pdf_pages(const fs::path& pdf) {
  auto r = run({"pdfinfo", pdf.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::smatch m;
  if (std::regex_search(r.out, m, std::regex("Pages:\\s+(\\d+)")))
    return std::stoi(m[1]);
  return -1;
}

std::string html_unescape(std::string s) {
  for (auto [from, to] :
       {std::pair{"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"}, {"&amp;", "&"}})
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + 1))
      s.replace(p, std::string(from).size(), to);
  return s;
}

// (No std::regex over whole documents below: libstdc++'s recursive matcher overflows the stack on a
// megabyte of HTML with embedded images.)

//! The visible text of an HTML document (style block and tags dropped, entities decoded, whitespace
//! squashed).
std::string html_text(std::string html) {
  if (const size_t a = html.find("<style>"), b = html.find("</style>");
      a != std::string::npos && b != std::string::npos)
    html.erase(a, b - a);
  std::string out;
  bool in_tag = false;
  for (char c : html) {
    if (c == '<')
      in_tag = true;
    else if (c == '>') {
      in_tag = false;
      out += ' ';
    } else if (!in_tag)
      out += c;
  }
  return squash(html_unescape(out));
}

//! Tags balance (void elements aside), in order: a cheap well-formedness check without an HTML parser.
std::vector<std::string> unbalanced_tags(const std::string& html) {
  static const std::set<std::string> void_tags{"br", "img", "meta", "hr", "link", "input", "wbr"};
  std::vector<std::string> stack, problems;
  for (size_t p = html.find('<'); p != std::string::npos; p = html.find('<', p + 1)) {
    const bool closing = p + 1 < html.size() && html[p + 1] == '/';
    size_t q = p + (closing ? 2 : 1);
    std::string name;
    while (q < html.size() && std::isalnum(static_cast<unsigned char>(html[q])))
      name += char(std::tolower(static_cast<unsigned char>(html[q++])));
    if (name.empty() || void_tags.count(name))
      continue; // <!DOCTYPE>, text "<", void elements
    if (html.find('>', q) == std::string::npos)
      problems.push_back("<" + name + " has no closing '>'");
    if (!closing)
      stack.push_back(name);
    else if (stack.empty() || stack.back() != name)
      problems.push_back("</" + name + "> closes <" + (stack.empty() ? "" : stack.back()) + ">");
    else
      stack.pop_back();
  }
  for (const auto& s : stack)
    problems.push_back("<" + s + "> never closed");
  return problems;
}

std::string without_whitespace(const std::string& s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c)))
      out += c;
  return out;
}

//! The nerve's name as its rule file titles it, up to any parenthesis or comma ("Vagus nerve").
//! Viewing aid: with NERVEMAP_REPORT_COPY_DIR set, the reports a test wrote are copied there to look at.
void keep_for_viewing(const fs::path& out, const std::string& prefix) {
  const char* env = std::getenv("NERVEMAP_REPORT_COPY_DIR");
  if (!env || !*env)
    return;
  fs::create_directories(env);
  for (const char* name : {"report.pdf", "report.html", "report.json"})
    fs::copy_file(out / name, fs::path(env) / (prefix + "_" + name), fs::copy_options::overwrite_existing);
}

std::string short_title(const nerves::RuleBase& rules, const std::string& nerve) {
  std::string t = rules.find(nerve)->title;
  return t.substr(0, std::min(t.find(','), t.find(" (")));
}

//! One phantom case (2 mm voxels, a nodal tumour 3 mm from the left vagus) run through the pipeline.
struct PhantomRun {
  TempDir dir;
  nlohmann::json report;
  fs::path out;
  PhantomRun(bool anonymize) {
    phantom::Options o;
    o.seed = 7;
    o.spacing_mm = Vec3(2, 2, 2);
    o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
    const auto p = phantom::make_phantom(o);
    OutputTransaction tx(dir / "case");
    tx.prepare();
    phantom::write_phantom(p, dir / "case", phantom::Layout::dir, tx);
    tx.commit();
    pipeline::RunOptions r;
    r.inputs.ct = dir / "case" / "ct.nii.gz";
    r.inputs.structures = dir / "case" / "structures";
    r.inputs.tumour = dir / "case" / "tumor.nii.gz";
    r.anonymize = anonymize;
    r.out = out = dir / "out";
    report = report::to_json(pipeline::run_case(r).report);
    keep_for_viewing(out, anonymize ? "phantom_anonymized" : "phantom");
  }
};

class PrintableFromPipeline : public ::testing::Test {
protected:
  static void SetUpTestSuite() { run_ = new PhantomRun(false); }
  static void TearDownTestSuite() {
    delete run_;
    run_ = nullptr;
  }
  static PhantomRun* run_;
};
PhantomRun* PrintableFromPipeline::run_ = nullptr;

} // namespace

TEST_F(PrintableFromPipeline, BothFilesAreWrittenBesideReportJson) {
  for (const char* name : {"report.pdf", "report.html", "report.json"})
    EXPECT_TRUE(fs::is_regular_file(run_->out / name)) << name;
  EXPECT_EQ(read_text(run_->out / "report.pdf").substr(0, 5), "%PDF-");
  // No temporary files left behind.
  for (const auto& f : list_files(run_->out))
    EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}

TEST_F(PrintableFromPipeline, PdfTextMatchesReportJson) {
  const auto& r = run_->report;
  const std::string raw = pdf_text(run_->out / "report.pdf");
  const std::string text = squash(raw);
  const auto rules = nerves::load_rule_base(nerves::default_rules_dir());

  EXPECT_NE(text.find(squash(report::kIntendedUse)), std::string::npos);
  EXPECT_NE(text.find("nervemap " + r["software"]["version"].get<std::string>()), std::string::npos);
  EXPECT_NE(text.find(r["software"]["rules_version"].get<std::string>()), std::string::npos);
  EXPECT_NE(text.find(r["created"].get<std::string>()), std::string::npos);
  EXPECT_NE(text.find("ct.nii.gz"), std::string::npos);
  EXPECT_NE(text.find("anonymised / not available"), std::string::npos); // NIfTI input carries no identifiers

  // Summary table (page 1, content order): each nerve's row holds its id, then its grade and distance
  // before the next nerve's id.
  const auto& nerves = r["nerves"];
  ASSERT_EQ(nerves.size(), 14u);
  std::vector<size_t> at;
  for (const auto& n : nerves) {
    const size_t p = text.find(n["id"].get<std::string>() + " ");
    ASSERT_NE(p, std::string::npos) << n["id"];
    if (!at.empty()) {
      EXPECT_GT(p, at.back()) << "rows out of report order at " << n["id"];
    }
    at.push_back(p);
    EXPECT_NE(text.find(short_title(rules, n["nerve"])), std::string::npos) << n["id"];
  }
  int graded = 0;
  for (size_t i = 0; i < nerves.size(); ++i) {
    const auto& n = nerves[i];
    const std::string row = text.substr(at[i], (i + 1 < at.size() ? at[i + 1] : at[i] + 300) - at[i]);
    if (n["status"] == "not_estimated") {
      EXPECT_NE(row.find("not estimated"), std::string::npos) << row;
      // The reason is in the all-nerves table.
      EXPECT_NE(text.find(squash(n["reason"].get<std::string>())), std::string::npos) << n["reason"];
      continue;
    }
    const std::string grade = n["risk"];
    const std::string distance = fmt::format("{:.2f}", n["min_distance_mm"].get<double>());
    EXPECT_NE(row.find(" " + grade + " "), std::string::npos) << n["id"] << ": " << row;
    EXPECT_NE(row.find(" " + distance + " "), std::string::npos) << n["id"] << " " << distance << ": " << row;
    for (const auto& [mm, p] : n["p_within_mm"].items())
      if (p.get<double>() >= 0.005 && p.get<double>() <= 0.995) {
        EXPECT_NE(row.find(fmt::format(" {:.0f} %", 100 * p.get<double>())), std::string::npos)
            << n["id"] << " P<=" << mm << ": " << row;
      }
    ++graded;
  }
  EXPECT_GE(graded, 8);

  // Every source of the rule base, with authors, year and DOI.
  for (const auto& [key, s] : rules.sources) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
    EXPECT_NE(text.find(squash(s.authors)), std::string::npos) << key;
    EXPECT_NE(text.find(fmt::format("({})", s.year)), std::string::npos) << key;
    if (!s.doi.empty()) {
      EXPECT_NE(text.find("doi:" + s.doi), std::string::npos) << key;
    }
  }
  for (const char* tag : {"seen in the cited source", "general anatomical knowledge", "derived or proposed"})
    EXPECT_NE(text.find(tag), std::string::npos) << tag;
  EXPECT_NE(text.find("radiological convention"), std::string::npos);
}

TEST_F(PrintableFromPipeline, OneSectionPerNerveAtRiskAndSanePageCount) {
  const auto& r = run_->report;
  std::vector<std::string> at_risk;
  for (const auto& n : r["nerves"])
    if (n["risk"].is_string() && (n["risk"] == "contact" || n["risk"] == "high" || n["risk"] == "moderate"))
      at_risk.push_back(n["id"]);
  // The tumour was placed 3 mm from the left vagus: at least that nerve is at risk.
  ASSERT_FALSE(at_risk.empty());
  EXPECT_NE(std::find(at_risk.begin(), at_risk.end(), "vagus_left"), at_risk.end());
  const std::string text = squash(pdf_text(run_->out / "report.pdf"));
  for (const auto& id : at_risk)
    EXPECT_NE(text.find(id + " · shown because graded"), std::string::npos) << id;
  const int pages = pdf_pages(run_->out / "report.pdf");
  // Page 1, one page per section, then at least one page of tables and methods; not runaway.
  EXPECT_GE(pages, int(at_risk.size()) + 2);
  EXPECT_LE(pages, int(at_risk.size()) + 6);
  EXPECT_NE(text.find(fmt::format("page {} of {}", pages, pages)), std::string::npos);
  // Each section has its slice (an embedded image) and distance plot.
  auto images = run({"pdfimages", "-list", (run_->out / "report.pdf").string()});
  ASSERT_EQ(images.exit_code, 0) << images.err;
  size_t image_lines = 0;
  std::istringstream lines(images.out);
  for (std::string l; std::getline(lines, l);)
    if (l.find(" image ") != std::string::npos)
      ++image_lines;
  EXPECT_EQ(image_lines, at_risk.size());
  EXPECT_NE(text.find("Distance to the tumour along the nerve"), std::string::npos);
}

TEST_F(PrintableFromPipeline, HtmlSaysTheSameAndIsSelfContained) {
  const auto& r = run_->report;
  const std::string html = read_text(run_->out / "report.html");
  const std::string text = html_text(html);
  const auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  EXPECT_NE(text.find(report::kIntendedUse), std::string::npos);
  EXPECT_NE(text.find("nervemap " + r["software"]["version"].get<std::string>()), std::string::npos);
  EXPECT_NE(text.find(r["software"]["rules_version"].get<std::string>()), std::string::npos);
  EXPECT_NE(text.find("anonymised / not available"), std::string::npos);
  for (const auto& n : r["nerves"]) {
    EXPECT_NE(text.find(n["id"].get<std::string>()), std::string::npos) << n["id"];
    EXPECT_NE(text.find(short_title(rules, n["nerve"])), std::string::npos) << n["id"];
    if (n["status"] != "estimated")
      continue;
    // The summary row: id, grade chip, distance cell.
    const std::string id_cell = n["id"].get<std::string>() + "</span></td><td><span class=\"grade\" style=\"";
    const size_t row = html.find(id_cell);
    ASSERT_NE(row, std::string::npos) << id_cell;
    const std::string rest = html.substr(row + id_cell.size(), 120);
    const std::string expected = fmt::format("\">{}</span></td><td class=\"num\">{:.2f}</td>",
                                             n["risk"].get<std::string>(),
                                             n["min_distance_mm"].get<double>());
    EXPECT_NE(rest.find(expected), std::string::npos) << n["id"] << ": " << rest;
  }
  for (const auto& [key, s] : rules.sources) {
    EXPECT_NE(text.find(key), std::string::npos) << key;
    if (!s.doi.empty()) {
      EXPECT_NE(text.find("doi:" + s.doi), std::string::npos) << key;
    }
  }
  const auto problems = unbalanced_tags(html);
  EXPECT_TRUE(problems.empty()) << problems.front();
  // Self-contained: no external URL, script or stylesheet link; images are PNG data URIs.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  size_t images = 0;
  const std::string png_uri = "src=\"data:image/png;base64,iVBORw0KGgo"; // the PNG signature, base64
  for (size_t p = html.find("src="); p != std::string::npos; p = html.find("src=", p + 1), ++images)
    EXPECT_EQ(html.compare(p, png_uri.size(), png_uri), 0) << html.substr(p, 60);
  EXPECT_GE(images, 2u); // at least one slice and one plot
}

TEST(PrintableIdentifiers, ShownFromDicomAndLeftOutWithAnonymize) {
  // A real DICOM series (pydicom-written fixture with PatientName Fixture^Geometry, PatientID GEOMFX01)
  // run through the pipeline with one structure and a small tumour on its grid.
  const fs::path series = shared_path("fixtures/geometry/dicom/series_a");
  if (!fs::exists(series))
    GTEST_SKIP() << "fixture missing: " << series;
  TempDir dir;
  Warnings w;
  const auto ct = io::read_ct(series, "", w);
  ASSERT_EQ(ct.patient.id, "GEOMFX01");
  MaskVolume trachea(ct.volume.geometry, 0), tumour(ct.volume.geometry, 0);
  const auto& d = ct.volume.geometry.dims;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = d[1] / 2 - 3; j < d[1] / 2 + 3; ++j)
      for (int64_t i = d[0] / 2 - 3; i < d[0] / 2 + 3; ++i) {
        trachea.at(i, j, k) = 1;
        tumour.at(i + 8, j, k) = anatomy::kHecktorGtvp;
      }
  fs::create_directories(dir / "structures");
  io::write_nifti(dir / "structures" / "trachea.nii.gz", trachea);
  io::write_nifti(dir / "tumor.nii.gz", tumour);
  for (bool anonymize : {false, true}) {
    SCOPED_TRACE(anonymize ? "anonymized" : "identified");
    pipeline::RunOptions o;
    o.inputs.ct = series;
    o.inputs.structures = dir / "structures";
    o.inputs.tumour = dir / "tumor.nii.gz";
    o.anonymize = anonymize;
    o.out = dir / (anonymize ? "anon" : "named");
    const auto result = pipeline::run_case(o);
    keep_for_viewing(o.out, anonymize ? "dicom_anonymized" : "dicom");
    const std::string pdf = squash(pdf_text(o.out / "report.pdf"));
    const std::string html = read_text(o.out / "report.html");
    auto meta = run({"pdfinfo", (o.out / "report.pdf").string()});
    // The series UID is longer than its column and wraps: compare without any whitespace.
    const std::string pdf_joined = without_whitespace(pdf);
    for (const std::string& identifier :
         {std::string("GEOMFX01"), std::string("Fixture"), ct.patient.series_uid}) {
      if (anonymize) {
        EXPECT_EQ(pdf_joined.find(identifier), std::string::npos) << identifier;
        EXPECT_EQ(html.find(identifier), std::string::npos) << identifier;
      } else {
        EXPECT_NE(pdf_joined.find(identifier), std::string::npos) << identifier;
        EXPECT_NE(html.find(identifier), std::string::npos) << identifier;
      }
      EXPECT_EQ(meta.out.find(identifier), std::string::npos) << "PDF metadata: " << identifier;
    }
    if (anonymize) {
      EXPECT_NE(pdf.find("anonymised / not available"), std::string::npos);
      EXPECT_EQ(report::to_json(result.report)["patient"], nlohmann::json::object());
    } else {
      EXPECT_NE(pdf.find("Fixture, Geometry"), std::string::npos);     // DICOM PN shown as "Family, Given"
      EXPECT_NE(pdf.find("Study date 2024-01-02"), std::string::npos); // DA shown as a date
      EXPECT_NE(pdf.find("ID GEOMFX01"), std::string::npos);           // footer, on every page
    }
  }
}
