// Whole cases through the real server: upload → job → progress events → results → delete; a server
// killed (kill -9) during a job and restarted; a job interrupted twice; a graceful stop; retention.
// Small phantoms (2 mm voxels) keep each job to seconds.
#include "server/server.h" // before the harness (see api_test.cpp)
#include "server/server_harness.h"

#include <sqlite3.h>

using namespace nervemap::test;

namespace {

std::string upload_phantom(const ServerProcess& server) {
  auto r = curl_post(server.url("/api/cases"),
                     {{"ct", "@" + (phantom_case() / "ct.nii.gz").string()},
                      {"structures", "@" + phantom_structures_zip().string()},
                      {"tumor", "@" + (phantom_case() / "tumor.nii.gz").string()}});
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json_body().value("id", "");
}

//! Poll until the case is running (a job started), up to the limit.
bool wait_until_running(const ServerProcess& server,
                        const std::string& id,
                        std::chrono::seconds limit = 60s) {
  auto c = server.client();
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Get(("/api/cases/" + id).c_str());
    if (r && r->status == 200 && json::parse(r->body)["status"] == "running")
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void set_created(const fs::path& db_file, const std::string& id, const std::string& created) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  const std::string sql = "UPDATE cases SET created = '" + created + "' WHERE id = '" + id + "'";
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

} // namespace

TEST(ServerJobs, UploadRunFetchDelete) {
  TempDir tmp;
  const fs::path data = tmp / "data";
  ServerProcess server(data);
  phantom_case(); // made before the clock starts
  const auto started = std::chrono::steady_clock::now();
  const std::string id = upload_phantom(server);
  ASSERT_TRUE(nervemap::server::valid_case_id(id)) << id;

  // Progress as server-sent events, until the stream ends with the case done.
  std::vector<json> events;
  std::string buffer;
  auto c = server.client();
  auto sse = c.Get(("/api/cases/" + id + "/events").c_str(), [&](const char* data, size_t n) {
    buffer.append(data, n);
    for (size_t end; (end = buffer.find("\n\n")) != std::string::npos;) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) == 0)
        events.push_back(json::parse(event.substr(6)));
    }
    return true;
  });
  ASSERT_TRUE(sse);
  EXPECT_EQ(sse->get_header_value("Content-Type"), "text/event-stream");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "phantom case (2 mm): upload + job " << seconds << " s, " << events.size() << " events\n";
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back()["status"], "done") << events.back().dump() << "\n" << server.log();
  double last = -1;
  bool saw_stage = false;
  for (const auto& e : events) {
    EXPECT_GE(e["progress"].get<double>(), last);
    last = e["progress"];
    if (e["status"] == "running") {
      saw_stage = saw_stage || e["stage"].is_string();
    } else {
      EXPECT_TRUE(e["stage"].is_null()) << e.dump();
    }
  }
  EXPECT_TRUE(saw_stage);

  // The list and the files.
  auto list = json::parse(c.Get("/api/cases")->body);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["status"], "done");
  EXPECT_TRUE(std::regex_match(list[0]["created"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  auto files = json::parse(c.Get(("/api/cases/" + id + "/files").c_str())->body);
  EXPECT_EQ(files[0], "report.json");
  for (const char* name :
       {"ct.nii.gz", "labels.nii.gz", "labels.json", "nerves.tck", "nerves_r95.tsf", "nerves_distance.tsf"})
    EXPECT_NE(std::find(files.begin(), files.end(), name), files.end()) << name << " in " << files.dump();
  for (const auto& name : files) {
    auto r = c.Get(("/api/cases/" + id + "/files/" + name.get<std::string>()).c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << name;
    EXPECT_EQ(r->body, file_bytes(data / "cases" / id / "out" / name.get<std::string>())) << name;
  }
  const json report = json::parse(c.Get(("/api/cases/" + id + "/files/report.json").c_str())->body);
  bool vagus_near = false;
  for (const auto& n : report["nerves"])
    if (n["id"] == "vagus_left" && n["min_distance_mm"].is_number())
      vagus_near = n["min_distance_mm"].get<double>() < 8.0;
  EXPECT_TRUE(vagus_near) << "the tumour was placed 3 mm from the left vagus";
  // Nothing outside the list can be fetched, by any spelling.
  for (const std::string bad : {"../input/ct.nii.gz",
                                "..%2Finput%2Fct.nii.gz",
                                "../../../nervemap.db",
                                "input/ct.nii.gz",
                                "missing.pdf"}) {
    auto r = c.Get(("/api/cases/" + id + "/files/" + bad).c_str());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << bad;
  }

  // Delete: gone from the API and from the disk.
  auto del = c.Delete(("/api/cases/" + id).c_str());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(json::parse(del->body), (json{{"id", id}, {"deleted", true}}));
  EXPECT_EQ(c.Get(("/api/cases/" + id).c_str())->status, 404);
  EXPECT_FALSE(fs::exists(data / "cases" / id));
}

TEST(ServerJobs, KillDuringAJobThenRestart) {
  TempDir tmp;
  const fs::path data = tmp / "data";
  std::string id;
  {
    ServerProcess server(data);
    id = upload_phantom(server);
    ASSERT_TRUE(wait_until_running(server, id));
    EXPECT_EQ(server.stop(SIGKILL), 128 + SIGKILL);
  }
  // The interrupted job is queued again on restart and finishes; no leftover of the killed attempt.
  ServerProcess server(data);
  EXPECT_EQ(wait_for_case(server, id)["status"], "done") << server.log();
  EXPECT_NE(server.log().find("case " + id + ": was running when the server stopped; queued again"),
            std::string::npos)
      << server.log();
  auto files = json::parse(server.client().Get(("/api/cases/" + id + "/files").c_str())->body);
  EXPECT_FALSE(files.empty());
  for (const auto& f : files)
    EXPECT_EQ(f.get<std::string>().find(".tmp-"), std::string::npos)
        << "leftover of the killed attempt: " << f;
  for (const auto& f : list_files(data / "cases" / id / "out"))
    EXPECT_EQ(f.find(".tmp-"), std::string::npos) << f;
}

TEST(ServerJobs, AcknowledgedUploadsSurviveKillAndRetentionDeletesOldCases) {
  TempDir tmp;
  const fs::path data = tmp / "data";
  std::string first, second;
  {
    ServerProcess server(data, {"--workers", "1"});
    first = upload_phantom(server);
    second = upload_phantom(server);                // behind the first in the queue
    EXPECT_EQ(server.stop(SIGKILL), 128 + SIGKILL); // right after the second 201
  }
  ServerProcess server(data, {"--workers", "1"});
  auto list = json::parse(server.client().Get("/api/cases")->body);
  ASSERT_EQ(list.size(), 2u) << list.dump();
  EXPECT_EQ(list[0]["id"], first);
  EXPECT_EQ(list[1]["id"], second);
  EXPECT_EQ(wait_for_case(server, first)["status"], "done") << server.log();
  EXPECT_EQ(wait_for_case(server, second)["status"], "done") << server.log();

  // Retention: a case made to look old is deleted at the next start with --retention-days 2.
  server.stop();
  set_created(data / "nervemap.db", second, "2000-01-01T00:00:00Z");
  ServerProcess later(data, {"--retention-days", "2"});
  std::this_thread::sleep_for(500ms);
  auto after = json::parse(later.client().Get("/api/cases")->body);
  ASSERT_EQ(after.size(), 1u) << after.dump();
  EXPECT_EQ(after[0]["id"], first);
  EXPECT_FALSE(fs::exists(data / "cases" / second));
}

TEST(ServerJobs, InterruptedTwiceFails) {
  TempDir tmp;
  const fs::path data = tmp / "data";
  std::string id;
  {
    ServerProcess server(data);
    id = upload_phantom(server);
    ASSERT_TRUE(wait_until_running(server, id));
    server.stop(SIGKILL);
  }
  {
    ServerProcess server(data);
    ASSERT_TRUE(wait_until_running(server, id));
    server.stop(SIGKILL);
  }
  ServerProcess server(data);
  const json state = json::parse(server.client().Get(("/api/cases/" + id).c_str())->body);
  EXPECT_EQ(state["status"], "failed") << state.dump();
  EXPECT_EQ(state["error"], "interrupted");
  EXPECT_TRUE(state["stage"].is_null());
  EXPECT_EQ(json::parse(server.client().Get(("/api/cases/" + id + "/files").c_str())->body), json::array());
}

TEST(ServerJobs, DeleteCancelsARunningJobAndStopIsGraceful) {
  TempDir tmp;
  const fs::path data = tmp / "data";
  ServerProcess server(data);
  const std::string doomed = upload_phantom(server);
  ASSERT_TRUE(wait_until_running(server, doomed));
  auto del = server.client().Delete(("/api/cases/" + doomed).c_str());
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  EXPECT_EQ(server.client().Get(("/api/cases/" + doomed).c_str())->status, 404);
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (fs::exists(data / "cases" / doomed) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fs::exists(data / "cases" / doomed)) << server.log();

  // SIGTERM during a job: the server exits promptly and the job starts again next time (not counted
  // as an interruption).
  const std::string kept = upload_phantom(server);
  ASSERT_TRUE(wait_until_running(server, kept));
  const auto stopping = std::chrono::steady_clock::now();
  EXPECT_EQ(server.stop(SIGTERM), 0) << server.log();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - stopping).count(), 10.0);
  ServerProcess again(data);
  EXPECT_EQ(wait_for_case(again, kept)["status"], "done") << again.log();
}
