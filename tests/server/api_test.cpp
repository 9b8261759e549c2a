// The web service's contract (design §9) against the real server on 127.0.0.1: tokens, refusals before
// the body is read, size limits, zip bombs, path traversal, corrupt inputs, ids — each refused with its
// status and a JSON error, and nothing written anywhere (not even inside the data folder) for a refusal.
// No job runs to completion here; see jobs_slow_test.cpp for those.
// server.h (Eigen) before the harness: <resolv.h>, pulled in by cpp-httplib, defines a `_res` macro
// that breaks Eigen's headers when they come after it.
#include "server/server.h"
#include "server/server_harness.h"

using namespace nervemap::test;

namespace {

//! Every file under the data folder except the database itself: a refused upload must leave none.
std::vector<std::string> case_files_in(const fs::path& data) {
  std::vector<std::string> out;
  for (const auto& f : list_files(data))
    if (f.rfind("nervemap.db", 0) != 0)
      out.push_back(f);
  return out;
}

void expect_json_error(const HttpResult& r, int status, const std::string& needle = "") {
  EXPECT_EQ(r.status, status) << r.body;
  const json j = r.json_body();
  ASSERT_TRUE(j.is_object() && j.contains("error")) << r.body;
  if (!needle.empty()) {
    EXPECT_NE(j["error"].get<std::string>().find(needle), std::string::npos) << j.dump();
  }
}

HttpResult get(const ServerProcess& s, const std::string& path, const httplib::Headers& headers = {}) {
  auto c = s.client();
  auto r = c.Get(path.c_str(), headers);
  return r ? HttpResult{r->status, r->body} : HttpResult{};
}

} // namespace

TEST(ServerIds, ValidAndLoopback) {
  using nervemap::server::is_loopback_host;
  using nervemap::server::valid_case_id;
  EXPECT_TRUE(valid_case_id("0123456789abcdef"));
  EXPECT_FALSE(valid_case_id("0123456789ABCDEF"));
  EXPECT_FALSE(valid_case_id("../../etc/passwd"));
  EXPECT_FALSE(valid_case_id("0123456789abcde"));
  EXPECT_FALSE(valid_case_id(""));
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.3.2.1"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("::ffff:127.0.0.1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("example.org"));
}

TEST(ServerApi, RoutesIdsAndViewer) {
  TempDir tmp;
  ServerProcess server(tmp / "data");
  auto list = get(server, "/api/cases");
  EXPECT_EQ(list.status, 200);
  EXPECT_EQ(list.json_body(), json::array());
  expect_json_error(get(server, "/api/cases/0123456789abcdef"), 404);
  expect_json_error(get(server, "/api/cases/not-an-id"), 400);
  expect_json_error(get(server, "/api/cases/..%2F..%2Fetc"), 400);
  expect_json_error(get(server, "/api/cases/0123456789abcdef/files"), 404);
  expect_json_error(get(server, "/api/cases/0123456789abcdef/files/report.json"), 404);
  expect_json_error(get(server, "/api/cases/../../etc/passwd/files/x"), 400);
  expect_json_error(get(server, "/api/nothing-here"), 404);
  {
    auto c = server.client();
    auto del = c.Delete("/api/cases/0123456789abcdef");
    ASSERT_TRUE(del);
    EXPECT_EQ(del->status, 404);
    auto bad = c.Delete("/api/cases/zzz");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400);
  }
  // The viewer is served by the same process, NiiVue included (nothing from a CDN).
  auto index = get(server, "/");
  EXPECT_EQ(index.status, 200);
  EXPECT_NE(index.body.find("<script type=\"module\""), std::string::npos);
  EXPECT_EQ(get(server, "/case/0123456789abcdef").body, index.body);
  auto niivue = server.client().Get("/vendor/niivue/index.js");
  ASSERT_TRUE(niivue);
  EXPECT_EQ(niivue->status, 200);
  EXPECT_EQ(niivue->get_header_value("Content-Type").rfind("text/javascript", 0), 0u);
  EXPECT_GT(niivue->body.size(), 1000000u);
  EXPECT_EQ(niivue->body.find("https://unpkg"), std::string::npos);
  EXPECT_EQ(get(server, "/../../etc/passwd").status, 404);
  EXPECT_EQ(get(server, "/%2e%2e/%2e%2e/etc/passwd").status, 404);
  // No token configured: the API answers loopback clients that name a loopback host only.
  expect_json_error(get(server, "/api/cases", {{"Host", "evil.example:80"}}), 403);
}

