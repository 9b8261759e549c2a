// The case table in SQLite. WAL lets event streams read while a job writes its progress; synchronous
// FULL makes a committed row durable, which is what "an upload answered 201 is never lost" rests on.
#include "core/core.h"
#include "server/internal.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace nervemap::server {

namespace {

//! A prepared statement, finalized on scope exit.
class Statement {
public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(fmt::format("database: cannot prepare '{}': {}", sql, sqlite3_errmsg(db)));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& text) {
    sqlite3_bind_text(stmt_, i, text.c_str(), int(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, double value) {
    sqlite3_bind_double(stmt_, i, value);
    return *this;
  }
  Statement& bind(int i, int value) {
    sqlite3_bind_int(stmt_, i, value);
    return *this;
  }
  Statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  //! Next row: true while there is one. Throws on any error.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
      return true;
    if (rc == SQLITE_DONE)
      return false;
    throw std::runtime_error(fmt::format("database: {}", sqlite3_errmsg(db_)));
  }
  std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  }
  double real(int column) const { return sqlite3_column_double(stmt_, column); }
  int integer(int column) const { return sqlite3_column_int(stmt_, column); }

private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kColumns = "id, created, status, stage, progress, error, attempts, inputs";

CaseRow read_row(const Statement& s) {
  CaseRow row;
  row.id = s.text(0);
  row.created = s.text(1);
  row.status = s.text(2);
  row.stage = s.text(3);
  row.progress = s.real(4);
  row.error = s.text(5);
  row.attempts = s.integer(6);
  row.inputs = nlohmann::json::parse(s.text(7), nullptr, false);
  return row;
}

} // namespace

nlohmann::json case_json(const CaseRow& row) {
  nlohmann::json j{
      {"id", row.id},
      {"created", row.created},
      {"status", row.status},
      {"stage",
       row.status == "running" && !row.stage.empty() ? nlohmann::json(row.stage) : nlohmann::json(nullptr)},
      {"progress", row.progress}};
  if (row.status == "failed")
    j["error"] = row.error;
  return j;
}

CaseStore::CaseStore(const fs::path& db_file) {
  if (sqlite3_open_v2(db_file.c_str(),
                      &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw InputError(fmt::format("cannot open the case database {}: {}", db_file.string(), why));
  }
  sqlite3_busy_timeout(db_, 5000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  // `seq` keeps the queue in upload order even when two cases share a creation second.
  exec("CREATE TABLE IF NOT EXISTS cases ("
       " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
       " id TEXT NOT NULL UNIQUE,"
       " created TEXT NOT NULL,"
       " status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed')),"
       " stage TEXT,"
       " progress REAL NOT NULL DEFAULT 0,"
       " error TEXT,"
       " attempts INTEGER NOT NULL DEFAULT 0,"
       " updated TEXT NOT NULL,"
       " inputs TEXT NOT NULL)");
}

CaseStore::~CaseStore() {
  if (db_)
    sqlite3_close(db_);
}

void CaseStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    throw std::runtime_error(fmt::format("database: '{}' failed: {}", sql, why));
  }
}

void CaseStore::insert(const CaseRow& row) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "INSERT INTO cases (id, created, status, stage, progress, error, attempts, updated, inputs) "
              "VALUES (?1, ?2, ?3, NULL, ?4, NULL, 0, ?5, ?6)");
  s.bind(1, row.id).bind(2, row.created).bind(3, row.status).bind(4, row.progress).bind(5, iso_utc_now());
  s.bind(6, row.inputs.dump());
  s.step();
}

std::optional<CaseRow> CaseStore::get(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, fmt::format("SELECT {} FROM cases WHERE id = ?1", kColumns).c_str());
  s.bind(1, id);
  if (!s.step())
    return std::nullopt;
  return read_row(s);
}

std::vector<CaseRow> CaseStore::list() {
  std::lock_guard lock(mutex_);
  Statement s(db_, fmt::format("SELECT {} FROM cases ORDER BY seq", kColumns).c_str());
  std::vector<CaseRow> rows;
  while (s.step())
    rows.push_back(read_row(s));
  return rows;
}

