// `nervemap demo` end to end: the synthetic neck with two tumours segmented by the demo model and run through
// the whole pipeline, the printable report written, the segmentation scored against the phantom's truth, and
// the case handed to the viewer's data folder, where a real `nervemap serve` lists it and serves its results.
// Run again with --truth-masks (the phantom's own masks), it replaces its case rather than piling up.
#include "server_harness.h"

#include <regex>

namespace nervemap::test {

namespace {

std::string demo_case_id(const std::string& out) {
  std::smatch m;
  static const std::regex link(R"(http://127\.0\.0\.1:8080/case/([0-9a-f]{16}))");
  return std::regex_search(out, m, link) ? m[1].str() : std::string();
}

} // namespace

TEST(Demo, RunsThePipelineAndHandsTheCaseToTheViewer) {
  TempDir dir;
  const fs::path out = dir / "demo", data = dir / "data";
  auto r = run_nervemap({"demo", "--out", out.string(), "--data", data.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.json", "report.pdf", "report.html", "nerves.tck", "labels.nii.gz"})
    EXPECT_TRUE(fs::is_regular_file(out / "results" / name)) << name;
  EXPECT_TRUE(fs::is_regular_file(out / "case" / "truth.json"));
  EXPECT_NE(r.out.find("report.pdf"), std::string::npos) << r.out;

  // Segmented by the demo model, then scored against the phantom's masks.
  const json segmented = read_json(out / "results" / "report.json");
  EXPECT_NE(segmented.dump().find("demo_phantom_neck"), std::string::npos)
      << "the model is not in the report";
  EXPECT_GE(segmented["tumours"].size(), 1u);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(mean Dice ([0-9.]+) over ([0-9]+) structure)")))
      << r.out;
  EXPECT_GT(std::stod(m[1].str()), 0.75) << r.out;
  EXPECT_GE(std::stoi(m[2].str()), 50) << r.out;
  EXPECT_NE(r.out.find("phantom Dice"), std::string::npos) << r.out;

  const std::string first = demo_case_id(r.out);
  ASSERT_FALSE(first.empty()) << r.out;
  auto again =
      run_nervemap({"demo", "--out", out.string(), "--data", data.string(), "--truth-masks", "--quiet"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("mean Dice"), std::string::npos) << "nothing to score with --truth-masks";

  // With the phantom's own masks: the tumours were placed 3 mm from the left vagus and 2 mm from the left
  // RLN, so both are at risk.
  const json report = read_json(out / "results" / "report.json");
  for (const char* id : {"vagus_left", "recurrent_laryngeal_left"}) {
    const auto nerve = std::find_if(
        report["nerves"].begin(), report["nerves"].end(), [&](const json& n) { return n["id"] == id; });
    ASSERT_NE(nerve, report["nerves"].end()) << id;
    EXPECT_LT((*nerve)["min_distance_mm"].get<double>(), 5.0) << id;
    EXPECT_TRUE((*nerve)["risk"] == "contact" || (*nerve)["risk"] == "high")
        << id << ": " << (*nerve)["risk"];
  }
  EXPECT_EQ(report["tumours"].size(), 2u);

  const std::string second = demo_case_id(again.out);
  ASSERT_FALSE(second.empty()) << again.out;
  EXPECT_NE(first, second);
  EXPECT_FALSE(fs::exists(data / "cases" / first)) << "the first demo case was not replaced";

  ServerProcess server(data);
  auto client = server.client();
  auto list = client.Get("/api/cases");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200);
  const json cases = json::parse(list->body);
  ASSERT_EQ(cases.size(), 1u) << cases.dump();
  EXPECT_EQ(cases[0]["id"], second);
  EXPECT_EQ(cases[0]["status"], "done");
  auto served = client.Get("/api/cases/" + second + "/files/report.json");
  ASSERT_TRUE(served);
  ASSERT_EQ(served->status, 200);
  EXPECT_EQ(json::parse(served->body)["nerves"], report["nerves"]);
  auto page = client.Get("/case/" + second);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
}

TEST(Demo, AnUnusableDataFolderFailsBeforeAnythingIsWritten) {
  TempDir dir;
  std::ofstream(dir / "data") << "not a folder";
  auto r = run_nervemap({"demo", "--out", (dir / "demo").string(), "--data", (dir / "data").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("data"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "demo"));
}

} // namespace nervemap::test