TEST(ServerApi, TokenIsRequiredBeforeTheBodyIsRead) {
  TempDir tmp;
  const std::string token = "s3cret-token-for-tests";
  ServerProcess server(tmp / "data", {}, {"NERVEMAP_TOKEN=" + token});
  expect_json_error(get(server, "/api/cases"), 401, "token");
  expect_json_error(get(server, "/api/cases", {{"Authorization", "Bearer wrong"}}), 401, "wrong token");
  EXPECT_EQ(get(server, "/api/cases", {{"Authorization", "Bearer " + token}}).status, 200);
  // The viewer (not the API) stays reachable so it can ask for the token.
  EXPECT_EQ(get(server, "/").status, 200);

  // A 10 GB upload announced with a wrong token is answered at once; its body is never sent.
  const auto [status, seconds] =
      headers_only_request(server.port(),
                           "POST /api/cases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           "Authorization: Bearer wrong\r\nContent-Type: multipart/form-data; "
                           "boundary=x\r\nContent-Length: 10000000000\r\n\r\n");
  EXPECT_EQ(status, 401);
  EXPECT_LT(seconds, 5.0);
  // curl waits for "100 Continue" and gets the refusal instead.
  auto upload = curl_post(server.url("/api/cases"),
                          {{"ct", "@" + (phantom_case() / "ct.nii.gz").string()},
                           {"structures", "@" + phantom_structures_zip().string()}},
                          "wrong");
  expect_json_error(upload, 401);

  // Login: the cookie works where no header can be set (EventSource, NiiVue's fetches).
  auto c = server.client();
  auto bad_login = c.Post("/api/login", json{{"token", "nope"}}.dump(), "application/json");
  ASSERT_TRUE(bad_login);
  EXPECT_EQ(bad_login->status, 401);
  EXPECT_FALSE(bad_login->has_header("Set-Cookie"));
  auto login = c.Post("/api/login", json{{"token", token}}.dump(), "application/json");
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 200);
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  const std::string session = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(get(server, "/api/cases", {{"Cookie", session}}).status, 200);
  expect_json_error(
      get(server, "/api/cases", {{"Cookie", "nervemap_session=0123456789abcdef0123456789abcdef"}}), 401);
  EXPECT_TRUE(case_files_in(tmp / "data").empty()) << ::testing::PrintToString(case_files_in(tmp / "data"));
}

TEST(ServerApi, NonLoopbackHostNeedsAToken) {
  TempDir tmp;
  auto r = run_nervemap({"serve", "--host", "0.0.0.0", "--port", "0", "--data", (tmp / "data").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("error:"), std::string::npos);
  EXPECT_NE(r.err.find("token"), std::string::npos);
  auto empty_token =
      run_nervemap({"serve", "--port", "0", "--token-file", "/dev/null", "--data", (tmp / "d2").string()});
  EXPECT_EQ(empty_token.exit_code, 1) << empty_token.err;
}

TEST(ServerApi, CrossSiteRequestsAreRefused) {
  TempDir tmp;
  ServerProcess server(tmp / "data");
  auto upload = curl_post(server.url("/api/cases"),
                          {{"ct", "@" + (phantom_case() / "ct.nii.gz").string()},
                           {"structures", "@" + phantom_structures_zip().string()}},
                          "",
                          {"-H", "Origin: http://attacker.example"});
  expect_json_error(upload, 403);
  EXPECT_TRUE(case_files_in(tmp / "data").empty());
}

TEST(ServerApi, OversizeUploadsAre413) {
  TempDir tmp;
  ServerProcess server(tmp / "data", {"--max-upload-mb", "1"});
  // Declared too large: refused from the headers.
  const auto [status, seconds] = headers_only_request(server.port(),
                                                      "POST /api/cases HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                                      "Content-Type: multipart/form-data; boundary=x\r\n"
                                                      "Content-Length: 5000000\r\n\r\n");
  EXPECT_EQ(status, 413);
  EXPECT_LT(seconds, 5.0);
  // A real 3 MB file.
  std::string big(3 << 20, 'x');
  std::ofstream(tmp / "big.nii", std::ios::binary).write(big.data(), std::streamsize(big.size()));
  expect_json_error(
      curl_post(server.url("/api/cases"), {{"ct", "@" + (tmp / "big.nii").string()}}), 413, "limit");
  // Chunked (no declared length): counted while streaming.
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + (tmp / "big.nii").string()}},
                              "",
                              {"-H", "Transfer-Encoding: chunked"}),
                    413,
                    "limit");
  EXPECT_TRUE(case_files_in(tmp / "data").empty()) << ::testing::PrintToString(case_files_in(tmp / "data"));
  EXPECT_EQ(get(server, "/api/cases").json_body(), json::array());
}