std::vector<std::string> CaseStore::ids() {
  std::lock_guard lock(mutex_);
  Statement s(db_, "SELECT id FROM cases");
  std::vector<std::string> out;
  while (s.step())
    out.push_back(s.text(0));
  return out;
}

std::optional<CaseRow> CaseStore::claim_next() {
  std::lock_guard lock(mutex_);
  exec("BEGIN IMMEDIATE");
  try {
    Statement s(
        db_,
        fmt::format("SELECT {} FROM cases WHERE status = 'queued' ORDER BY seq LIMIT 1", kColumns).c_str());
    if (!s.step()) {
      exec("COMMIT");
      return std::nullopt;
    }
    CaseRow row = read_row(s);
    Statement u(db_,
                "UPDATE cases SET status = 'running', stage = 'reading', progress = 0, error = NULL, "
                "attempts = attempts + 1, updated = ?2 WHERE id = ?1");
    u.bind(1, row.id).bind(2, iso_utc_now());
    u.step();
    exec("COMMIT");
    row.status = "running";
    row.stage = "reading";
    row.progress = 0;
    row.attempts += 1;
    return row;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void CaseStore::set_progress(const std::string& id, const std::string& stage, double progress) {
  std::lock_guard lock(mutex_);
  Statement s(
      db_, "UPDATE cases SET stage = ?2, progress = ?3, updated = ?4 WHERE id = ?1 AND status = 'running'");
  s.bind(1, id).bind(2, stage).bind(3, progress).bind(4, iso_utc_now());
  s.step();
}

void CaseStore::set_done(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "UPDATE cases SET status = 'done', stage = NULL, progress = 1, error = NULL, updated = ?2 "
              "WHERE id = ?1");
  s.bind(1, id).bind(2, iso_utc_now());
  s.step();
}

void CaseStore::set_failed(const std::string& id, const std::string& error) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "UPDATE cases SET status = 'failed', stage = NULL, error = ?2, updated = ?3 WHERE id = ?1");
  s.bind(1, id).bind(2, error).bind(3, iso_utc_now());
  s.step();
}

void CaseStore::requeue(const std::string& id, bool uncount) {
  std::lock_guard lock(mutex_);
  Statement s(db_,
              "UPDATE cases SET status = 'queued', stage = NULL, progress = 0, error = NULL, "
              "attempts = MAX(0, attempts - ?2), updated = ?3 WHERE id = ?1 AND status = 'running'");
  s.bind(1, id).bind(2, uncount ? 1 : 0).bind(3, iso_utc_now());
  s.step();
}

bool CaseStore::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  Statement s(db_, "DELETE FROM cases WHERE id = ?1");
  s.bind(1, id);
  s.step();
  return sqlite3_changes(db_) > 0;
}

CaseStore::Recovery CaseStore::recover_interrupted(int max_attempts) {
  std::lock_guard lock(mutex_);
  Recovery r;
  exec("BEGIN IMMEDIATE");
  try {
    {
      Statement s(db_, "SELECT id, attempts FROM cases WHERE status = 'running'");
      while (s.step())
        (s.integer(1) >= max_attempts ? r.failed : r.requeued).push_back(s.text(0));
    }
    for (const auto& id : r.failed) {
      Statement u(db_,
                  "UPDATE cases SET status = 'failed', stage = NULL, error = 'interrupted', updated = ?2 "
                  "WHERE id = ?1");
      u.bind(1, id).bind(2, iso_utc_now());
      u.step();
    }
    for (const auto& id : r.requeued) {
      Statement u(
          db_, "UPDATE cases SET status = 'queued', stage = NULL, progress = 0, updated = ?2 WHERE id = ?1");
      u.bind(1, id).bind(2, iso_utc_now());
      u.step();
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return r;
}

std::vector<std::string> CaseStore::finished_before(const std::string& iso_cutoff) {
  std::lock_guard lock(mutex_);
  // ISO 8601 UTC strings of one fixed format sort as the times they name.
  Statement s(db_, "SELECT id FROM cases WHERE status IN ('done','failed') AND created < ?1");
  s.bind(1, iso_cutoff);
  std::vector<std::string> out;
  while (s.step())
    out.push_back(s.text(0));
  return out;
}

} // namespace nervemap::server
