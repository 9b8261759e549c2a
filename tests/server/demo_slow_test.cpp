// `nervemap demo` end to end: the synthetic neck with two tumours through the whole pipeline, the
// printable report written, and the case handed to the viewer's data folder, where a real
// `nervemap serve` lists it and serves its results. Run twice, it replaces its case rather than piling up.
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

  // The tumours were placed 3 mm from the left vagus and 2 mm from the left RLN: both are at risk.
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
  EXPECT_NE(r.out.find("report.pdf"), std::string::npos) << r.out;

  const std::string first = demo_case_id(r.out);
  ASSERT_FALSE(first.empty()) << r.out;
  auto again = run_nervemap({"demo", "--out", out.string(), "--data", data.string(), "--quiet"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
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
