// Internal to the server module (not a public header): the pieces behind server.h — the case table
// (db.cpp), the job workers (jobs.cpp), upload reception and checks (uploads.cpp), the API routes
// (routes.cpp), the viewer's static files (static.cpp), adding a finished case (finished_case.cpp). Only
// this module includes cpp-httplib and SQLite.
#pragma once

#include "server/server.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <httplib.h>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

struct sqlite3;

namespace nervemap::server {

//! An API failure answered as JSON {"error": message} with this HTTP status (400, 401, 404, 413, ...).
class ApiError : public std::runtime_error {
public:
  ApiError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

private:
  int status_;
};

//! "2026-11-24T10:00:00Z" for now (or for `seconds_ago` before now).
std::string iso_utc_now(int64_t seconds_ago = 0);
//! A fresh, unguessable case id (16 hex digits from the kernel's random source).
std::string new_case_id();

// ---------------------------------------------------------------------------------------------
// db.cpp — the case table

struct CaseRow {
  std::string id;
  std::string created;   //!< ISO 8601 UTC
  std::string status;    //!< queued | running | done | failed
  std::string stage;     //!< while running: reading, segmenting, estimating, risk, writing
  double progress = 0;   //!< 0–1
  std::string error;     //!< why it failed
  int attempts = 0;      //!< runs started (a run interrupted by a crash counts)
  nlohmann::json inputs; //!< pipeline::CaseInputs, stored form (paths relative to the case folder)
};

//! The API's view of a case: {"id","created","status","stage","progress"} (+ "error" if failed).
nlohmann::json case_json(const CaseRow& row);

//! Every case's state in SQLite (WAL, synchronous=FULL: a committed row survives power loss).
//! One connection shared by all threads behind a mutex; every call is one short transaction.
class CaseStore {
public:
  explicit CaseStore(const fs::path& db_file);
  ~CaseStore();
  CaseStore(const CaseStore&) = delete;
  CaseStore& operator=(const CaseStore&) = delete;

  void insert(const CaseRow& row);
  std::optional<CaseRow> get(const std::string& id);
  std::vector<CaseRow> list(); //!< oldest first
  std::vector<std::string> ids();
  //! Claim the oldest queued case: it becomes running and its attempts go up by one.
  std::optional<CaseRow> claim_next();
  void set_progress(const std::string& id, const std::string& stage, double progress);
  void set_done(const std::string& id);
  void set_failed(const std::string& id, const std::string& error);
  //! Back to queued (after a cancelled start-up or a graceful stop); `uncount` takes back the attempt.
  void requeue(const std::string& id, bool uncount);
  bool remove(const std::string& id);

  struct Recovery {
    std::vector<std::string> requeued, failed;
  };
  //! At start-up: cases left running by a crash are queued again, or failed (`interrupted`) if this was
  //! already their second attempt.
  Recovery recover_interrupted(int max_attempts);
  //! Finished (done or failed) cases created before the cutoff, for retention.
  std::vector<std::string> finished_before(const std::string& iso_cutoff);

private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

//! A counter bumped whenever any case changes, so event streams wait instead of polling the database.
class ChangeSignal {
public:
  void notify();
  //! Wait until the counter differs from `seen` or the timeout passes; returns the counter.
  uint64_t wait(uint64_t seen, std::chrono::milliseconds timeout);
  uint64_t current();

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t version_ = 0;
};

//! Where a case lives on disk.
struct CaseFolders {
  fs::path data;
  fs::path cases() const { return data / "cases"; }
  fs::path uploads() const { return data / "uploads"; }
  fs::path dir(const std::string& id) const { return cases() / id; }
  fs::path input(const std::string& id) const { return dir(id) / "input"; }
  fs::path out(const std::string& id) const { return dir(id) / "out"; }
};

// ---------------------------------------------------------------------------------------------
// jobs.cpp — the worker pool

//! Runs queued cases through pipeline::run_case on a fixed number of threads. Cancellation is
//! cooperative: the job stops at its next progress report (the pipeline's stage boundaries).
class JobRunner {
public:
  JobRunner(CaseStore& store,
            ChangeSignal& changes,
            CaseFolders folders,
            int workers,
            std::function<void(const std::string&)> log);
  ~JobRunner();
  void start();
  //! A case was queued.
  void wake();
  //! Delete the case's row; a running job is asked to stop and removes the case folder itself (true).
  //! False if it was not running: the caller removes the folder.
  bool cancel(const std::string& id);
  //! Stop taking jobs, re-queue the running ones (not counted as an attempt) and wait up to `grace`
  //! for them to reach a stage boundary. False if jobs are still running then: the caller must end the
  //! process (they die with it), since their threads still use this object.
  bool shutdown(std::chrono::milliseconds grace);

private:
  void work();
  void run_one(const CaseRow& row);

  CaseStore& store_;
  ChangeSignal& changes_;
  CaseFolders folders_;
  int worker_count_;
  std::function<void(const std::string&)> log_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<std::string> running_, cancelled_;
  int busy_ = 0;
};

// ---------------------------------------------------------------------------------------------
// uploads.cpp — receiving and checking a new case

//! Stream the multipart body of POST /api/cases into `staging` (never whole in memory) and check it:
//! the CT must be a complete NIfTI or a zip of one DICOM series, masks complete NIfTIs on the CT's grid
//! (structures: a zip of a TotalSegmentator folder or an --ml file), zips safe and within the limits.
//! Returns the case's inputs (paths under `staging`, which becomes the case folder). Throws ApiError (400,
//! 413).
pipeline::CaseInputs receive_case_upload(const httplib::Request& request,
                                         const httplib::ContentReader& reader,
                                         const fs::path& staging,
                                         const Limits& limits);

//! Flush a file or folder to disk (fsync), so an acknowledged upload survives a power cut.
void sync_path(const fs::path& path);

// ---------------------------------------------------------------------------------------------
// server.cpp — shared state

//! Login sessions for the cookie that EventSource and NiiVue's file requests carry (they cannot send
//! a bearer header). In memory: after a restart the viewer logs in again with the token it kept.
class Sessions {
public:
  std::string create();
  bool valid(const std::string& id);

private:
  static constexpr auto kLifetime = std::chrono::hours(12);
  std::mutex mutex_;
  std::map<std::string, std::chrono::steady_clock::time_point> expiry_;
};

//! What the routes share: options, folders, the case table, the workers.
struct Context {
  explicit Context(ServerOptions options);
  ServerOptions options;
  CaseFolders folders;
  CaseStore store;
  ChangeSignal changes;
  JobRunner runner;
  Sessions sessions;
  std::atomic<bool> stopping{false};

  void log(const std::string& line) const;
  void delete_case_files(const std::string& id);
  //! Create the data folder and its subfolders; returns it. Throws InputError if it cannot be used.
  static fs::path prepare_data_dir(const fs::path& data);
};

// ---------------------------------------------------------------------------------------------
// routes.cpp / static.cpp

void add_api_routes(httplib::Server& http, Context& context);
//! The viewer: "/", "/case/{id}" (index.html) and the files of web_dir (read once at start-up).
void add_static_routes(httplib::Server& http, const fs::path& web_dir);

//! Answer with {"error": message} and the status.
void send_error(httplib::Response& response, int status, const std::string& message);

} // namespace nervemap::server