TEST(ServerApi, ZipBombsAndTraversalAreRefusedWhole) {
  TempDir tmp;
  ServerProcess server(tmp / "data", {"--max-unpacked-mb", "20", "--max-zip-entries", "50"});
  const fs::path ct = phantom_case() / "ct.nii.gz";
  const fs::path a_mask = phantom_case() / "structures" / "trachea.nii.gz";
  auto post_structures = [&](const fs::path& zip) {
    return curl_post(server.url("/api/cases"),
                     {{"ct", "@" + ct.string()}, {"structures", "@" + zip.string()}});
  };
  // 64 MB of zeros: a few hundred KB zipped, over the 20 MB unpacked limit.
  make_zip(tmp / "bomb.zip",
           {{"trachea.nii.gz", a_mask, "", false, false},
            {"zeros.bin", {}, std::string(64 << 20, '\0'), false, false}});
  EXPECT_LT(fs::file_size(tmp / "bomb.zip"), 1u << 20);
  expect_json_error(post_structures(tmp / "bomb.zip"), 413, "limit");
  // Too many entries.
  std::vector<ZipEntry> many;
  for (int i = 0; i < 60; ++i)
    many.push_back({"f" + std::to_string(i) + ".txt", {}, "x", false, false});
  make_zip(tmp / "many.zip", many);
  expect_json_error(post_structures(tmp / "many.zip"), 413, "limit");
  // Entry names that climb out, absolute names, symlinks: the whole archive is refused.
  const fs::path escaped = tmp / "escaped.nii.gz";
  const std::string climb = "../../../../../../../../.." + escaped.string();
  make_zip(tmp / "slip.zip",
           {{"trachea.nii.gz", a_mask, "", false, false}, {climb, a_mask, "", false, false}});
  expect_json_error(post_structures(tmp / "slip.zip"), 400, "..");
  make_zip(tmp / "dotdot.zip", {{"masks/../../evil.nii.gz", a_mask, "", false, false}});
  expect_json_error(post_structures(tmp / "dotdot.zip"), 400, "..");
  make_zip(tmp / "absolute.zip", {{escaped.string(), a_mask, "", false, false}});
  expect_json_error(post_structures(tmp / "absolute.zip"), 400, "absolute");
  make_zip(tmp / "link.zip", {{"trachea.nii.gz", {}, "/etc/passwd", true, false}});
  expect_json_error(post_structures(tmp / "link.zip"), 400, "link");
  // A DICOM zip with a traversal name is refused the same way.
  expect_json_error(
      curl_post(server.url("/api/cases"),
                {{"ct", "@" + (tmp / "slip.zip").string()}, {"structures", "@" + a_mask.string()}}),
      400,
      "..");
  EXPECT_FALSE(fs::exists(escaped));
  EXPECT_FALSE(fs::exists(tmp / "evil.nii.gz"));
  EXPECT_TRUE(case_files_in(tmp / "data").empty()) << ::testing::PrintToString(case_files_in(tmp / "data"));
  EXPECT_EQ(get(server, "/api/cases").json_body(), json::array());
}

TEST(ServerApi, ContentIsCheckedBeforeAJobIsQueued) {
  TempDir tmp;
  ServerProcess server(tmp / "data");
  const fs::path ct = phantom_case() / "ct.nii.gz";
  const std::string structures = "@" + phantom_structures_zip().string();
  // Not a CT at all.
  std::ofstream(tmp / "notes.nii.gz") << "this is not an image\n";
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + (tmp / "notes.nii.gz").string()}, {"structures", structures}}),
                    400);
  // A truncated .nii.gz (the export or the copy broke off).
  {
    std::ifstream in(ct, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream(tmp / "cut.nii.gz", std::ios::binary)
        .write(bytes.data(), std::streamsize(bytes.size() / 2));
  }
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + (tmp / "cut.nii.gz").string()}, {"structures", structures}}),
                    400);
  // A zip that holds no DICOM.
  make_zip(tmp / "nodicom.zip", {{"readme.txt", {}, "hello", false, false}});
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + (tmp / "nodicom.zip").string()}, {"structures", structures}}),
                    400,
                    "DICOM");
  // No structures and no models configured: refused up front.
  expect_json_error(curl_post(server.url("/api/cases"), {{"ct", "@" + ct.string()}}), 400, "structures");
  // A mask on another grid than the CT.
  auto other = run_nervemap(
      {"phantom", "--out", (tmp / "other").string(), "--seed", "3", "--spacing", "3", "3", "3", "--quiet"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + ct.string()},
                               {"structures", structures},
                               {"tumor", "@" + (tmp / "other" / "ct.nii.gz").string()}}),
                    400,
                    "grid");
  // Unknown form fields and bad options.
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + ct.string()}, {"structures", structures}, {"path", "../x"}}),
                    400,
                    "unknown form field");
  expect_json_error(curl_post(server.url("/api/cases"),
                              {{"ct", "@" + ct.string()}, {"structures", structures}, {"tumor_label", "x"}}),
                    400);
  // Not multipart.
  auto c = server.client();
  auto raw = c.Post("/api/cases", "hello", "text/plain");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->status, 400);
  // The error never shows the server's folders.
  auto r = curl_post(server.url("/api/cases"),
                     {{"ct", "@" + (tmp / "cut.nii.gz").string()}, {"structures", structures}});
  EXPECT_EQ(r.body.find((tmp / "data").string()), std::string::npos) << r.body;
  EXPECT_TRUE(case_files_in(tmp / "data").empty()) << ::testing::PrintToString(case_files_in(tmp / "data"));
  EXPECT_EQ(get(server, "/api/cases").json_body(), json::array());
}
